import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listValue } from '@duckdb/node-api';
import { errorMessage } from '../../../lib/errors.ts';
import type { Db } from '../../../model/db.ts';
import { RECORD_COLUMNS_MAP, WRAPPED_COLUMNS_MAP } from './columns.ts';

/**
 * CloudTrail aggregation: DuckDB reads a batch of staged log objects in one pass that
 * aggregates them to a grain every usage table rolls up from (ct_fine, never one row per
 * record), then merges that into usage_daily, identity_usage, identity_login and
 * log_coverage and records every object in the ingest_object ledger with one statement — all
 * in one transaction, so a crash never leaves half a batch counted and a re-run never counts
 * an object twice. Events are never held as JS objects; only the distinct (eventSource,
 * eventName) pairs of a batch reach TypeScript, for the event→action mapper.
 */

const SQL_DIR = join(import.meta.dirname, 'sql');
const sql = (name: string): string => readFileSync(join(SQL_DIR, `${name}.sql`), 'utf8');

/** A log object staged on local disk, ready for DuckDB. */
export interface StagedObject {
  /** Ledger key: the S3 key, or the file path for imports. */
  key: string;
  /** Local file DuckDB reads. */
  path: string;
  /** `records`: a `{"Records": [...]}` object (S3 delivery); `array`: a bare JSON array of records. */
  shape: 'records' | 'array';
  etag?: string | null;
  sizeBytes?: number | null;
  accountId?: string | null;
  region?: string | null;
  day?: string | null;
}

export interface EventMapping {
  status: 'mapped' | 'no-permission' | 'unmapped';
  actions: string[];
  reason?: string;
}

/** Maps one CloudTrail (eventSource, eventName) to IAM actions. */
export type EventMapper = (eventSource: string, eventName: string) => EventMapping;

export interface BatchContext {
  db: Db;
  integrationId: string;
  assessmentId: string;
  /** cloudtrail-s3, import, lookup-events, ... */
  source: string;
  /** Whether the trail records data events (from its event selectors). */
  dataEvents: boolean;
  mapper: EventMapper;
}

export interface RejectedObject {
  key: string;
  error: string;
}

export interface BatchResult {
  objectsOk: number;
  objectsRejected: number;
  /** Records read from accepted objects. */
  records: number;
  /** Records with no attributable principal (AWS service calls, anonymous, cross-account without ARN). */
  unattributed: number;
  /** Attributed calls whose event maps to no action (see unmapped_event). */
  unmappedCalls: number;
  /** Objects already ingested ok by an earlier run, not read again. */
  skipped: number;
  rejected: RejectedObject[];
}

function recordSource(objects: StagedObject[]): {
  text: string;
  params: Record<string, ReturnType<typeof listValue>>;
} {
  const wrapped = objects.filter((o) => o.shape === 'records').map((o) => o.path);
  const arrays = objects.filter((o) => o.shape === 'array').map((o) => o.path);
  const parts: string[] = [];
  const params: Record<string, ReturnType<typeof listValue>> = {};
  if (wrapped.length) {
    // A file without a Records array yields one all-NULL record, so wrong-shaped files are
    // found without reading anything twice.
    parts.push(`SELECT object_path, unnest(rec) FROM (
      SELECT filename AS object_path, unnest(coalesce(Records, [NULL])) AS rec
      FROM read_json($wrapped, columns = ${WRAPPED_COLUMNS_MAP}, format = 'unstructured', filename = true,
                     maximum_object_size = 1073741824))`);
    params.wrapped = listValue(wrapped);
  }
  if (arrays.length) {
    parts.push(`SELECT filename AS object_path, *
      FROM read_json($arrays, columns = ${RECORD_COLUMNS_MAP}, format = 'array', filename = true,
                     maximum_object_size = 1073741824)`);
    params.arrays = listValue(arrays);
  }
  return { text: parts.join('\nUNION ALL BY NAME\n'), params };
}

function cleanError(err: unknown, objects: StagedObject[]): string {
  let message = errorMessage(err).split('\n')[0] ?? 'unknown error';
  for (const o of objects) message = message.replaceAll(o.path, o.key);
  return message.replace(/^(Invalid Input|IO|Conversion|Binder) Error: /, '');
}

const DATA_ERROR =
  /^(Invalid Input Error|IO Error|Conversion Error|Out of Range Error|Invalid Error)/;

function isDataError(err: unknown): boolean {
  return DATA_ERROR.test(errorMessage(err));
}

/** Read and aggregate a batch into ct_fine (see sql/aggregate_batch.sql). */
async function aggregate(db: Db, objects: StagedObject[]): Promise<void> {
  const { text, params } = recordSource(objects);
  await db.exec(sql('aggregate_batch').replace('{{records}}', text), params);
}

