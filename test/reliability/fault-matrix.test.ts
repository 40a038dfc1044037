import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import type { FaultRule } from '../../fixtures/cloud/faults.ts';
import { type FixtureCloud, startFixtureCloud } from '../../fixtures/cloud/index.ts';
import { fixtureConfig, fixtureEnvironment } from '../../fixtures/config.ts';
import { readManifest } from '../../fixtures/generate/index.ts';
import type { Manifest } from '../../fixtures/generate/types.ts';
import { type AssessmentResult, runAssessment } from '../../ingest/assessment.ts';
import { syncAws } from '../../ingest/aws/sync.ts';
import { syncGcp } from '../../ingest/gcp/sync.ts';
import { silentLogger } from '../../lib/log.ts';
import type { Db } from '../../model/db.ts';
import { mapCloudTrailEvent } from '../../scoring/catalog/index.ts';
import { FAST_RETRY } from '../fixtures/cloud/gcp/harness.ts';
import { type TestWorld, tinyWorld } from '../fixtures/generate/helpers.ts';
import { memoryDb, tempDir } from '../helpers/db.ts';

/**
 * The fault matrix (issue 11): every fault the fixture cloud can inject, on one account or
 * project and on several at once, through the real SDK clients. Each case checks the run's
 * status, that every unaffected account's data equals a clean reference run, that every
 * rejected object is in the ledger with its error, and that a second run after the faults
 * are cleared completes the data without counting anything twice.
 *
 * One tiny world is generated for the file and one reference run is shared by every case.
 */

const AWS = 'fixture-aws';
const GCP = 'fixture-gcp';

let world: TestWorld;
let manifest: Manifest;
let cloud: FixtureCloud;
let config: Config;
const stage = tempDir('ad-faults-stage-');

/** What an account or project holds after a run: compared with the reference run. */
interface AccountData {
  inventory: string;
  principals: number;
  usageRows: number;
  calls: number;
  errors: number;
  denied: number;
  objectsOk: number;
  records: number;
  /** Account-region-days (or project-days) the logs cover. */
  coverage: number;
}
type Snapshot = Map<string, AccountData>;

let reference: { aws: Snapshot; gcp: Snapshot };

// The AWS SDK's default is 8 attempts with exponential backoff; 4 keep persistent faults
// quick while "throttled twice, then fine" still succeeds.
const AWS_ATTEMPTS = 4;
const GCP_NOW = new Date('2026-12-01T00:00:00Z');

async function assess(db: Db, integrationId: string): Promise<AssessmentResult> {
  return runAssessment({
    db,
    config,
    integrationId,
    trigger: 'cli',
    logger: silentLogger,
    asOf: manifest.endDate,
    sync: (run) => {
      const integration = run.integration;
      if (integration.kind === 'aws-organization') {
        return syncAws(run, integration, {
          mapper: (s, n) => mapCloudTrailEvent(s, n),
          stageDir: stage.dir,
          maxAttempts: AWS_ATTEMPTS,
        });
      }
      if (integration.kind === 'gcp-organization') {
        return syncGcp(run, integration, {
          retry: { retries: 3, baseDelayMs: 2, maxDelayMs: 10 },
          ...(FAST_RETRY.bigQueryRetry ? { bigQueryRetry: FAST_RETRY.bigQueryRetry } : {}),
          query: { pollMs: 5 },
          now: () => GCP_NOW,
        });
      }
      throw new Error(`unexpected integration kind ${integration.kind}`);
    },
  });
}

