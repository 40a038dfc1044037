import { gzipSync } from 'node:zlib';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDays, regionPrefix, type TrailLocation } from '../../ingest/aws/cloudtrail/s3.ts';
import { served, startTestCloud, type TestCloud } from '../fixtures/cloud/harness.ts';
import { ORG_ID, PROD, TRAIL_BUCKET } from '../fixtures/cloud/world-builder.ts';

/**
 * Ranged listing (#5.3): one ListObjectsV2 per account and region covers every day still to
 * list, starting after the first day's predecessors and stopping at the first key past the
 * last day, through the real S3 client against the fixture cloud. Pages of 1,000 keys are
 * crossed, days between the wanted ones are left out, and nothing after the last day is read.
 */

const TRAIL: TrailLocation = { bucket: TRAIL_BUCKET, prefix: '', organizationId: ORG_ID };
// The world's own days end on 2026-11-21; these three follow it.
const DAYS = ['2026-11-22', '2026-11-23', '2026-11-24'];
const PER_DAY = [1100, 1100, 5];
const body = gzipSync(JSON.stringify({ Records: [] }));

function extraKeys(): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  const prefix = regionPrefix(TRAIL, PROD, 'us-east-1');
  DAYS.forEach((day, d) => {
    const [y, m, dd] = day.split('-');
    for (let i = 0; i < PER_DAY[d]!; i++) {
      const stamp = `${y}${m}${dd}T${String(Math.floor(i / 60) % 24).padStart(2, '0')}${String(i % 60).padStart(2, '0')}Z`;
      out[
        `${prefix}${y}/${m}/${dd}/${PROD}_CloudTrail_us-east-1_${stamp}_${String(i).padStart(5, '0')}.json.gz`
      ] = body;
    }
    // Not a log object: listed, never returned.
    out[`${prefix}${y}/${m}/${dd}/README.txt`] = body;
  });
  return out;
}

let t: TestCloud;
let s3: S3Client;
beforeAll(async () => {
  t = await startTestCloud({
    days: 3,
    filesPerDay: 2,
    recordsPerFile: 2,
    extraObjects: extraKeys(),
  });
  s3 = new S3Client({ ...t.cloud.awsClientConfig('us-east-1'), maxAttempts: 1 });
});
afterAll(async () => t.close());

const expectedKeys = (days: string[]) =>
  t.world.keys
    .filter((k) => k.startsWith(regionPrefix(TRAIL, PROD, 'us-east-1')) && k.endsWith('.json.gz'))
    .filter((k) => days.some((day) => k.includes(`/${day.replaceAll('-', '/')}/`)))
    .sort();

describe('ranged listing of day prefixes', () => {
  it('returns exactly the objects of the wanted days, across pages, and stops after the last day', async () => {
    const before = served(t.cloud, 's3', 'ListObjectsV2');
    const found = await listDays(s3, TRAIL_BUCKET, TRAIL, {
      accountId: PROD,
      region: 'us-east-1',
      days: [DAYS[0]!, DAYS[2]!],
    });
    expect(found.map((o) => o.key).sort()).toEqual(expectedKeys([DAYS[0]!, DAYS[2]!]));
    expect(found).toHaveLength(PER_DAY[0]! + PER_DAY[2]!);
    for (const o of found) {
      expect(o.key).toContain(`/${o.day.replaceAll('-', '/')}/`);
      expect(o).toMatchObject({ accountId: PROD, region: 'us-east-1', sizeBytes: body.length });
      expect(o.etag).toMatch(/^"[0-9a-f]{32}"$/);
    }
    // 2,208 keys from the first wanted day on: three pages.
    expect(served(t.cloud, 's3', 'ListObjectsV2') - before).toBe(3);
  });

  it('reads no page past the last wanted day', async () => {
    const before = served(t.cloud, 's3', 'ListObjectsV2');
    const found = await listDays(s3, TRAIL_BUCKET, TRAIL, {
      accountId: PROD,
      region: 'us-east-1',
      days: [DAYS[0]!],
    });
    expect(found.map((o) => o.key).sort()).toEqual(expectedKeys([DAYS[0]!]));
    // The second page reaches the next day, so the third is never asked for.
    expect(served(t.cloud, 's3', 'ListObjectsV2') - before).toBe(2);
  });

  it('finds the world’s own days before the added ones, one request for the region', async () => {
    const worldDays = ['2026-11-19', '2026-11-20', '2026-11-21'];
    const before = served(t.cloud, 's3', 'ListObjectsV2');
    const found = await listDays(s3, TRAIL_BUCKET, TRAIL, {
      accountId: PROD,
      region: 'us-east-1',
      days: worldDays,
    });
    expect(found.map((o) => o.key).sort()).toEqual(expectedKeys(worldDays));
    expect(found.length).toBeGreaterThan(0);
    expect(served(t.cloud, 's3', 'ListObjectsV2') - before).toBe(1);
  });

  it('lists nothing for no days', async () => {
    const before = served(t.cloud, 's3', 'ListObjectsV2');
    expect(
      await listDays(s3, TRAIL_BUCKET, TRAIL, { accountId: PROD, region: 'us-east-1', days: [] }),
    ).toEqual([]);
    expect(served(t.cloud, 's3', 'ListObjectsV2') - before).toBe(0);
  });
});