const WRONG_SHAPE =
  'wrong shape: expected a {"Records": [...]} object or an array of CloudTrail records';

/**
 * Ingest one batch of staged objects. Objects are accepted or rejected whole; accepted ones
 * are aggregated and recorded as ok in the ledger in the same transaction. A batch DuckDB
 * cannot read is halved until the unreadable objects are isolated and rejected with their
 * own error; the readable parts are ingested as they are found.
 */
export function ingestLogBatch(ctx: BatchContext, objects: StagedObject[]): Promise<BatchResult> {
  // A batch spans many statements over connection-scoped tables (ct_agg, ct_event_map, ...),
  // so two batches on one connection must not interleave: they queue (LookupEvents ingests
  // account-regions concurrently; imports and S3 may share the connection too).
  const key = ctx.db.connection;
  const previous = batchQueues.get(key) ?? Promise.resolve();
  const next = previous.then(() => ingestBatchNow(ctx, objects));
  const settled = next.then(
    () => undefined,
    () => undefined,
  );
  batchQueues.set(key, settled);
  void settled.then(() => {
    if (batchQueues.get(key) === settled) batchQueues.delete(key);
  });
  return next;
}

const batchQueues = new WeakMap<object, Promise<void>>();

async function ingestBatchNow(ctx: BatchContext, objects: StagedObject[]): Promise<BatchResult> {
  const result: BatchResult = {
    objectsOk: 0,
    objectsRejected: 0,
    records: 0,
    unattributed: 0,
    unmappedCalls: 0,
    skipped: 0,
    rejected: [],
  };
  // The ledger is checked here too, so no caller can count an object twice.
  const pending = await pendingObjects(ctx.db, ctx.integrationId, ctx.source, objects);
  result.skipped = objects.length - pending.length;
  await ingestChunk(ctx, pending, result);
  return result;
}

async function ingestChunk(
  ctx: BatchContext,
  objects: StagedObject[],
  result: BatchResult,
): Promise<void> {
  if (objects.length === 0) return;
  try {
    await aggregate(ctx.db, objects);
  } catch (err) {
    // Only errors about the data reject objects; a bug in our SQL must fail loudly instead of
    // rejecting every object.
    if (!isDataError(err)) throw err;
    if (objects.length === 1) {
      await rejectObjects(ctx, [{ object: objects[0]!, error: cleanError(err, objects) }], result);
      return;
    }
    const mid = Math.ceil(objects.length / 2);
    await ingestChunk(ctx, objects.slice(0, mid), result);
    await ingestChunk(ctx, objects.slice(mid), result);
    return;
  }
  try {
    // Valid JSON that is not CloudTrail shows up as records without any CloudTrail field: such
    // objects are rejected and the batch aggregated again without them (rare, so exactness
    // wins over speed here).
    const wrong = await ctx.db.all<{ object_path: string }>(
      'SELECT object_path FROM ct_fine WHERE is_object AND shaped = 0',
    );
    if (wrong.length) {
      const bad = new Set(wrong.map((w) => w.object_path));
      await rejectObjects(
        ctx,
        objects.filter((o) => bad.has(o.path)).map((object) => ({ object, error: WRONG_SHAPE })),
        result,
      );
      await ingestChunk(
        ctx,
        objects.filter((o) => !bad.has(o.path)),
        result,
      );
      return;
    }
    await mergeAggregates(ctx, objects, result);
  } finally {
    await ctx.db.exec('DROP TABLE IF EXISTS ct_fine');
  }
}

interface LedgerEntry {
  object: StagedObject;
  status: 'ok' | 'rejected';
  records: number | null;
  error: string | null;
}

async function rejectObjects(
  ctx: BatchContext,
  rejections: Array<{ object: StagedObject; error: string }>,
  result: BatchResult,
): Promise<void> {
  if (rejections.length === 0) return;
  await ctx.db.transaction((tx) =>
    recordObjects(
      tx,
      ctx,
      rejections.map((r) => ({
        object: r.object,
        status: 'rejected',
        records: null,
        error: r.error,
      })),
    ),
  );
  result.objectsRejected += rejections.length;
  result.rejected.push(...rejections.map((r) => ({ key: r.object.key, error: r.error })));
}