async function snapshot(db: Db, integrationId: string, assessmentId: string): Promise<Snapshot> {
  const rows = await db.all<{
    account_id: string;
    inventory: string;
    principals: number;
    usage_rows: number;
    calls: number;
    errors: number;
    denied: number;
    objects_ok: number;
    records: number;
    coverage: number;
  }>(
    `SELECT a.account_id, a.inventory_status AS inventory,
       (SELECT count(*) FROM principal p WHERE p.assessment_id = a.assessment_id AND p.account_id = a.account_id) AS principals,
       (SELECT count(*) FROM usage_daily u WHERE u.integration_id = $i AND u.account_id = a.account_id) AS usage_rows,
       (SELECT coalesce(sum(calls), 0) FROM usage_daily u WHERE u.integration_id = $i AND u.account_id = a.account_id) AS calls,
       (SELECT coalesce(sum(errors), 0) FROM usage_daily u WHERE u.integration_id = $i AND u.account_id = a.account_id) AS errors,
       (SELECT coalesce(sum(denied), 0) FROM usage_daily u WHERE u.integration_id = $i AND u.account_id = a.account_id) AS denied,
       (SELECT count(*) FROM ingest_object o WHERE o.integration_id = $i AND o.account_id = a.account_id AND o.status = 'ok') AS objects_ok,
       (SELECT coalesce(sum(records), 0) FROM ingest_object o WHERE o.integration_id = $i AND o.account_id = a.account_id AND o.status = 'ok') AS records,
       (SELECT count(*) FROM log_coverage c WHERE c.integration_id = $i AND c.account_id = a.account_id) AS coverage
     FROM account a WHERE a.assessment_id = $a ORDER BY a.account_id`,
    { i: integrationId, a: assessmentId },
  );
  return new Map(
    rows.map((r) => [
      r.account_id,
      {
        inventory: r.inventory,
        principals: Number(r.principals),
        usageRows: Number(r.usage_rows),
        calls: Number(r.calls),
        errors: Number(r.errors),
        denied: Number(r.denied),
        objectsOk: Number(r.objects_ok),
        records: Number(r.records),
        coverage: Number(r.coverage),
      },
    ]),
  );
}

function objectsOf(snap: Snapshot): number {
  return [...snap.values()].reduce((n, a) => n + a.objectsOk, 0);
}

beforeAll(async () => {
  world = await tinyWorld({ knobs: { days: 7 } });
  manifest = readManifest(world.dir);
  cloud = await startFixtureCloud({ dir: world.dir });
  Object.assign(process.env, fixtureEnvironment(manifest));
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
  config = parseConfig(fixtureConfig(manifest, cloud.url, { database: ':memory:' }));
  const db = await memoryDb();
  try {
    const aws = await assess(db, AWS);
    const gcp = await assess(db, GCP);
    expect([aws.status, gcp.status]).toEqual(['succeeded', 'succeeded']);
    reference = {
      aws: await snapshot(db, AWS, aws.assessmentId),
      gcp: await snapshot(db, GCP, gcp.assessmentId),
    };
  } finally {
    db.closeAll();
  }
}, 120_000);

afterAll(async () => {
  await cloud?.close();
  world?.cleanup();
  stage.cleanup();
});

// --- the matrix ------------------------------------------------------------------------------

const MGMT = '100000000001';
const PROD = '100000000002';
const LATE = '100000000003';
const SINK = 'fx-logging-0001';
const GCP_PROD = 'fx-prod-0001';
const GCP_STAGING = 'fx-staging-0001';

interface FaultCase {
  name: string;
  integration: typeof AWS | typeof GCP;
  /** The accounts or projects hit: one, or several at once. */
  targets: string[];
  faults: (target: string) => FaultRule[];
  status: 'succeeded' | 'partial' | 'failed';
  /**
   * What the faults cost the hit accounts in the first run: nothing (retried or slow),
   * their inventory, their usage (some or all objects rejected), or both.
   */
  loses: Array<'inventory' | 'usage'>;
  /** Error text every rejected ledger row of a hit account carries. */
  ledgerError?: RegExp;
  /** Account ids or calls the run's errors must name. */
  errorMentions?: (target: string) => string;
}

/** Every CloudTrail object of one account (organization trail layout). */
const awsKeys = (account: string) => `AWSLogs/*/${account}/CloudTrail/*`;

