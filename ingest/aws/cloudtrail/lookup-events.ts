import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CloudTrailClient,
  LookupEventsCommand,
  type LookupEventsCommandOutput,
} from '@aws-sdk/client-cloudtrail';
import { paginate } from '../../paginate.ts';
import { type BatchContext, type BatchResult, ingestLogBatch } from './aggregate.ts';

/**
 * Usage from the CloudTrail LookupEvents API, for accounts whose trail bucket we cannot
 * read. Management events only (the API has no data events), 90 days at most, and AWS
 * allows 2 requests per second per account and region: a token bucket keeps us under it.
 * Each account × region × day is written as one staged `{"Records": [...]}` file (the API
 * returns each event as a JSON string, which is copied, not parsed) and goes through the same
 * DuckDB aggregation and ledger as S3 objects. Only finished days are ingested, so a day is
 * counted exactly once.
 */

export const LOOKUP_SOURCE = 'lookup-events';

/** At most `perSecond` calls per second per key. */
export class RateLimiter {
  private readonly next = new Map<string, number>();
  constructor(private readonly perSecond: number) {}

  async take(key: string): Promise<void> {
    const now = Date.now();
    const slot = Math.max(now, this.next.get(key) ?? now);
    this.next.set(key, slot + 1000 / this.perSecond);
    if (slot > now) await new Promise((resolve) => setTimeout(resolve, slot - now));
  }
}

// --- get -------------------------------------------------------------------------------------

/** Every event of one day (UTC, end exclusive), as the raw JSON strings the API returns. */
export async function getDayEvents(
  client: CloudTrailClient,
  day: string,
  limiter: RateLimiter,
  limiterKey: string,
): Promise<string[]> {
  const start = new Date(`${day}T00:00:00Z`);
  const end = new Date(start.getTime() + 86_400_000);
  const events: string[] = [];
  for await (const page of paginate<LookupEventsCommandOutput>(
    async (NextToken) => {
      await limiter.take(limiterKey);
      return client.send(
        new LookupEventsCommand({ StartTime: start, EndTime: end, MaxResults: 50, NextToken }),
      );
    },
    (p) => p.NextToken,
  )) {
    // EndTime is inclusive: an event at the next midnight belongs to the next day's lookup.
    for (const e of page.Events ?? []) {
      if (e.CloudTrailEvent && !(e.EventTime && e.EventTime.getTime() >= end.getTime()))
        events.push(e.CloudTrailEvent);
    }
  }
  return events;
}

// --- stage + load ----------------------------------------------------------------------------

export function lookupKey(accountId: string, region: string, day: string): string {
  return `lookup-events/${accountId}/${region}/${day}`;
}

/** Stage one day's events as a Records file and aggregate it through the shared pipeline. */
export async function ingestDayEvents(
  ctx: Omit<BatchContext, 'source'>,
  stageDir: string,
  meta: { accountId: string; region: string; day: string },
  events: string[],
): Promise<BatchResult> {
  mkdirSync(stageDir, { recursive: true });
  const key = lookupKey(meta.accountId, meta.region, meta.day);
  const file = join(stageDir, `${key.replaceAll('/', '_')}.json`);
  writeFileSync(file, `{"Records":[${events.join(',')}]}`);
  try {
    return await ingestLogBatch({ ...ctx, source: LOOKUP_SOURCE, dataEvents: false }, [
      { key, path: file, shape: 'records', etag: null, sizeBytes: null, ...meta },
    ]);
  } finally {
    rmSync(file, { force: true });
  }
}
