import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  MGMT,
  ORG_ID,
  PROD,
  SECRET,
  TRAIL_BUCKET,
} from '../fixtures/cloud/world-builder.ts';
import { memoryDb, tempDir } from '../helpers/db.ts';
import { fixtureOrgConfig } from './fixture-org.ts';

/**
 * Trail layouts the generator does not write: per-account trails (no organization id in the
 * key), a key prefix before AWSLogs/, and a bucket read through a role in a log-archive
 * account (bucketRoleArn). The test copies the world's organization-trail objects into a
 * second bucket under that layout before the fixture cloud starts (it serves buckets from the
 * world's folders), and checks the usage is the same as through the organization layout.
 */

const ARCHIVE_BUCKET = 'central-log-archive';
const ARCHIVE_PREFIX = 'audit/trails';
/** The world's extra ACTIVE account (extraAccounts: 1), used as the log-archive account. */
const LOG_ARCHIVE = '100000000100';

let world: BuiltWorld;
let cloud: FixtureCloud;
const archiveKeys: string[] = [];
const stage = tempDir('ad-stage-');
const sync = syncFor({ mapper: (s, n) => mapCloudTrailEvent(s, n), stageDir: stage.dir });

beforeAll(async () => {
  world = buildWorld({ days: 3, filesPerDay: 2, recordsPerFile: 15, extraAccounts: 1 });
  const s3 = join(world.dir, 'aws', 's3');
  for (const key of world.keys) {
    if (!key.startsWith(`AWSLogs/${ORG_ID}/`)) continue;
    const rekeyed = `${ARCHIVE_PREFIX}/${key.replace(`AWSLogs/${ORG_ID}/`, 'AWSLogs/')}`;
    const target = join(s3, ARCHIVE_BUCKET, ...rekeyed.split('/'));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(s3, TRAIL_BUCKET, ...key.split('/')), target);
    if (key.includes('/CloudTrail/')) archiveKeys.push(rekeyed);
  }
  // Each account's own trail delivers to the archive bucket (the product reads the
  // management account's to learn its event selectors).
  for (const account of [MGMT, PROD, DEV]) {
    const file = join(world.dir, 'aws', 'accounts', `${account}.json`);
    const data = JSON.parse(readFileSync(file, 'utf8')) as { trails: unknown[] };
    data.trails.push({
      Name: 'account-trail',
      TrailARN: `arn:aws:cloudtrail:us-east-1:${account}:trail/account-trail`,
      S3BucketName: ARCHIVE_BUCKET,
      S3KeyPrefix: ARCHIVE_PREFIX,
      IsOrganizationTrail: false,
      IsMultiRegionTrail: true,
      HomeRegion: 'us-east-1',
      IncludeGlobalServiceEvents: true,
      LogFileValidationEnabled: true,
      EventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [] }],
    });
    writeFileSync(file, JSON.stringify(data));
  }
  cloud = await startFixtureCloud({ dir: world.dir });
  process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = SECRET;
});

afterAll(async () => {
  await cloud?.close();
  world?.cleanup();
  stage.cleanup();
});

const config = (trail: Record<string, unknown>) =>
  fixtureOrgConfig(cloud.url, { days: 3, integration: { trail } });

const archiveTrail = {
  bucket: ARCHIVE_BUCKET,
  prefix: `${ARCHIVE_PREFIX}/`,
  bucketRoleArn: `arn:aws:iam::${LOG_ARCHIVE}:role/AccessDiscoveryReadOnly`,
};

async function assess(db: Db, trail: Record<string, unknown>) {
  return runAssessment({
    db,
    config: config(trail),
    integrationId: 'fixture-org',
    trigger: 'cli',
    logger: silentLogger,
    sync,
    asOf: world.manifest.endDate,
  });
}

const usage = (db: Db) =>
  db.all(
    `SELECT principal_id, action, day::VARCHAR AS day, account_id, calls, errors, denied
     FROM usage_daily ORDER BY ALL`,
  );

describe('CloudTrail bucket layouts', () => {
  it('reads per-account trail keys under a prefix in a log-archive bucket with the same usage as the organization layout', async () => {
    const org = await memoryDb();
    const archive = await memoryDb();
    try {
      const viaOrg = await assess(org, {
        bucket: TRAIL_BUCKET,
        prefix: '',
        organizationId: ORG_ID,
      });
      expect(viaOrg.errors).toEqual([]);
      const viaArchive = await assess(archive, archiveTrail);
      expect(viaArchive.errors).toEqual([]);
      expect(viaArchive.status).toBe('succeeded');

      const keys = (
        await archive.all<{ object_key: string }>(
          "SELECT object_key FROM ingest_object WHERE status = 'ok' ORDER BY object_key",
        )
      ).map((r) => r.object_key);
      expect(keys).toEqual([...archiveKeys].sort());
      expect(
        keys.every((k) => k.startsWith(`${ARCHIVE_PREFIX}/AWSLogs/`) && !k.includes(ORG_ID)),
      ).toBe(true);
      expect(await archive.scalar<number>('SELECT sum(records) FROM ingest_object')).toBe(
        world.records.length,
      );

      const expected = await usage(org);
      expect(expected.length).toBeGreaterThan(20);
      expect(await usage(archive)).toEqual(expected);
      expect(await archive.one('SELECT source_id, details FROM log_source')).toMatchObject({
        source_id: `arn:aws:cloudtrail:us-east-1:${MGMT}:trail/account-trail`,
      });
    } finally {
      org.closeAll();
      archive.closeAll();
    }
  });

  it('lists the archive bucket through the log-archive role, and says so when that role is refused', async () => {
    const db = await memoryDb();
    try {
      cloud.setFaults([
        { kind: 'access-denied', service: 'sts', operation: 'AssumeRole', account: LOG_ARCHIVE },
      ]);
      const result = await assess(db, archiveTrail);
      expect(result.status).toBe('partial');
      const listingErrors = result.errors.filter(
        (e) => e.service === 's3' && e.call === 'ListObjectsV2',
      );
      expect(listingErrors.map((e) => e.accountId).sort()).toEqual([MGMT, PROD, DEV].sort());
      expect(await db.scalar<number>('SELECT count(*) FROM ingest_object')).toBe(0);
      // The inventory of the logged accounts does not depend on that role.
      expect(
        await db.scalar<number>(
          "SELECT count(*) FROM account WHERE assessment_id = $a AND inventory_status = 'ok'",
          { a: result.assessmentId },
        ),
      ).toBe(3);
    } finally {
      cloud.setFaults([]);
      db.closeAll();
    }
  });
});