const CASES: FaultCase[] = [
  {
    name: 'IAM throttled twice, then answering',
    integration: AWS,
    targets: [PROD],
    faults: (a) => [
      {
        kind: 'throttle',
        service: 'iam',
        operation: 'GetAccountAuthorizationDetails',
        account: a,
        count: 2,
      },
    ],
    status: 'succeeded',
    loses: [],
  },
  {
    name: 'S3 throttled (SlowDown) a few times on log objects',
    integration: AWS,
    targets: [PROD],
    faults: (a) => [
      { kind: 'throttle', service: 's3', operation: 'GetObject', account: a, count: 3 },
    ],
    status: 'succeeded',
    loses: [],
  },
  {
    name: 'IAM 500 twice, then answering',
    integration: AWS,
    targets: [PROD],
    faults: (a) => [{ kind: 'http-500', service: 'iam', account: a, count: 2 }],
    status: 'succeeded',
    loses: [],
  },
  {
    name: 'slow answers from IAM, STS and S3',
    integration: AWS,
    targets: [PROD],
    faults: (a) => [
      { kind: 'slow', service: 'iam', account: a, delayMs: 150 },
      { kind: 'slow', service: 'sts', operation: 'AssumeRole', account: a, delayMs: 150 },
      { kind: 'slow', service: 's3', account: a, delayMs: 40 },
    ],
    status: 'succeeded',
    loses: [],
  },
  {
    name: 'AssumeRole denied into the account',
    integration: AWS,
    targets: [PROD],
    faults: (a) => [{ kind: 'access-denied', service: 'sts', operation: 'AssumeRole', account: a }],
    status: 'partial',
    loses: ['inventory', 'usage'],
    errorMentions: (a) => a,
  },
  {
    name: 'IAM answering 500 every time',
    integration: AWS,
    targets: [PROD],
    faults: (a) => [{ kind: 'http-500', service: 'iam', account: a }],
    status: 'partial',
    loses: ['inventory', 'usage'],
    errorMentions: (a) => a,
  },
  {
    name: "the account's log prefixes cannot be listed (AccessDenied)",
    integration: AWS,
    targets: [PROD],
    faults: (a) => [
      { kind: 'access-denied', service: 's3', operation: 'ListObjectsV2', account: a },
    ],
    status: 'partial',
    loses: ['usage'],
    errorMentions: (a) => a,
  },
  {
    name: "the account's log objects are denied (AccessDenied on GetObject)",
    integration: AWS,
    targets: [PROD],
    faults: (a) => [{ kind: 'access-denied', service: 's3', operation: 'GetObject', account: a }],
    status: 'partial',
    loses: ['usage'],
    ledgerError: /^GetObject failed: AccessDenied: /,
  },
  {
    name: "the account's log objects answer 500 every time",
    integration: AWS,
    targets: [PROD],
    faults: (a) => [{ kind: 'http-500', service: 's3', operation: 'GetObject', account: a }],
    status: 'partial',
    loses: ['usage'],
    ledgerError: /^GetObject failed: InternalError: /,
  },
  {
    name: 'truncated gzip objects',
    integration: AWS,
    targets: [PROD],
    faults: (a) => [{ kind: 'truncated-gzip', key: awsKeys(a) }],
    status: 'partial',
    loses: ['usage'],
    ledgerError: /gzip|compress|EOF|truncat|unexpected end/i,
  },
  {
    name: 'objects that are not JSON',
    integration: AWS,
    targets: [PROD],
    faults: (a) => [{ kind: 'not-json', key: awsKeys(a) }],
    status: 'partial',
    loses: ['usage'],
    ledgerError: /JSON|parse|malformed/i,
  },
  {
    name: 'objects of the wrong shape',
    integration: AWS,
    targets: [PROD],
    faults: (a) => [{ kind: 'wrong-shape', key: awsKeys(a) }],
    status: 'partial',
    loses: ['usage'],
    ledgerError: /wrong shape/,
  },
  {
    name: 'Resource Manager throttled twice on getIamPolicy',
    integration: GCP,
    targets: [GCP_PROD],
    faults: (p) => [
      {
        kind: 'throttle',
        service: 'cloudresourcemanager',
        operation: 'projects.getIamPolicy',
        project: p,
        count: 2,
      },
    ],
    status: 'succeeded',
    loses: [],
  },
  {
    name: 'slow Resource Manager and IAM answers',
    integration: GCP,
    targets: [GCP_PROD],
    faults: (p) => [
      { kind: 'slow', service: 'cloudresourcemanager', project: p, delayMs: 100 },
      {
        kind: 'slow',
        service: 'iam',
        operation: 'projects.serviceAccounts.list',
        project: p,
        delayMs: 100,
      },
    ],
    status: 'succeeded',
    loses: [],
  },
  {
    name: 'getIamPolicy denied on the project',
    integration: GCP,
    targets: [GCP_PROD],
    faults: (p) => [
      {
        kind: 'access-denied',
        service: 'cloudresourcemanager',
        operation: 'projects.getIamPolicy',
        project: p,
      },
    ],
    status: 'partial',
    loses: ['inventory'],
    errorMentions: (p) => p,
  },
  {
    name: 'service accounts answering 500 every time',
    integration: GCP,
    targets: [GCP_PROD],
    faults: (p) => [
      { kind: 'http-500', service: 'iam', operation: 'projects.serviceAccounts.list', project: p },
    ],
    status: 'partial',
    loses: ['inventory'],
    errorMentions: (p) => p,
  },
  {
    name: 'BigQuery rate limited twice on the aggregation query',
    integration: GCP,
    targets: [SINK],
    faults: (p) => [
      {
        kind: 'bigquery-error',
        service: 'bigquery',
        project: p,
        reason: 'rateLimitExceeded',
        count: 2,
      },
    ],
    status: 'succeeded',
    loses: [],
  },
  {
    name: 'BigQuery job failing with backendError every time',
    integration: GCP,
    targets: [SINK],
    faults: (p) => [
      {
        kind: 'bigquery-error',
        service: 'bigquery',
        operation: 'jobs.insert',
        project: p,
        reason: 'backendError',
      },
    ],
    status: 'partial',
    loses: ['usage'],
    ledgerError: /backendError|backend error|internal/i,
  },
  {
    name: 'BigQuery refusing the query (invalidQuery)',
    integration: GCP,
    targets: [SINK],
    faults: (p) => [
      {
        kind: 'bigquery-error',
        service: 'bigquery',
        operation: 'jobs.insert',
        project: p,
        reason: 'invalidQuery',
      },
    ],
    status: 'partial',
    loses: ['usage'],
    ledgerError: /invalid/i,
  },
  {
    name: 'BigQuery access denied on the sink project',
    integration: GCP,
    targets: [SINK],
    faults: (p) => [
      { kind: 'access-denied', service: 'bigquery', operation: 'jobs.insert', project: p },
    ],
    status: 'partial',
    loses: ['usage'],
    ledgerError: /denied|permission/i,
  },
];

