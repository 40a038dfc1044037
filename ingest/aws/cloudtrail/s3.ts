import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { listValue } from '@duckdb/node-api';
import pLimit from 'p-limit';
import { errorMessage } from '../../../lib/errors.ts';
import type { Db } from '../../../model/db.ts';
import { paginate } from '../../paginate.ts';
import { awsErrorName } from '../clients.ts';
import type { BatchContext, BatchResult, StagedObject } from './aggregate.ts';
import { ingestLogBatch, pendingObjects } from './aggregate.ts';

/**
 * CloudTrail from the trail's S3 bucket: list only the day prefixes the window needs per
 * account and region, download new objects in parallel to a staging folder, and hand them
 * to DuckDB in batches. Downloads run ahead of DuckDB by a bounded number of batches, so
 * memory and disk stay bounded whatever the size of the trail.
 */

export const SOURCE = 'cloudtrail-s3';
/** Most objects, and most bytes (as listed), DuckDB reads in one batch by default. */
export const BATCH_OBJECTS = 2048;
export const BATCH_BYTES = 256 * 1024 * 1024;
/** Days after its end before a day prefix is considered complete (late delivery). */
export const LATE_DELIVERY_DAYS = 2;

export interface TrailLocation {
  bucket: string;
  /** Key prefix before AWSLogs/, without a trailing slash ('' for none). */
  prefix: string;
  /** Organization id for organization trails (AWSLogs/o-xxx/ACCOUNT/...). */
  organizationId?: string | undefined;
}

export interface ObjectRef {
  key: string;
  etag: string | null;
  sizeBytes: number;
  accountId: string;
  region: string;
  day: string;
}

/** Everything one account delivers for one region: its keys sort by day under it. */
export function regionPrefix(trail: TrailLocation, accountId: string, region: string): string {
  const root = trail.prefix ? `${trail.prefix.replace(/\/+$/, '')}/` : '';
  const org = trail.organizationId ? `${trail.organizationId}/` : '';
  return `${root}AWSLogs/${org}${accountId}/CloudTrail/${region}/`;
}

export function dayPrefix(
  trail: TrailLocation,
  accountId: string,
  region: string,
  day: string,
): string {
  const [y, m, d] = day.split('-');
  return `${regionPrefix(trail, accountId, region)}${y}/${m}/${d}/`;
}

