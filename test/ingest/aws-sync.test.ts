import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { type FixtureCloud, startFixtureCloud } from '../../fixtures/cloud/index.ts';
import { runAssessment } from '../../ingest/assessment.ts';
import { syncFor } from '../../ingest/registry.ts';
import { silentLogger } from '../../lib/log.ts';
import type { Db } from '../../model/db.ts';
import { mapCloudTrailEvent } from '../../scoring/catalog/index.ts';
import {
  ACCESS_KEY_ID,
  type BuiltWorld,
  buildWorld,
  DEV,
  EXTERNAL_ID,
  MGMT,
  ORG_ID,
  PROD,
  SECRET,
  SUSPENDED,
  TRAIL_BUCKET,
} from '../fixtures/cloud/world-builder.ts';
import { memoryDb, tempDir } from '../helpers/db.ts';
import { fixtureOrgConfig } from './fixture-org.ts';

/**
 * AWS ingestion end to end: the real SDK clients against the fixture cloud, on a small world
 * whose every CloudTrail record is known, so usage totals can be checked independently.
 */

let world: BuiltWorld;
let cloud: FixtureCloud;
let config: Config;
const stage = tempDir('ad-stage-');

const configFor = (url: string, extra: Record<string, unknown> = {}): Config =>
  fixtureOrgConfig(url, { days: 30, integration: { concurrency: 4, ...extra } });

const sync = syncFor({ mapper: (s, n) => mapCloudTrailEvent(s, n), stageDir: stage.dir });

async function assess(db: Db, cfg: Config = config, integrationId = 'fixture-org') {
  return runAssessment({
    db,
    config: cfg,
    integrationId,
    trigger: 'cli',
    logger: silentLogger,
    sync,
    asOf: world.manifest.endDate,
  });
}

/** Successful + failed calls per action, computed from the records the world wrote. */
function expectedCalls(action: string, eventName: string): number {
  void action;
  return world.records.filter((r) => {
    const id = r.record.userIdentity as { type: string };
    return (
      r.record.eventName === eventName &&
      ['IAMUser', 'AssumedRole', 'Root', 'FederatedUser'].includes(id.type)
    );
  }).length;
}

beforeAll(async () => {
  world = buildWorld({ days: 5, filesPerDay: 2, recordsPerFile: 20 });
  cloud = await startFixtureCloud({ dir: world.dir });
  process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = SECRET;
  config = configFor(cloud.url);
});

afterAll(async () => {
  await cloud.close();
  world.cleanup();
  stage.cleanup();
});

beforeEach(() => {
  cloud.setFaults([]);
});