/** Each case on one target, and (where the fault is per account) on several at once. */
const SEVERAL: Record<string, string[]> = {
  [AWS]: [PROD, LATE],
  [GCP]: [GCP_PROD, GCP_STAGING],
};
const MATRIX = CASES.flatMap((c) => {
  const one = { ...c, label: `${c.name} on ${c.targets[0]}` };
  if (c.targets[0] === SINK) return [one];
  const several = SEVERAL[c.integration] ?? [];
  return [one, { ...c, targets: several, label: `${c.name} on ${several.join(' + ')}` }];
});

describe('fault matrix: every injected fault, on one account and on several', () => {
  it.each(MATRIX)('$label', async (c) => {
    const ref = c.integration === AWS ? reference.aws : reference.gcp;
    const db = await memoryDb();
    try {
      cloud.setFaults(c.targets.flatMap((t) => c.faults(t)));
      const first = await assess(db, c.integration);
      cloud.setFaults([]);
      expect(first.status, JSON.stringify(first.errors)).toBe(c.status);
      if (c.status === 'succeeded') expect(first.errors).toEqual([]);
      for (const t of c.targets) {
        if (c.errorMentions) {
          const mention = c.errorMentions(t);
          expect(
            first.errors.some((e) => e.accountId === mention || e.message.includes(mention)),
            `errors name ${mention}: ${JSON.stringify(first.errors)}`,
          ).toBe(true);
        }
      }
      const after = await snapshot(db, c.integration, first.assessmentId);
      // The hit accounts: only `loses` differs from the reference (a usage loss on the GCP
      // sink loses every project's usage, which all lands through the one query).
      const usageEverywhere = c.integration === GCP && c.loses.includes('usage');
      for (const [account, expected] of ref) {
        const got = after.get(account);
        const hit = c.targets.includes(account) || usageEverywhere;
        if (!hit || c.loses.length === 0) {
          expect(got, `${account} complete`).toEqual(expected);
          continue;
        }
        if (c.loses.includes('inventory')) {
          expect(got?.inventory, `${account} inventory`).toBe('failed');
          expect(got?.principals).toBe(0);
        } else {
          expect(got?.inventory).toBe(expected.inventory);
          expect(got?.principals).toBe(expected.principals);
        }
        if (c.loses.includes('usage') && c.integration === AWS) {
          expect(got?.objectsOk, `${account} objects`).toBe(0);
          expect(got?.calls).toBe(0);
        }
        if (usageEverywhere) expect(got?.calls).toBe(0);
      }
      // GCP inventory loss: the project's own usage still arrives through the sink.
      if (c.integration === GCP && !c.loses.includes('usage')) {
        for (const [account, expected] of ref)
          expect(after.get(account)?.calls, `${account} usage`).toBe(expected.calls);
      }

      // Every rejected object is in the ledger with its error; nothing else is rejected.
      const rejected = await db.all<{ object_key: string; account_id: string; error: string }>(
        `SELECT object_key, account_id, error FROM ingest_object
         WHERE integration_id = $i AND status = 'rejected' ORDER BY object_key`,
        { i: c.integration },
      );
      if (c.ledgerError) {
        expect(rejected.length).toBeGreaterThan(0);
        for (const r of rejected) {
          expect(r.error, r.object_key).toMatch(c.ledgerError);
          if (c.integration === AWS) expect(c.targets).toContain(r.account_id);
        }
        if (c.integration === AWS) {
          // Every object of a hit account is accounted for: rejected, since all were faulted.
          for (const t of c.targets)
            expect(rejected.filter((r) => r.account_id === t).length).toBe(ref.get(t)?.objectsOk);
        } else {
          expect(rejected.length).toBe(objectsOf(ref));
        }
        const counted = await db.one<{ rejected: number }>(
          'SELECT rejected_object_count AS rejected FROM assessment WHERE assessment_id = $a',
          { a: first.assessmentId },
        );
        if (c.integration === AWS) expect(Number(counted?.rejected)).toBe(rejected.length);
      } else {
        expect(rejected).toEqual([]);
      }

      // With the faults gone, the next run completes the data and counts nothing twice.
      const second = await assess(db, c.integration);
      expect(second.status, JSON.stringify(second.errors)).toBe('succeeded');
      expect(await snapshot(db, c.integration, second.assessmentId)).toEqual(ref);
      expect(
        await db.scalar<number>(
          "SELECT count(*) FROM ingest_object WHERE integration_id = $i AND status = 'rejected'",
          { i: c.integration },
        ),
      ).toBe(0);
    } finally {
      cloud.setFaults([]);
      db.closeAll();
    }
  });

  it('fails the run, saying why, when the management account cannot be assumed; the next run is complete', async () => {
    const db = await memoryDb();
    try {
      cloud.setFaults([
        { kind: 'access-denied', service: 'sts', operation: 'AssumeRole', account: MGMT },
      ]);
      const first = await assess(db, AWS);
      cloud.setFaults([]);
      expect(first.status).toBe('failed');
      expect(first.errors.map((e) => e.message).join('\n')).toMatch(
        /^the organization cannot be read through arn:aws:iam::100000000001:role\/AccessDiscoveryReadOnly: AccessDenied: /,
      );
      expect(await db.scalar<number>('SELECT count(*) FROM usage_daily')).toBe(0);
      expect(await db.scalar<number>('SELECT count(*) FROM ingest_object')).toBe(0);
      const second = await assess(db, AWS);
      expect(second.status).toBe('succeeded');
      expect(await snapshot(db, AWS, second.assessmentId)).toEqual(reference.aws);
    } finally {
      cloud.setFaults([]);
      db.closeAll();
    }
  });

  it('keeps the other accounts complete when different faults hit different accounts at once', async () => {
    const db = await memoryDb();
    try {
      cloud.setFaults([
        { kind: 'access-denied', service: 'sts', operation: 'AssumeRole', account: LATE },
        { kind: 'truncated-gzip', key: awsKeys(PROD) },
        { kind: 'throttle', service: 'iam', account: MGMT, count: 2 },
      ]);
      const first = await assess(db, AWS);
      cloud.setFaults([]);
      expect(first.status).toBe('partial');
      const after = await snapshot(db, AWS, first.assessmentId);
      expect(after.get(MGMT)).toEqual(reference.aws.get(MGMT));
      expect(after.get(LATE)?.inventory).toBe('failed');
      expect(after.get(PROD)?.principals).toBe(reference.aws.get(PROD)?.principals);
      expect(after.get(PROD)?.calls).toBe(0);
      const second = await assess(db, AWS);
      expect(second.status).toBe('succeeded');
      expect(await snapshot(db, AWS, second.assessmentId)).toEqual(reference.aws);
    } finally {
      cloud.setFaults([]);
      db.closeAll();
    }
  });

  describe('with usage read through Athena', () => {
    let athenaConfig: Config;
    beforeAll(() => {
      const raw = fixtureConfig(manifest, cloud.url, { database: ':memory:', gcp: false });
      const [aws] = raw.integrations as Array<Record<string, unknown>>;
      raw.integrations = [
        {
          ...aws,
          usageSource: 'athena',
          athena: { database: 'cloudtrail', table: 'org_trail', workgroup: 'primary' },
        },
      ];
      athenaConfig = parseConfig(raw);
    });

    async function usageByAccount(db: Db): Promise<Record<string, number>> {
      const rows = await db.all<{ account_id: string; calls: number }>(
        `SELECT account_id, sum(calls)::BIGINT AS calls FROM usage_daily
         WHERE integration_id = $i GROUP BY account_id ORDER BY account_id`,
        { i: AWS },
      );
      return Object.fromEntries(rows.map((r) => [r.account_id, Number(r.calls)]));
    }
    const referenceUsage = () =>
      Object.fromEntries(
        [...reference.aws].filter(([, a]) => a.calls > 0).map(([id, a]) => [id, a.calls]),
      );

    it.each([
      {
        label: 'Athena throttled twice, then answering',
        faults: [
          { kind: 'throttle', service: 'athena', operation: 'StartQueryExecution', count: 2 },
        ] as FaultRule[],
        status: 'succeeded',
      },
      {
        label: 'Athena denied',
        faults: [
          { kind: 'access-denied', service: 'athena', operation: 'StartQueryExecution' },
        ] as FaultRule[],
        status: 'partial',
      },
      {
        label: 'Athena answering 500 every time',
        faults: [{ kind: 'http-500', service: 'athena' }] as FaultRule[],
        status: 'partial',
      },
    ])('$label: same usage as the S3 path once it answers, counted once', async (c) => {
      const db = await memoryDb();
      const saved = config;
      config = athenaConfig;
      try {
        cloud.setFaults(c.faults);
        const first = await assess(db, AWS);
        cloud.setFaults([]);
        expect(first.status, JSON.stringify(first.errors)).toBe(c.status);
        if (c.status === 'partial') {
          expect(first.errors).toEqual([
            expect.objectContaining({ service: 'athena', call: 'StartQueryExecution' }),
          ]);
          expect(await usageByAccount(db)).toEqual({});
          // The inventory is complete whatever happened to usage.
          const after = await snapshot(db, AWS, first.assessmentId);
          for (const [account, expected] of reference.aws)
            expect(after.get(account)?.principals, account).toBe(expected.principals);
        } else {
          expect(await usageByAccount(db)).toEqual(referenceUsage());
        }
        const second = await assess(db, AWS);
        expect(second.status, JSON.stringify(second.errors)).toBe('succeeded');
        expect(await usageByAccount(db)).toEqual(referenceUsage());
      } finally {
        config = saved;
        cloud.setFaults([]);
        db.closeAll();
      }
    });
  });
});