export function daysOf(start: string, end: string): string[] {
  const out: string[] = [];
  for (
    let t = Date.parse(`${start}T00:00:00Z`);
    t <= Date.parse(`${end}T00:00:00Z`);
    t += 86_400_000
  ) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

/**
 * Days whose prefixes may hold calls of the window: the window's days and the
 * LATE_DELIVERY_DAYS after it (CloudTrail files an object under the day it is delivered, so a
 * call late on the last day can sit under the next day's prefix), up to today (UTC).
 * Calls are counted on the day they were made, whatever prefix they came from.
 */
export function listingDays(
  window: { start: string; end: string },
  today = new Date().toISOString().slice(0, 10),
): string[] {
  const after = new Date(Date.parse(`${window.end}T00:00:00Z`) + LATE_DELIVERY_DAYS * 86_400_000)
    .toISOString()
    .slice(0, 10);
  const last = after < today ? after : today > window.end ? today : window.end;
  return daysOf(window.start, last);
}

/** Day prefixes still to list: never listed, or listed before the day's late-delivery margin ended. */
export async function prefixesToList(
  db: Db,
  integrationId: string,
  wanted: Array<{ prefix: string; accountId: string; region: string; day: string }>,
): Promise<Array<{ prefix: string; accountId: string; region: string; day: string }>> {
  if (wanted.length === 0) return [];
  const final = await db.all<{ prefix: string }>(
    `SELECT prefix FROM ingest_prefix
     WHERE integration_id = $integration_id AND source = $source
       AND CAST(listed_at AS DATE) >= day + INTERVAL ${LATE_DELIVERY_DAYS + 1} DAY
       AND prefix IN (SELECT unnest($prefixes))`,
    {
      integration_id: integrationId,
      source: SOURCE,
      prefixes: listValue(wanted.map((w) => w.prefix)),
    },
  );
  const done = new Set(final.map((f) => f.prefix));
  return wanted.filter((w) => !done.has(w.prefix));
}

// --- get -------------------------------------------------------------------------------------

/**
 * The log objects of some days of one account and region, with one ranged listing instead of
 * one per day: under the region's prefix keys sort by day, so the listing starts after the
 * first day's predecessors (`StartAfter`) and stops at the first key past the last day. Only
 * objects of the given days are returned, with their day taken from the key.
 */
export async function listDays(
  s3: S3Client,
  bucket: string,
  trail: TrailLocation,
  meta: { accountId: string; region: string; days: string[] },
): Promise<ObjectRef[]> {
  if (meta.days.length === 0) return [];
  const days = new Set(meta.days);
  const sorted = [...days].sort();
  const first = sorted[0]!;
  const last = sorted[sorted.length - 1]!;
  const prefix = regionPrefix(trail, meta.accountId, meta.region);
  // Keys of the first day read `<prefix>YYYY/MM/DD/<file>`: all sort after `<prefix>YYYY/MM/DD`.
  const startAfter = dayPrefix(trail, meta.accountId, meta.region, first).slice(0, -1);
  const out: ObjectRef[] = [];
  pages: for await (const page of paginate<ListObjectsV2CommandOutput>(
    (ContinuationToken) =>
      s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          StartAfter: startAfter,
          ContinuationToken,
        }),
      ),
    (p) => (p.IsTruncated ? p.NextContinuationToken : undefined),
  )) {
    for (const o of page.Contents ?? []) {
      const m = o.Key ? /^(\d{4})\/(\d{2})\/(\d{2})\//.exec(o.Key.slice(prefix.length)) : null;
      if (!m) continue;
      const day = `${m[1]}-${m[2]}-${m[3]}`;
      if (day > last) break pages;
      if (!days.has(day) || !o.Key!.endsWith('.json.gz')) continue;
      out.push({
        key: o.Key!,
        etag: o.ETag ?? null,
        sizeBytes: o.Size ?? 0,
        accountId: meta.accountId,
        region: meta.region,
        day,
      });
    }
  }
  return out;
}

export async function downloadObject(
  s3: S3Client,
  bucket: string,
  key: string,
  file: string,
): Promise<void> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!out.Body) throw new Error(`GetObject ${key} returned no body`);
  await pipeline(out.Body as Readable, createWriteStream(file));
}

// --- pipeline --------------------------------------------------------------------------------

export interface S3IngestOptions {
  s3: S3Client;
  trail: TrailLocation;
  stageDir: string;
  batch: Omit<BatchContext, 'source'>;
  /** Parallel downloads (default 16). */
  downloadConcurrency?: number;
  /** Most objects per DuckDB batch (default BATCH_OBJECTS). */
  batchObjects?: number;
  /** Most bytes (as listed) per DuckDB batch (default BATCH_BYTES). */
  batchBytes?: number;
  /** Batches downloaded ahead of DuckDB (default 2). */
  aheadBatches?: number;
  onBatch?: (result: BatchResult, totals: IngestTotals) => Promise<void> | void;
}

export interface IngestTotals {
  objectsOk: number;
  objectsRejected: number;
  records: number;
  downloadErrors: Array<{ key: string; error: string }>;
}

/**
 * Download and ingest the given objects: a list, or lists arriving while listing goes on (so
 * downloads and DuckDB start with the first listing). Download failures (after the SDK's
 * retries) are returned, not thrown: the object is not in the ledger as ok, so the next run
 * retries it.
 */
