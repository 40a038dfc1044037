import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { type FixtureCloud, startFixtureCloud } from '../../fixtures/cloud/index.ts';
import { type AssessmentResult, runAssessment } from '../../ingest/assessment.ts';
import { syncFor } from '../../ingest/registry.ts';
import { silentLogger } from '../../lib/log.ts';
import { Db } from '../../model/db.ts';
import { mapCloudTrailEvent } from '../../scoring/catalog/index.ts';
import {
  ACCESS_KEY_ID,
  type BuiltWorld,
  buildWorld,
  EXTERNAL_ID,
  MGMT,
  ORG_ID,
  PROD,
  SECRET,
  TRAIL_BUCKET,
} from '../fixtures/cloud/world-builder.ts';
import { tempDir } from '../helpers/db.ts';

/**
 * Hostile CloudTrail objects (issue 11.3), served by the fixture cloud's S3 among a normal
 * trail: records with missing fields, a 5 MB record, unknown event sources, odd wrappers,
 * an empty object, strings built to hurt SQL. Each object is either counted or rejected with
 * its error in the ledger; the others are complete; a second run counts nothing twice; the
 * database file opens afterwards with the same totals.
 */

const DAY = '2026-11-21';
const prefix = `AWSLogs/${ORG_ID}/${PROD}/CloudTrail/us-east-1/2026/11/21/`;
const key = (name: string) =>
  `${prefix}${PROD}_CloudTrail_us-east-1_20261121T1200Z_${name}.json.gz`;
const USER = `arn:aws:iam::${PROD}:user/hostile-tester`;
const SQLISH = `arn:aws:iam::${PROD}:user/x'); DROP TABLE usage_daily; --`;

function record(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventVersion: '1.10',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDAHOSTILE000000001',
      arn: USER,
      accountId: PROD,
      userName: 'hostile-tester',
    },
    eventTime: `${DAY}T12:00:00Z`,
    eventSource: 'ec2.amazonaws.com',
    eventName: 'DescribeInstances',
    awsRegion: 'us-east-1',
    sourceIPAddress: '203.0.113.7',
    userAgent: 'aws-cli/2',
    requestParameters: null,
    responseElements: null,
    eventID: `evt-hostile-${Math.random()}`,
    readOnly: true,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: PROD,
    eventCategory: 'Management',
    ...fields,
  };
}

const gz = (value: unknown) => gzipSync(typeof value === 'string' ? value : JSON.stringify(value));

let nested = '"bottom"';
for (let i = 0; i < 2000; i++) nested = `{"n":${nested}}`;

/** The hostile objects, and what must become of each. */
const HOSTILE: Record<string, { body: Buffer; outcome: 'ok' | 'rejected'; records?: number }> = {
  'missing-fields': {
    body: gz({
      Records: [
        {},
        { eventVersion: '1.08' },
        { eventSource: 's3.amazonaws.com', eventName: 'ListBuckets' },
        record({ userIdentity: null }),
        record({ userIdentity: { type: 'IAMUser' } }),
        record({ eventSource: null, eventName: null }),
        record({ eventName: 'RunInstances', readOnly: false }),
      ],
    }),
    outcome: 'ok',
    records: 7,
  },
  'huge-record': {
    body: gz({
      Records: [
        record({
          eventSource: 's3.amazonaws.com',
          eventName: 'PutBucketPolicy',
          requestParameters: { bucketName: 'b', policy: 'x'.repeat(5 * 1024 * 1024) },
        }),
      ],
    }),
    outcome: 'ok',
    records: 1,
  },
  'unknown-source': {
    body: gz({
      Records: [
        record({ eventSource: 'quantum.amazonaws.com', eventName: 'EntangleQubits' }),
        record({ eventSource: 'ec2.amazonaws.com', eventName: 'NoSuchEc2Call' }),
      ],
    }),
    outcome: 'ok',
    records: 2,
  },
  'sql-and-unicode': {
    body: gz({
      Records: [
        record({
          userIdentity: { type: 'IAMUser', arn: SQLISH, accountId: PROD, userName: "x');" },
          userAgent: '\u0000\u202e日本語🙂',
        }),
      ],
    }),
    outcome: 'ok',
    records: 1,
  },
  'deeply-nested': {
    body: gz(
      `{"Records":[${JSON.stringify(record()).replace('"requestParameters":null', `"requestParameters":${nested}`)}]}`,
    ),
    outcome: 'ok',
    records: 1,
  },
  // A record whose time does not parse cannot be placed on a day: it is read (the ledger
  // counts it) but adds no usage; the object's other records count.
  'bad-event-time': {
    body: gz({ Records: [record({ eventTime: 'yesterday at noon' }), record({ eventTime: 42 })] }),
    outcome: 'ok',
    records: 2,
  },
  'records-not-a-list': { body: gz({ Records: { 0: record() } }), outcome: 'rejected' },
  'records-of-scalars': { body: gz({ Records: [1, 'two', null, true] }), outcome: 'rejected' },
  'lowercase-wrapper': { body: gz({ records: [record()] }), outcome: 'rejected' },
  'empty-object': { body: Buffer.alloc(0), outcome: 'rejected' },
  // Empty, but valid gzip: nothing to count, nothing wrong.
  'gzip-of-nothing': { body: gzipSync(Buffer.alloc(0)), outcome: 'ok', records: 0 },
  'no-records': { body: gz({ Records: [] }), outcome: 'ok', records: 0 },
};

