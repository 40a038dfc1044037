import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureCloud, startFixtureCloud } from '../../fixtures/cloud/index.ts';
import { runAssessment } from '../../ingest/assessment.ts';
import { listingDays } from '../../ingest/aws/cloudtrail/s3.ts';
import { syncFor } from '../../ingest/registry.ts';
import { silentLogger } from '../../lib/log.ts';
import type { Db } from '../../model/db.ts';
import { mapCloudTrailEvent } from '../../scoring/catalog/index.ts';
import {
  ACCESS_KEY_ID,
  type BuiltWorld,
  buildWorld,
  ORG_ID,
  PROD,
  REGIONS,
  SECRET,
  TRAIL_BUCKET,
} from '../fixtures/cloud/world-builder.ts';
import { memoryDb, tempDir } from '../helpers/db.ts';
import { fixtureOrgConfig, prodUserCall } from './fixture-org.ts';

/**
 * Late delivery (#5.4): CloudTrail files its objects under the day they are delivered, so a
 * call made late on day D can sit under D+1's or D+2's prefix, and an object can reach a day's
 * prefix after that prefix was first listed. Usage is counted on the day of the call, the
 * prefixes after the window's last day are listed too, and a prefix is listed again until its
 * late-delivery margin has passed.
 */

const START = '2026-11-19';
const MIDDLE = '2026-11-20';
const END = '2026-11-21';
const REGION = 'us-east-1';

const record = (time: string, id: string) =>
  prodUserCall({ time, id: `late-${id}`, user: 'alice', region: REGION });

/** An object of PROD us-east-1 delivered on `delivered` (YYYY-MM-DD) at hh:mm, holding `records`. */
function lateObject(delivered: string, hhmm: string, suffix: string, records: object[]) {
  const [y, m, d] = delivered.split('-');
  const key = `AWSLogs/${ORG_ID}/${PROD}/CloudTrail/${REGION}/${y}/${m}/${d}/${PROD}_CloudTrail_${REGION}_${y}${m}${d}T${hhmm}Z_${suffix}.json.gz`;
  return { key, records, body: gzipSync(JSON.stringify({ Records: records })) };
}

// Calls of day D delivered under D+1 (inside the window), and calls of the window's last day
// delivered under the two days after it.
const crossMidnight = lateObject(END, '0003', 'LATE00000000000A', [
  record(`${MIDDLE}T23:58:10Z`, 'a1'),
  record(`${MIDDLE}T23:59:50Z`, 'a2'),
]);
const nextDay = lateObject('2026-11-22', '0004', 'LATE00000000000B', [
  record(`${END}T23:57:00Z`, 'b1'),
  record(`${END}T23:58:00Z`, 'b2'),
  record(`${END}T23:59:00Z`, 'b3'),
]);
const twoDaysLater = lateObject('2026-11-23', '0110', 'LATE00000000000C', [
  record(`${END}T23:59:59Z`, 'c1'),
]);
// Reaches the last day's prefix only after that prefix was first listed.
const straggler = lateObject(END, '2105', 'LATE00000000000D', [
  record(`${END}T21:00:00Z`, 'd1'),
  record(`${END}T21:01:00Z`, 'd2'),
]);

let world: BuiltWorld;
const stage = tempDir('ad-stage-');
const sync = syncFor({ mapper: (s, n) => mapCloudTrailEvent(s, n), stageDir: stage.dir });

beforeAll(() => {
  world = buildWorld({
    days: 3,
    endDate: END,
    filesPerDay: 1,
    recordsPerFile: 12,
    extraObjects: Object.fromEntries(
      [crossMidnight, nextDay, twoDaysLater].map((o) => [o.key, o.body]),
    ),
  });
  process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = SECRET;
});

afterAll(() => {
  world.cleanup();
  stage.cleanup();
});

async function assess(db: Db, cloud: FixtureCloud) {
  const config = fixtureOrgConfig(cloud.url, { days: 3 });
  return runAssessment({
    db,
    config,
    integrationId: 'fixture-org',
    trigger: 'cli',
    logger: silentLogger,
    sync,
    asOf: END,
  });
}