export async function ingestObjects(
  options: S3IngestOptions,
  objects: ObjectRef[] | AsyncIterable<ObjectRef[]>,
): Promise<IngestTotals> {
  const totals: IngestTotals = { objectsOk: 0, objectsRejected: 0, records: 0, downloadErrors: [] };
  mkdirSync(options.stageDir, { recursive: true });
  const batchObjects = options.batchObjects ?? BATCH_OBJECTS;
  const batchBytes = options.batchBytes ?? BATCH_BYTES;
  const ahead = options.aheadBatches ?? 2;
  const limit = pLimit(options.downloadConcurrency ?? 16);
  const ctx: BatchContext = { ...options.batch, source: SOURCE };
  const failedRefs: ObjectRef[] = [];

  let ingestChain: Promise<void> = Promise.resolve();
  let queued = 0;
  const waiters: Array<() => void> = [];
  const ingest = (batch: StagedObject[]) => {
    queued++;
    ingestChain = ingestChain.then(async () => {
      try {
        const result = await ingestLogBatch(ctx, batch);
        totals.objectsOk += result.objectsOk;
        totals.objectsRejected += result.objectsRejected;
        totals.records += result.records;
        await options.onBatch?.(result, totals);
      } finally {
        for (const o of batch) rmSync(o.path, { force: true });
        queued--;
        waiters.shift()?.();
      }
    });
  };

  const source = Array.isArray(objects) ? [objects] : objects;
  for await (const slice of batches(source, batchObjects, batchBytes)) {
    while (queued >= ahead) await new Promise<void>((resolve) => waiters.push(resolve));
    const staged = await Promise.all(
      slice.map((o) =>
        limit(async (): Promise<StagedObject | undefined> => {
          const file = join(
            options.stageDir,
            `${createHash('sha1').update(o.key).digest('hex')}.json.gz`,
          );
          try {
            await downloadObject(options.s3, options.trail.bucket, o.key, file);
          } catch (err) {
            rmSync(file, { force: true });
            const name = awsErrorName(err);
            const message = errorMessage(err);
            failedRefs.push(o);
            totals.downloadErrors.push({
              key: o.key,
              error: name && !message.startsWith(name) ? `${name}: ${message}` : message,
            });
            return undefined;
          }
          return {
            key: o.key,
            path: file,
            shape: 'records',
            etag: o.etag,
            sizeBytes: o.sizeBytes,
            accountId: o.accountId,
            region: o.region,
            day: o.day,
          };
        }),
      ),
    );
    const ready = staged.filter((s): s is StagedObject => s !== undefined);
    if (ready.length) ingest(ready);
  }
  await ingestChain;
  await recordDownloadErrors(options.batch, failedRefs, totals.downloadErrors);
  return totals;
}

/**
 * Objects that could not be downloaded (denied, server errors after the SDK's retries) go in
 * the ledger as rejected with the error, like unreadable ones, so the ledger accounts for every
 * object listed and the next run retries them. An object already ingested ok stays ok.
 */
async function recordDownloadErrors(
  ctx: Omit<BatchContext, 'source'>,
  objects: ObjectRef[],
  failures: Array<{ key: string; error: string }>,
): Promise<void> {
  if (failures.length === 0) return;
  const errors = new Map(failures.map((f) => [f.key, f.error]));
  const refs = await pendingObjects(ctx.db, ctx.integrationId, SOURCE, objects);
  await ctx.db.transaction(async (tx) => {
    for (const o of refs) {
      await tx.exec(
        `INSERT INTO ingest_object (integration_id, source, object_key, etag, size_bytes, account_id, region, day,
                                    records, status, error, assessment_id, ingested_at)
         VALUES ($integration_id, $source, $key, $etag, $size, $account, $region, $day::DATE, NULL, 'rejected',
                 $error, $assessment_id, now())
         ON CONFLICT DO UPDATE SET etag = excluded.etag, size_bytes = excluded.size_bytes, records = NULL,
           status = 'rejected', error = excluded.error, assessment_id = excluded.assessment_id,
           ingested_at = excluded.ingested_at`,
        {
          integration_id: ctx.integrationId,
          source: SOURCE,
          key: o.key,
          etag: o.etag,
          size: o.sizeBytes,
          account: o.accountId,
          region: o.region,
          day: o.day,
          error: `GetObject failed: ${errors.get(o.key) ?? 'unknown error'}`,
          assessment_id: ctx.assessmentId,
        },
      );
    }
  });
}

/**
 * Slices of at most `maxObjects` objects and (unless one object is larger) `maxBytes`. The
 * first slices are smaller (1/16, 1/8, ... of the limits) so DuckDB starts on the first
 * objects while the rest download, instead of waiting for a whole batch.
 */
