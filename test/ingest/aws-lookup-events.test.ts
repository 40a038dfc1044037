import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureCloud, startFixtureCloud } from '../../fixtures/cloud/index.ts';
import { runAssessment } from '../../ingest/assessment.ts';
import { syncFor } from '../../ingest/registry.ts';
import { silentLogger } from '../../lib/log.ts';
import { mapCloudTrailEvent } from '../../scoring/catalog/index.ts';
import {
  ACCESS_KEY_ID,
  type BuiltWorld,
  buildWorld,
  DEV,
  MGMT,
  ORG_ID,
  PROD,
  SECRET,
  type WrittenRecord,
} from '../fixtures/cloud/world-builder.ts';
import { memoryDb, tempDir } from '../helpers/db.ts';
import { fixtureOrgConfig, prodUserCall } from './fixture-org.ts';

/**
 * Usage from CloudTrail LookupEvents (usageSource 'lookup-events'): the real CloudTrail SDK
 * client against the fixture cloud, which answers LookupEvents from the world's log objects
 * and throttles more than two lookups a second per account and region. Expected totals are
 * computed here from the records the world wrote, not by our aggregation.
 */

const DAYS = 3;
const END = '2026-11-21';
const MIDDLE = '2026-11-20';
const REGION = 'us-east-1';

/** The world's event names mapped to IAM actions, as fixtures/FORMAT.md defines them. */
const ACTION: Record<string, string> = {
  ListBuckets: 's3:ListAllMyBuckets',
  GetRole: 'iam:GetRole',
  CreateFunction20150331: 'lambda:CreateFunction',
  DescribeInstances: 'ec2:DescribeInstances',
  AssumeRole: 'sts:AssumeRole',
};

/**
 * Two PROD management events on the middle day at its first and last second: LookupEvents'
 * EndTime is inclusive, so a day boundary handled loosely would count the midnight one twice
 * or drop the last one.
 */
const edgeRecord = (time: string, id: string) =>
  prodUserCall({ time, id: `edge-${id}`, user: 'bob', path: 'people', region: REGION });
const EDGE_KEY = `AWSLogs/${ORG_ID}/${PROD}/CloudTrail/${REGION}/2026/11/20/${PROD}_CloudTrail_${REGION}_20261120T2355Z_EDGE000000000001.json.gz`;
const EDGE_RECORDS = [
  edgeRecord(`${MIDDLE}T00:00:00Z`, 'midnight'),
  edgeRecord(`${MIDDLE}T23:59:59Z`, 'last-second'),
];

let world: BuiltWorld;
let cloud: FixtureCloud;
const stage = tempDir('ad-stage-');
const sync = syncFor({ mapper: (s, n) => mapCloudTrailEvent(s, n), stageDir: stage.dir });

beforeAll(async () => {
  world = buildWorld({
    days: DAYS,
    endDate: END,
    filesPerDay: 2,
    recordsPerFile: 20,
    extraObjects: { [EDGE_KEY]: gzipSync(JSON.stringify({ Records: EDGE_RECORDS })) },
  });
  cloud = await startFixtureCloud({ dir: world.dir });
  process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = SECRET;
});

afterAll(async () => {
  await cloud.close();
  world.cleanup();
  stage.cleanup();
});

/** The principal a record is filed under (fixtures/FORMAT.md), or undefined for none of ours. */
function principalOf(record: Record<string, unknown>): string | undefined {
  const id = record.userIdentity as {
    type: string;
    arn?: string;
    sessionContext?: { sessionIssuer?: { arn?: string } };
  };
  if (id.type === 'IAMUser') return id.arn;
  if (id.type === 'AssumedRole') return id.sessionContext?.sessionIssuer?.arn;
  return undefined;
}

describe('usage from CloudTrail LookupEvents', () => {
  it('ingests each finished account-region-day once, with the management events the trail holds', async () => {
    const config = fixtureOrgConfig(cloud.url, {
      days: DAYS,
      integration: {
        regions: [REGION],
        trail: undefined,
        usageSource: 'lookup-events',
        concurrency: 4,
      },
    });
    const db = await memoryDb();
    const assess = () =>
      runAssessment({
        db,
        config,
        integrationId: 'fixture-org',
        trigger: 'cli',
        logger: silentLogger,
        sync,
        asOf: END,
      });
    try {
      const result = await assess();
      expect(result.errors).toEqual([]);
      expect(result.status).toBe('succeeded');

      // Management events of the logged region, by day and account, from the world's records.
      const written: WrittenRecord[] = [
        ...world.records,
        ...EDGE_RECORDS.map((record) => ({ key: EDGE_KEY, account: PROD, region: REGION, record })),
      ];
      const management = written.filter(
        (r) => r.region === REGION && r.record.eventCategory === 'Management',
      );
      const days = ['2026-11-19', MIDDLE, END];
      const ledger = await db.all<{
        object_key: string;
        source: string;
        status: string;
        records: number;
      }>('SELECT object_key, source, status, records FROM ingest_object ORDER BY object_key');
      const expectedLedger = [MGMT, PROD, DEV]
        .flatMap((account) =>
          days.map((day) => ({
            object_key: `lookup-events/${account}/${REGION}/${day}`,
            source: 'lookup-events',
            status: 'ok',
            records: management.filter(
              (r) => r.account === account && (r.record.eventTime as string).startsWith(day),
            ).length,
          })),
        )
        .sort((a, b) => a.object_key.localeCompare(b.object_key));
      expect(ledger).toEqual(expectedLedger);

      // Calls per principal, action and day for the IAM users and roles of the world.
      const expected = new Map<string, number>();
      for (const r of management) {
        const principal = principalOf(r.record);
        if (!principal) continue;
        const key = `${principal}|${ACTION[r.record.eventName as string]}|${(r.record.eventTime as string).slice(0, 10)}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
      }
      const rows = await db.all<{
        principal_id: string;
        action: string;
        day: string;
        calls: number;
      }>(
        `SELECT principal_id, action, day::VARCHAR AS day, sum(calls)::INTEGER AS calls
         FROM usage_daily WHERE source = 'lookup-events'
           AND (principal_id LIKE 'arn:aws:iam::%:user/%' OR principal_id LIKE 'arn:aws:iam::%:role/%')
         GROUP BY ALL`,
      );
      const actual = new Map(rows.map((r) => [`${r.principal_id}|${r.action}|${r.day}`, r.calls]));
      expect(expected.size).toBeGreaterThan(20);
      expect(actual).toEqual(expected);
      expect(
        expected.get(`arn:aws:iam::${PROD}:user/people/bob|iam:GetRole|${MIDDLE}`),
      ).toBeGreaterThanOrEqual(2);
      expect(
        await db.scalar<number>("SELECT count(*) FROM usage_daily WHERE source <> 'lookup-events'"),
      ).toBe(0);

      // A second run looks nothing up again and counts nothing twice.
      const before = await db.one('SELECT sum(calls) AS calls, count(*) AS rows FROM usage_daily');
      const lookupsBefore = cloud.requestCounts()['cloudtrail LookupEvents'] ?? 0;
      const again = await assess();
      expect(again.status).toBe('succeeded');
      expect(await db.one('SELECT sum(calls) AS calls, count(*) AS rows FROM usage_daily')).toEqual(
        before,
      );
      expect(cloud.requestCounts()['cloudtrail LookupEvents'] ?? 0).toBe(lookupsBefore);
    } finally {
      db.closeAll();
    }
  });
});