let world: BuiltWorld;
let cloud: FixtureCloud;
let config: Config;
const stage = tempDir('ad-hostile-ct-');

beforeAll(async () => {
  world = buildWorld({
    days: 2,
    filesPerDay: 2,
    recordsPerFile: 10,
    extraObjects: Object.fromEntries(Object.entries(HOSTILE).map(([n, h]) => [key(n), h.body])),
  });
  cloud = await startFixtureCloud({ dir: world.dir });
  process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = SECRET;
  config = parseConfig({
    lookbackDays: 2,
    dormancyDays: 2,
    integrations: [
      {
        id: 'fixture-org',
        kind: 'aws-organization',
        managementRoleArn: `arn:aws:iam::${MGMT}:role/AccessDiscoveryReadOnly`,
        memberRoleName: 'AccessDiscoveryReadOnly',
        externalId: EXTERNAL_ID,
        regions: ['us-east-1', 'eu-west-1'],
        trail: { bucket: TRAIL_BUCKET, prefix: '', organizationId: ORG_ID },
        endpoints: { aws: cloud.url },
      },
    ],
  });
});

afterAll(async () => {
  await cloud?.close();
  world?.cleanup();
  stage.cleanup();
});

async function assess(db: Db): Promise<AssessmentResult> {
  return runAssessment({
    db,
    config,
    integrationId: 'fixture-org',
    trigger: 'cli',
    logger: silentLogger,
    sync: syncFor({ mapper: (s, n) => mapCloudTrailEvent(s, n), stageDir: stage.dir }),
    asOf: world.manifest.endDate,
  });
}

const TOTALS =
  'SELECT count(*) AS rows, sum(calls) AS calls, sum(errors) AS errors FROM usage_daily';

describe('hostile CloudTrail objects in the trail bucket', () => {
  it('counts or rejects each one with its error, keeps the rest complete, and never counts twice', async () => {
    const file = `${stage.dir}/hostile.duckdb`;
    const db = await Db.open(file);
    let totals: unknown;
    try {
      const first = await assess(db);
      expect(first.status).toBe('partial');
      const ledger = new Map(
        (
          await db.all<{
            object_key: string;
            status: string;
            error: string | null;
            records: number | null;
          }>('SELECT object_key, status, error, records FROM ingest_object')
        ).map((r) => [r.object_key, r]),
      );
      // Every normal object is counted, with every record the world wrote.
      const normal = world.keys.filter(
        (k) => k.includes('/CloudTrail/') && !k.includes('_CloudTrail_us-east-1_20261121T1200Z_'),
      );
      for (const k of normal) expect(ledger.get(k)?.status, k).toBe('ok');
      const normalRecords = world.records.length;
      expect(normal.reduce((n, k) => n + Number(ledger.get(k)?.records ?? 0), 0)).toBe(
        normalRecords,
      );

      for (const [name, h] of Object.entries(HOSTILE)) {
        const row = ledger.get(key(name));
        expect(row?.status, name).toBe(h.outcome);
        if (h.outcome === 'rejected') {
          expect(row?.error, name).toBeTruthy();
          expect(row?.error, name).not.toContain(stage.dir);
          expect(
            first.errors.some((e) => e.call === key(name)),
            `${name} in the run's errors`,
          ).toBe(true);
        } else {
          expect(Number(row?.records), name).toBe(h.records);
        }
      }
      expect(ledger.size).toBe(normal.length + Object.keys(HOSTILE).length);

      // What the accepted hostile records did: usage for the tester, the unknown sources
      // recorded as unmapped, the SQL-looking principal stored as a plain string.
      const tester = await db.all<{ action: string; calls: number }>(
        'SELECT action, sum(calls)::INTEGER AS calls FROM usage_daily WHERE principal_id = $p GROUP BY action ORDER BY action',
        { p: USER },
      );
      expect(tester).toEqual([
        { action: 'ec2:DescribeInstances', calls: 1 },
        { action: 'ec2:RunInstances', calls: 1 },
        { action: 's3:PutBucketPolicy', calls: 1 },
      ]);
      const unmapped = await db.all<{ event_source: string; event_name: string }>(
        'SELECT event_source, event_name FROM unmapped_event ORDER BY event_source, event_name',
      );
      expect(unmapped).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            event_source: 'quantum.amazonaws.com',
            event_name: 'EntangleQubits',
          }),
          expect.objectContaining({
            event_source: 'ec2.amazonaws.com',
            event_name: 'NoSuchEc2Call',
          }),
        ]),
      );
      expect(
        await db.scalar<number>(
          'SELECT sum(calls)::INTEGER FROM usage_daily WHERE principal_id = $p',
          {
            p: SQLISH,
          },
        ),
      ).toBe(1);

      // A second run retries the rejected objects (still rejected) and counts nothing twice.
      totals = await db.one(TOTALS);
      const second = await assess(db);
      expect(second.status).toBe('partial');
      expect(await db.one(TOTALS)).toEqual(totals);
      expect(
        await db.scalar<number>("SELECT count(*) FROM ingest_object WHERE status = 'rejected'"),
      ).toBe(Object.values(HOSTILE).filter((h) => h.outcome === 'rejected').length);
    } finally {
      db.closeAll();
    }
    // The file opens again with the same totals.
    const again = await Db.open(file);
    try {
      expect(await again.one(TOTALS)).toEqual(totals);
      expect(await again.scalar<number>('SELECT count(*) FROM assessment')).toBe(2);
    } finally {
      again.closeAll();
    }
  });
});