async function* batches(
  lists: Iterable<ObjectRef[]> | AsyncIterable<ObjectRef[]>,
  maxObjects: number,
  maxBytes: number,
): AsyncGenerator<ObjectRef[]> {
  let batch: ObjectRef[] = [];
  let bytes = 0;
  let share = 1 / 16;
  for await (const list of lists) {
    for (const o of list) {
      if (
        batch.length > 0 &&
        (batch.length >= Math.max(1, Math.floor(maxObjects * share)) ||
          bytes + o.sizeBytes > maxBytes * share)
      ) {
        yield batch;
        batch = [];
        bytes = 0;
        share = Math.min(1, share * 2);
      }
      batch.push(o);
      bytes += o.sizeBytes;
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * Run `task` over `items` with at most `concurrency` at once, yielding each result as soon as
 * it is ready (completion order).
 */
export async function* completionOrder<T, R>(
  items: T[],
  concurrency: number,
  task: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const running = new Map<number, Promise<{ id: number; result: R }>>();
  let next = 0;
  const start = () => {
    const id = next++;
    running.set(
      id,
      task(items[id]!).then((result) => ({ id, result })),
    );
  };
  while (next < items.length && running.size < concurrency) start();
  while (running.size > 0) {
    const { id, result } = await Promise.race(running.values());
    running.delete(id);
    if (next < items.length) start();
    yield result;
  }
}

/** Record that day prefixes were listed completely: one statement, however many days. */
export async function recordListings(
  db: Db,
  integrationId: string,
  listings: Array<{
    prefix: string;
    accountId: string;
    region: string;
    day: string;
    objects: number;
  }>,
): Promise<void> {
  if (listings.length === 0) return;
  await db.transaction(async (tx) => {
    await tx.exec(
      `CREATE OR REPLACE TEMP TABLE listed_prefix (prefix VARCHAR, account_id VARCHAR, region VARCHAR,
         day VARCHAR, objects INTEGER)`,
    );
    await tx.append('listed_prefix', (a) => {
      for (const l of listings) {
        a.appendVarchar(l.prefix);
        a.appendVarchar(l.accountId);
        a.appendVarchar(l.region);
        a.appendVarchar(l.day);
        a.appendInteger(l.objects);
        a.endRow();
      }
    });
    await tx.exec(
      `INSERT INTO ingest_prefix
       SELECT $integration_id, $source, prefix, account_id, region, day::DATE, objects, now()
       FROM listed_prefix
       ON CONFLICT DO UPDATE SET objects = excluded.objects, listed_at = excluded.listed_at`,
      { integration_id: integrationId, source: SOURCE },
    );
    await tx.exec('DROP TABLE listed_prefix');
  });
}

/**
 * Keys ingested ok under days from `fromDay` on: what listing the days inside their
 * late-delivery margin again finds a second time, and need not be downloaded again.
 */
export async function ingestedKeys(
  db: Db,
  integrationId: string,
  fromDay: string,
): Promise<Set<string>> {
  const rows = await db.all<{ object_key: string }>(
    `SELECT object_key FROM ingest_object
     WHERE integration_id = $integration_id AND source = $source AND status = 'ok' AND day >= $day::DATE`,
    { integration_id: integrationId, source: SOURCE, day: fromDay },
  );
  return new Set(rows.map((r) => r.object_key));
}

/** Objects rejected by earlier runs, to retry. */
export async function rejectedObjects(db: Db, integrationId: string): Promise<ObjectRef[]> {
  const rows = await db.all<{
    object_key: string;
    etag: string | null;
    size_bytes: number | null;
    account_id: string;
    region: string;
    day: string;
  }>(
    `SELECT object_key, etag, size_bytes, account_id, region, day FROM ingest_object
     WHERE integration_id = $integration_id AND source = $source AND status = 'rejected'`,
    { integration_id: integrationId, source: SOURCE },
  );
  return rows.map((r) => ({
    key: r.object_key,
    etag: r.etag,
    sizeBytes: r.size_bytes ?? 0,
    accountId: r.account_id,
    region: r.region,
    day: r.day,
  }));
}
