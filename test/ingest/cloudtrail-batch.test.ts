import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type BatchContext,
  ingestLogBatch,
  type StagedObject,
} from '../../ingest/aws/cloudtrail/aggregate.ts';
import type { Db } from '../../model/db.ts';
import { mapCloudTrailEvent } from '../../scoring/catalog/index.ts';
import { memoryDb, tempDir } from '../helpers/db.ts';

/**
 * One DuckDB batch of CloudTrail objects (the path S3, import and LookupEvents ingestion share):
 * bad objects in a batch are rejected whole and never change what the good ones count.
 */

const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/deployer`;
const USER = `arn:aws:iam::${ACCOUNT}:user/alice`;
const stage = tempDir('ad-batch-');
afterAll(() => stage.cleanup());

function assumedRole(eventName: string, eventSource: string, time: string, session: string) {
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      principalId: `AROAEXAMPLE:${session}`,
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/${session}`,
      accountId: ACCOUNT,
      sessionContext: {
        sessionIssuer: { type: 'Role', arn: ROLE, accountId: ACCOUNT, userName: 'deployer' },
        attributes: { creationDate: '2026-11-20T08:00:00Z', mfaAuthenticated: 'false' },
      },
    },
    eventTime: time,
    eventSource,
    eventName,
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-cli/2.15.0',
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
    managementEvent: true,
  };
}

const consoleLogin = {
  eventVersion: '1.09',
  userIdentity: { type: 'IAMUser', arn: USER, accountId: ACCOUNT, userName: 'alice' },
  eventTime: '2026-11-20T09:00:00Z',
  eventSource: 'signin.amazonaws.com',
  eventName: 'ConsoleLogin',
  awsRegion: 'us-east-1',
  sourceIPAddress: '203.0.113.9',
  userAgent: 'Mozilla/5.0',
  responseElements: { ConsoleLogin: 'Success' },
  recipientAccountId: ACCOUNT,
  eventCategory: 'Management',
};

const serviceCall = {
  eventVersion: '1.09',
  userIdentity: { type: 'AWSService', invokedBy: 'ec2.amazonaws.com' },
  eventTime: '2026-11-20T10:00:00Z',
  eventSource: 'sts.amazonaws.com',
  eventName: 'AssumeRole',
  awsRegion: 'us-east-1',
  recipientAccountId: ACCOUNT,
};

function staged(
  name: string,
  body: Buffer,
  shape: StagedObject['shape'] = 'records',
): StagedObject {
  const path = join(stage.dir, name);
  writeFileSync(path, body);
  return {
    key: `logs/${name}`,
    path,
    shape,
    etag: `"${name}"`,
    sizeBytes: body.length,
    accountId: ACCOUNT,
    region: 'us-east-1',
    day: '2026-11-20',
  };
}

const good1 = staged(
  'good1.json.gz',
  gzipSync(
    JSON.stringify({
      Records: [
        assumedRole('DescribeInstances', 'ec2.amazonaws.com', '2026-11-20T08:01:00Z', 'ci'),
        assumedRole('DescribeInstances', 'ec2.amazonaws.com', '2026-11-20T08:02:00Z', 'ci'),
        assumedRole('ListBuckets', 's3.amazonaws.com', '2026-11-20T08:03:00Z', 'ci'),
        serviceCall,
      ],
    }),
  ),
);
const good2 = staged(
  'good2.json.gz',
  gzipSync(
    JSON.stringify({
      Records: [
        consoleLogin,
        assumedRole('DescribeInstances', 'ec2.amazonaws.com', '2026-11-21T08:01:00Z', 'ci'),
      ],
    }),
  ),
);
const bare = staged(
  'bare.json.gz',
  gzipSync(
    JSON.stringify([
      assumedRole('ListBuckets', 's3.amazonaws.com', '2026-11-21T09:00:00Z', 'nightly'),
    ]),
  ),
  'array',
);
// Valid JSON, but no record has any CloudTrail field.
const wrongShape = staged(
  'wrong.json.gz',
  gzipSync(JSON.stringify({ Records: [{ colour: 'blue' }, { size: 3 }] })),
);
const notJson = staged('broken.json.gz', gzipSync('this is not JSON\n'));

function context(db: Db): BatchContext {
  return {
    db,
    integrationId: 'batch-test',
    assessmentId: 'batch-test-1',
    source: 'import',
    dataEvents: false,
    mapper: mapCloudTrailEvent,
  };
}