async function mergeAggregates(
  ctx: BatchContext,
  objects: StagedObject[],
  result: BatchResult,
): Promise<void> {
  const base = { integration_id: ctx.integrationId, source: ctx.source };
  await ctx.db.transaction(async (tx) => {
    const pairs = await tx.all<{
      event_source: string;
      event_name: string;
      calls: number;
      first_seen: string;
      last_seen: string;
    }>(sql('batch_pairs'));
    await tx.exec(
      'CREATE OR REPLACE TEMP TABLE ct_event_map (event_source VARCHAR, event_name VARCHAR, action VARCHAR)',
    );
    await tx.exec(
      `CREATE OR REPLACE TEMP TABLE ct_unmapped (event_source VARCHAR, event_name VARCHAR, status VARCHAR,
         reason VARCHAR, calls BIGINT, first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ)`,
    );
    const mapped = pairs.map((p) => ({
      pair: p,
      mapping: ctx.mapper(p.event_source, p.event_name),
    }));
    await tx.append('ct_event_map', (a) => {
      for (const { pair, mapping } of mapped) {
        if (mapping.status !== 'mapped') continue;
        for (const action of mapping.actions) {
          a.appendVarchar(pair.event_source);
          a.appendVarchar(pair.event_name);
          a.appendVarchar(action);
          a.endRow();
        }
      }
    });
    for (const { pair, mapping } of mapped) {
      if (mapping.status === 'mapped') continue;
      if (mapping.status === 'unmapped') result.unmappedCalls += pair.calls;
      await tx.exec(
        'INSERT INTO ct_unmapped VALUES ($s, $n, $status, $reason, $calls, $first, $last)',
        {
          s: pair.event_source,
          n: pair.event_name,
          status: mapping.status,
          reason: mapping.reason ?? mapping.status,
          calls: pair.calls,
          first: pair.first_seen,
          last: pair.last_seen,
        },
      );
    }
    await tx.exec(sql('merge_usage'), base);
    await tx.exec(sql('merge_identity'), { integration_id: ctx.integrationId });
    await tx.exec(sql('merge_logins'), { integration_id: ctx.integrationId });
    await tx.exec(sql('prune_logins'), { integration_id: ctx.integrationId });
    await tx.exec(sql('merge_coverage'), { ...base, data_events: ctx.dataEvents });
    await tx.exec(sql('merge_unmapped'), { integration_id: ctx.integrationId });

    const perObject = await tx.all<{ object_path: string; records: number; unattributed: number }>(
      'SELECT object_path, calls AS records, unattributed FROM ct_fine WHERE is_object',
    );
    const counts = new Map(perObject.map((r) => [r.object_path, r]));
    let records = 0;
    let unattributed = 0;
    const entries: LedgerEntry[] = objects.map((object) => {
      const c = counts.get(object.path);
      records += c?.records ?? 0;
      unattributed += c?.unattributed ?? 0;
      return { object, status: 'ok', records: c?.records ?? 0, error: null };
    });
    await recordObjects(tx, ctx, entries);
    result.records += records;
    result.unattributed += unattributed;
    result.objectsOk += objects.length;
  });
}

/** Record a batch's objects in the ledger with one statement (inside the caller's transaction). */
async function recordObjects(tx: Db, ctx: BatchContext, entries: LedgerEntry[]): Promise<void> {
  await tx.exec(
    `CREATE OR REPLACE TEMP TABLE ct_ledger (object_key VARCHAR, etag VARCHAR, size_bytes BIGINT,
       account_id VARCHAR, region VARCHAR, day VARCHAR, records BIGINT, status VARCHAR, error VARCHAR)`,
  );
  await tx.append('ct_ledger', (a) => {
    const text = (value: string | null | undefined) =>
      value == null ? a.appendNull() : a.appendVarchar(value);
    const int = (value: number | null | undefined) =>
      value == null ? a.appendNull() : a.appendBigInt(BigInt(value));
    for (const { object: o, status, records, error } of entries) {
      text(o.key);
      text(o.etag);
      int(o.sizeBytes);
      text(o.accountId);
      text(o.region);
      text(o.day);
      int(records);
      text(status);
      text(error);
      a.endRow();
    }
  });
  await tx.exec(sql('record_objects'), {
    integration_id: ctx.integrationId,
    source: ctx.source,
    assessment_id: ctx.assessmentId,
  });
  await tx.exec('DROP TABLE ct_ledger');
}

/** The objects not yet ingested ok (new keys, changed etags, and earlier rejections to retry). */
export async function pendingObjects<T extends { key: string; etag?: string | null }>(
  db: Db,
  integrationId: string,
  source: string,
  objects: T[],
): Promise<T[]> {
  if (objects.length === 0) return [];
  const done = await db.all<{ object_key: string; etag: string | null }>(
    `SELECT object_key, etag FROM ingest_object
     WHERE integration_id = $integration_id AND source = $source AND status = 'ok'
       AND object_key IN (SELECT unnest($keys))`,
    { integration_id: integrationId, source, keys: listValue(objects.map((o) => o.key)) },
  );
  const seen = new Map(done.map((d) => [d.object_key, d.etag]));
  return objects.filter((o) => !seen.has(o.key));
}