describe('AWS organization ingestion through the fixture cloud', () => {
  it('discovers accounts, loads inventory and aggregates every CloudTrail record exactly once', async () => {
    const db = await memoryDb();
    try {
      const result = await assess(db);
      expect(result.errors).toEqual([]);
      expect(result.status).toBe('succeeded');

      const accounts = await db.all<{ account_id: string; inventory_status: string }>(
        'SELECT account_id, inventory_status FROM account WHERE assessment_id = $a ORDER BY account_id',
        { a: result.assessmentId },
      );
      expect(accounts.find((a) => a.account_id === SUSPENDED)?.inventory_status).toBe('skipped');
      expect(accounts.filter((a) => a.inventory_status === 'ok').map((a) => a.account_id)).toEqual(
        expect.arrayContaining([MGMT, PROD, DEV]),
      );
      const principals = await db.scalar<number>(
        'SELECT count(*) FROM principal WHERE assessment_id = $a',
        {
          a: result.assessmentId,
        },
      );
      expect(principals).toBeGreaterThan(6);
      const scps = await db.scalar<number>(
        "SELECT count(*) FROM policy WHERE assessment_id = $a AND kind = 'scp'",
        { a: result.assessmentId },
      );
      expect(scps).toBeGreaterThan(0);

      // Access keys carry their ids (ListAccessKeys), matched to the report's slots by creation.
      const keys = await db.all<{ credential_id: string; status: string; last_used_at: string }>(
        `SELECT credential_id, status, last_used_at::VARCHAR AS last_used_at FROM credential
         WHERE assessment_id = $a AND principal_id = $p AND kind = 'access-key' ORDER BY 1`,
        { a: result.assessmentId, p: `arn:aws:iam::${PROD}:user/alice` },
      );
      expect(keys).toEqual([
        {
          credential_id: `AKIA${PROD}ALICE1`,
          status: 'Active',
          last_used_at: '2026-11-10 12:00:00+00',
        },
        { credential_id: `AKIA${PROD}ALICE2`, status: 'Inactive', last_used_at: null },
      ]);

      const objects = world.keys.filter((k) => k.includes('/CloudTrail/'));
      const ledger = await db.all<{ status: string; n: number; records: number }>(
        'SELECT status, count(*) AS n, sum(records) AS records FROM ingest_object GROUP BY status',
      );
      expect(ledger).toEqual([{ status: 'ok', n: objects.length, records: world.records.length }]);

      const describe = await db.scalar<number>(
        "SELECT sum(calls) FROM usage_daily WHERE action = 'ec2:DescribeInstances'",
      );
      expect(describe).toBe(expectedCalls('ec2:DescribeInstances', 'DescribeInstances'));
      const listBuckets = await db.scalar<number>(
        "SELECT sum(calls) FROM usage_daily WHERE action = 's3:ListAllMyBuckets'",
      );
      expect(listBuckets).toBe(expectedCalls('s3:ListAllMyBuckets', 'ListBuckets'));
      const createFunction = await db.scalar<number>(
        "SELECT sum(calls) FROM usage_daily WHERE action = 'lambda:CreateFunction'",
      );
      expect(createFunction).toBe(expectedCalls('lambda:CreateFunction', 'CreateFunction20150331'));

      const coverage = await db.scalar<number>('SELECT count(DISTINCT day) FROM log_coverage');
      expect(coverage).toBe(5);
      const trail = await db.one<{ kind: string }>('SELECT kind FROM log_source');
      expect(trail?.kind).toBe('cloudtrail');

      // A second run lists nothing new and counts nothing twice.
      const before = await db.one('SELECT sum(calls) AS calls, count(*) AS rows FROM usage_daily');
      const again = await assess(db);
      expect(again.status).toBe('succeeded');
      expect(await db.one('SELECT sum(calls) AS calls, count(*) AS rows FROM usage_daily')).toEqual(
        before,
      );
    } finally {
      db.closeAll();
    }
  });

  it('records a denied account and a corrupt log object, finishes partial, and keeps every other account complete', async () => {
    const db = await memoryDb();
    try {
      const badKey = world.keys.find((k) => k.includes(`/${PROD}/CloudTrail/us-east-1/`))!;
      cloud.setFaults([
        { kind: 'access-denied', service: 'sts', operation: 'AssumeRole', account: DEV },
        { kind: 'truncated-gzip', key: badKey },
        {
          kind: 'throttle',
          service: 'iam',
          operation: 'GetAccountAuthorizationDetails',
          account: PROD,
          count: 2,
        },
      ]);
      const result = await assess(db);
      expect(result.status).toBe('partial');
      expect(result.errors.map((e) => e.accountId ?? e.call)).toEqual(
        expect.arrayContaining([DEV, badKey]),
      );

      const dev = await db.one<{ inventory_status: string; inventory_error: string }>(
        'SELECT inventory_status, inventory_error FROM account WHERE assessment_id = $a AND account_id = $id',
        { a: result.assessmentId, id: DEV },
      );
      expect(dev?.inventory_status).toBe('failed');
      expect(dev?.inventory_error).toMatch(/AccessDenied/);

      const rejected = await db.one<{ status: string; error: string }>(
        'SELECT status, error FROM ingest_object WHERE object_key = $k',
        { k: badKey },
      );
      expect(rejected?.status).toBe('rejected');
      expect(rejected?.error).toBeTruthy();

      // PROD (throttled, then fine) and MGMT are complete: every other object of theirs is ok.
      const expected = world.keys.filter(
        (k) =>
          k.includes('/CloudTrail/') &&
          (k.includes(`/${PROD}/`) || k.includes(`/${MGMT}/`)) &&
          k !== badKey,
      );
      const ok = await db.scalar<number>("SELECT count(*) FROM ingest_object WHERE status = 'ok'");
      expect(ok).toBe(expected.length);
      const prodPrincipals = await db.scalar<number>(
        'SELECT count(*) FROM principal WHERE assessment_id = $a AND account_id = $id',
        { a: result.assessmentId, id: PROD },
      );
      expect(prodPrincipals).toBeGreaterThan(0);

      // With the faults gone, the next run picks up the rejected object and DEV, once.
      cloud.setFaults([]);
      const recovered = await assess(db);
      expect(recovered.status).toBe('succeeded');
      const all = world.keys.filter((k) => k.includes('/CloudTrail/'));
      expect(
        await db.scalar<number>("SELECT count(*) FROM ingest_object WHERE status = 'ok'"),
      ).toBe(all.length);
      expect(await db.scalar<number>('SELECT sum(records) FROM ingest_object')).toBe(
        world.records.length,
      );
    } finally {
      db.closeAll();
    }
  });

  it('leaves an excluded account out: no inventory, no principals, no log objects', async () => {
    const db = await memoryDb();
    try {
      const result = await assess(db, configFor(cloud.url, { excludeAccountIds: [DEV] }));
      expect(result.errors).toEqual([]);
      expect(result.status).toBe('succeeded');
      const dev = await db.one<{ inventory_status: string; inventory_error: string }>(
        'SELECT inventory_status, inventory_error FROM account WHERE assessment_id = $a AND account_id = $id',
        { a: result.assessmentId, id: DEV },
      );
      expect(dev).toEqual({
        inventory_status: 'excluded',
        inventory_error: 'excluded by config (excludeAccountIds)',
      });
      expect(
        await db.scalar<number>(
          'SELECT count(*) FROM principal WHERE assessment_id = $a AND account_id = $id',
          { a: result.assessmentId, id: DEV },
        ),
      ).toBe(0);
      expect(
        await db.scalar<number>(
          'SELECT count(*) FROM principal WHERE assessment_id = $a AND account_id = $id',
          { a: result.assessmentId, id: PROD },
        ),
      ).toBeGreaterThan(0);
      const keys = (
        await db.all<{ object_key: string }>('SELECT object_key FROM ingest_object')
      ).map((r) => r.object_key);
      expect(keys.filter((k) => k.includes(`/${DEV}/`))).toEqual([]);
      const others = world.keys.filter(
        (k) => k.includes('/CloudTrail/') && !k.includes(`/${DEV}/`),
      );
      expect(keys.sort()).toEqual(others.sort());
      expect(
        await db.scalar<number>('SELECT count(*) FROM usage_daily WHERE account_id = $id', {
          id: DEV,
        }),
      ).toBe(0);
    } finally {
      db.closeAll();
    }
  });

  it('leaves out every account under an excluded OU, naming the OU, the suspended one included', async () => {
    const DEV_OU = 'ou-ab12-22222222';
    const db = await memoryDb();
    try {
      const result = await assess(db, configFor(cloud.url, { excludeOuIds: [DEV_OU] }));
      expect(result.errors).toEqual([]);
      const accounts = await db.all<{
        account_id: string;
        inventory_status: string;
        inventory_error: string | null;
      }>(
        'SELECT account_id, inventory_status, inventory_error FROM account WHERE assessment_id = $a ORDER BY account_id',
        { a: result.assessmentId },
      );
      expect(accounts).toEqual([
        { account_id: MGMT, inventory_status: 'ok', inventory_error: null },
        { account_id: PROD, inventory_status: 'ok', inventory_error: null },
        {
          account_id: DEV,
          inventory_status: 'excluded',
          inventory_error: `excluded by config: under OU ${DEV_OU}`,
        },
        {
          account_id: SUSPENDED,
          inventory_status: 'excluded',
          inventory_error: `excluded by config: under OU ${DEV_OU}`,
        },
      ]);
      expect(
        await db.all(
          'SELECT DISTINCT account_id FROM principal WHERE assessment_id = $a ORDER BY 1',
          {
            a: result.assessmentId,
          },
        ),
      ).toEqual([{ account_id: MGMT }, { account_id: PROD }]);
      expect(
        await db.scalar<number>(
          "SELECT count(*) FROM ingest_object WHERE object_key LIKE '%/' || $id || '/%'",
          { id: DEV },
        ),
      ).toBe(0);
    } finally {
      db.closeAll();
    }
  });

  it('reads one account through its own role: only its principals and its log objects', async () => {
    const db = await memoryDb();
    try {
      const single = parseConfig({
        lookbackDays: 30,
        dormancyDays: 30,
        integrations: [
          {
            id: 'fixture-prod',
            kind: 'aws-account',
            roleArn: `arn:aws:iam::${PROD}:role/AccessDiscoveryReadOnly`,
            externalId: EXTERNAL_ID,
            regions: ['us-east-1', 'eu-west-1'],
            trail: { bucket: TRAIL_BUCKET, prefix: '', organizationId: ORG_ID },
            endpoints: { aws: cloud.url },
          },
        ],
      });
      const result = await assess(db, single, 'fixture-prod');
      expect(result.errors).toEqual([]);
      expect(result.status).toBe('succeeded');
      expect(
        await db.all('SELECT account_id, inventory_status FROM account WHERE assessment_id = $a', {
          a: result.assessmentId,
        }),
      ).toEqual([{ account_id: PROD, inventory_status: 'ok' }]);
      const principalAccounts = await db.all<{ account_id: string; n: number }>(
        'SELECT account_id, count(*)::INTEGER AS n FROM principal WHERE assessment_id = $a GROUP BY account_id',
        { a: result.assessmentId },
      );
      expect(principalAccounts.map((p) => p.account_id)).toEqual([PROD]);
      expect(principalAccounts[0]!.n).toBeGreaterThan(3);
      // No organization: no SCPs, no OU nodes.
      expect(
        await db.scalar<number>(
          "SELECT count(*) FROM policy WHERE assessment_id = $a AND kind = 'scp'",
          {
            a: result.assessmentId,
          },
        ),
      ).toBe(0);

      const keys = (
        await db.all<{ object_key: string }>(
          "SELECT object_key FROM ingest_object WHERE status = 'ok' ORDER BY object_key",
        )
      ).map((r) => r.object_key);
      expect(keys).toEqual(world.keys.filter((k) => k.includes(`/${PROD}/CloudTrail/`)).sort());
      expect(await db.scalar<number>('SELECT sum(records) FROM ingest_object')).toBe(
        world.records.filter((r) => r.account === PROD).length,
      );
      expect(
        await db.all('SELECT DISTINCT account_id FROM usage_daily ORDER BY account_id'),
      ).toEqual([{ account_id: PROD }]);
      const describe = await db.scalar<number>(
        "SELECT sum(calls) FROM usage_daily WHERE action = 'ec2:DescribeInstances'",
      );
      expect(describe).toBe(
        world.records.filter(
          (r) =>
            r.account === PROD &&
            r.record.eventName === 'DescribeInstances' &&
            ['IAMUser', 'AssumedRole', 'Root', 'FederatedUser'].includes(
              (r.record.userIdentity as { type: string }).type,
            ),
        ).length,
      );
      // The organization trail, seen from the member account, is recorded as the log source.
      expect(await db.one('SELECT account_id, kind FROM log_source')).toEqual({
        account_id: PROD,
        kind: 'cloudtrail',
      });
    } finally {
      db.closeAll();
    }
  });

  it('reads usage through Athena pushdown with the same totals as the S3 path', async () => {
    const db = await memoryDb();
    try {
      const athena = configFor(cloud.url, {
        usageSource: 'athena',
        athena: { database: 'cloudtrail', table: 'org_trail', workgroup: 'primary' },
        trail: undefined,
      });
      const result = await assess(db, athena);
      expect(result.errors).toEqual([]);
      const describe = await db.scalar<number>(
        "SELECT sum(calls) FROM usage_daily WHERE action = 'ec2:DescribeInstances' AND source = 'athena'",
      );
      expect(describe).toBe(expectedCalls('ec2:DescribeInstances', 'DescribeInstances'));
      const before = await db.one('SELECT sum(calls) AS calls, count(*) AS rows FROM usage_daily');
      await assess(db, athena);
      expect(await db.one('SELECT sum(calls) AS calls, count(*) AS rows FROM usage_daily')).toEqual(
        before,
      );
    } finally {
      db.closeAll();
    }
  });
});