/** Everything a batch writes, in a stable order, for comparing two databases. */
async function snapshot(db: Db) {
  return {
    usage: await db.all('SELECT * FROM usage_daily ORDER BY ALL'),
    identity: await db.all('SELECT * FROM identity_usage ORDER BY ALL'),
    logins: await db.all('SELECT * FROM identity_login ORDER BY ALL'),
    coverage: await db.all('SELECT * FROM log_coverage ORDER BY ALL'),
    unmapped: await db.all('SELECT * FROM unmapped_event ORDER BY ALL'),
  };
}

describe('one DuckDB batch of CloudTrail objects', () => {
  it('rejects wrong-shaped and unreadable objects and counts the others exactly as if they were alone', async () => {
    const mixed = await memoryDb();
    const clean = await memoryDb();
    try {
      const result = await ingestLogBatch(context(mixed), [
        good1,
        wrongShape,
        notJson,
        bare,
        good2,
      ]);
      expect(result.objectsOk).toBe(3);
      expect(result.objectsRejected).toBe(2);
      expect(result.records).toBe(7);
      expect(result.unattributed).toBe(1);
      expect(Object.fromEntries(result.rejected.map((r) => [r.key, r.error]))).toEqual({
        [wrongShape.key]: expect.stringMatching(/^wrong shape/),
        [notJson.key]: expect.stringContaining(notJson.key),
      });
      const ledger = await mixed.all(
        'SELECT object_key, status, records, etag, size_bytes, day::VARCHAR AS day FROM ingest_object ORDER BY object_key',
      );
      expect(ledger).toEqual([
        expect.objectContaining({ object_key: bare.key, status: 'ok', records: 1 }),
        expect.objectContaining({ object_key: notJson.key, status: 'rejected', records: null }),
        {
          object_key: good1.key,
          status: 'ok',
          records: 4,
          etag: good1.etag,
          size_bytes: good1.sizeBytes,
          day: '2026-11-20',
        },
        expect.objectContaining({ object_key: good2.key, status: 'ok', records: 2 }),
        expect.objectContaining({ object_key: wrongShape.key, status: 'rejected' }),
      ]);

      await ingestLogBatch(context(clean), [good1, bare, good2]);
      expect(await snapshot(mixed)).toEqual(await snapshot(clean));

      const usage = await mixed.all<{ action: string; day: string; calls: number }>(
        'SELECT action, day::VARCHAR AS day, calls FROM usage_daily WHERE principal_id = $p ORDER BY ALL',
        { p: ROLE },
      );
      expect(usage).toEqual([
        { action: 'ec2:DescribeInstances', day: '2026-11-20', calls: 2 },
        { action: 'ec2:DescribeInstances', day: '2026-11-21', calls: 1 },
        { action: 's3:ListAllMyBuckets', day: '2026-11-20', calls: 1 },
        { action: 's3:ListAllMyBuckets', day: '2026-11-21', calls: 1 },
      ]);
      const logins = await mixed.all(
        'SELECT principal_id, identity, event_name, user_agent FROM identity_login ORDER BY ALL',
      );
      expect(logins).toEqual([
        {
          principal_id: ROLE,
          identity: 'ci',
          event_name: 'SessionStart',
          user_agent: 'aws-cli/2.15.0',
        },
        {
          principal_id: ROLE,
          identity: 'nightly',
          event_name: 'SessionStart',
          user_agent: 'aws-cli/2.15.0',
        },
        {
          principal_id: USER,
          identity: 'alice',
          event_name: 'ConsoleLogin',
          user_agent: 'Mozilla/5.0',
        },
      ]);
      const coverage = await mixed.all(
        'SELECT day::VARCHAR AS day, records FROM log_coverage ORDER BY day',
      );
      expect(coverage).toEqual([
        { day: '2026-11-20', records: 5 },
        { day: '2026-11-21', records: 2 },
      ]);
    } finally {
      mixed.closeAll();
      clean.closeAll();
    }
  });

  it('skips objects already ingested, so a repeated batch counts nothing twice', async () => {
    const db = await memoryDb();
    try {
      await ingestLogBatch(context(db), [good1, good2]);
      const before = await snapshot(db);
      const again = await ingestLogBatch(context(db), [good1, good2, bare]);
      expect(again.skipped).toBe(2);
      expect(again.objectsOk).toBe(1);
      const clean = await memoryDb();
      try {
        await ingestLogBatch(context(clean), [good1, good2, bare]);
        expect(await snapshot(db)).toEqual(await snapshot(clean));
      } finally {
        clean.closeAll();
      }
      expect(before.usage.length).toBeGreaterThan(0);
    } finally {
      db.closeAll();
    }
  });
});