/** Attributed calls per day of the call, from the records written (not from our aggregation). */
function expectedByDay(extra: object[]): Record<string, number> {
  const all = [...world.records.map((r) => r.record), ...(extra as Record<string, unknown>[])];
  const out: Record<string, number> = {};
  for (const r of all) {
    const type = (r.userIdentity as { type: string }).type;
    if (!['IAMUser', 'AssumedRole', 'Root', 'FederatedUser'].includes(type)) continue;
    const day = (r.eventTime as string).slice(0, 10);
    out[day] = (out[day] ?? 0) + 1;
  }
  return out;
}

async function callsByDay(db: Db): Promise<Record<string, number>> {
  const rows = await db.all<{ day: string; calls: number }>(
    'SELECT day::VARCHAR AS day, sum(calls)::INTEGER AS calls FROM usage_daily GROUP BY day',
  );
  return Object.fromEntries(rows.map((r) => [r.day, r.calls]));
}

describe('late CloudTrail delivery', () => {
  it('lists the two days after the window, never past today', () => {
    const window = { start: START, end: END };
    expect(listingDays(window, '2026-12-05')).toEqual([
      START,
      MIDDLE,
      END,
      '2026-11-22',
      '2026-11-23',
    ]);
    expect(listingDays(window, '2026-11-22')).toEqual([START, MIDDLE, END, '2026-11-22']);
    expect(listingDays(window, END)).toEqual([START, MIDDLE, END]);
    expect(listingDays(window, MIDDLE)).toEqual([START, MIDDLE, END]);
  });

  it('counts calls on their own day from the next two days’ prefixes, and relists a day until its margin has passed', async () => {
    const db = await memoryDb();
    let cloud = await startFixtureCloud({ dir: world.dir });
    try {
      const first = await assess(db, cloud);
      expect(first.errors).toEqual([]);
      const early = [crossMidnight, nextDay, twoDaysLater].flatMap((o) => o.records);
      const byDay = await callsByDay(db);
      expect(byDay).toEqual(expectedByDay(early));
      expect(Object.keys(byDay).sort()).toEqual([START, MIDDLE, END]);
      const okKeys = await db.all<{ object_key: string }>(
        "SELECT object_key FROM ingest_object WHERE status = 'ok' AND object_key LIKE '%LATE%' ORDER BY 1",
      );
      expect(okKeys.map((r) => r.object_key)).toEqual(
        [crossMidnight.key, nextDay.key, twoDaysLater.key].sort(),
      );

      // As if that run had happened on the morning after the window: the last days' prefixes
      // were listed inside their margin, and the day after next did not exist yet.
      await db.exec(`DELETE FROM ingest_prefix WHERE day > $next::DATE`, { next: '2026-11-22' });
      await db.exec(`UPDATE ingest_prefix SET listed_at = $at::TIMESTAMPTZ`, {
        at: '2026-11-22T06:00:00Z',
      });
      // An object then arrives in the last day's prefix; the cloud re-reads the bucket.
      await cloud.close();
      const path = join(world.dir, 'aws', 's3', TRAIL_BUCKET, ...straggler.key.split('/'));
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, straggler.body);
      cloud = await startFixtureCloud({ dir: world.dir });

      const second = await assess(db, cloud);
      expect(second.errors).toEqual([]);
      // Listed again: the middle day, the last day and the day after (listed inside their
      // margin), and the day after next (never listed); the first day is final. One ranged
      // listing per account and region covers those four days.
      const accountsLogged = 3; // MGMT, PROD, DEV (SUSPENDED is skipped)
      expect(cloud.requestCounts()['s3 ListObjectsV2']).toBe(accountsLogged * REGIONS.length);
      const relisted = await db.all<{ prefix: string }>(
        'SELECT prefix FROM ingest_prefix WHERE listed_at > $at::TIMESTAMPTZ',
        { at: '2026-11-22T06:00:00Z' },
      );
      expect(relisted).toHaveLength(4 * accountsLogged * REGIONS.length);
      // Objects of those days ingested by the first run are not downloaded again.
      expect(cloud.requestCounts()['s3 GetObject']).toBe(1);
      expect(await callsByDay(db)).toEqual(expectedByDay([...early, ...straggler.records]));
      expect(
        await db.scalar<string>('SELECT status FROM ingest_object WHERE object_key = $k', {
          k: straggler.key,
        }),
      ).toBe('ok');
    } finally {
      await cloud.close();
      db.closeAll();
    }
  });
});
