import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listValue } from '@duckdb/node-api';
import { errorMessage } from '../../../lib/errors.ts';
import type { Db } from '../../../model/db.ts';
import { RECORD_COLUMNS_MAP, WRAPPED_COLUMNS_MAP } from './columns.ts';

/**
 * CloudTrail aggregation: DuckDB reads a batch of staged log objects and aggregates them
 * straight into usage_daily, identity_usage, identity_login and log_coverage, and records
 * every object in the ingest_object ledger — all in one transaction, so a crash never leaves
 * half a batch counted and a re-run never counts an object twice. Events are never held as
 * JS objects; only the distinct (eventSource, eventName) pairs of a batch reach TypeScript,
 * for the event→action mapper.
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

async function stage(db: Db, objects: StagedObject[]): Promise<void> {
  const { text, params } = recordSource(objects);
  await db.exec(sql('stage_batch').replace('{{records}}', text), params);
}

const WRONG_SHAPE =
  'wrong shape: expected a {"Records": [...]} object or an array of CloudTrail records';

/**
 * Ingest one batch of staged objects. Objects are accepted or rejected whole; accepted ones
 * are aggregated and recorded as ok in the ledger in the same transaction. A batch DuckDB
 * cannot read is halved until the unreadable objects are isolated and rejected with their
 * own error; the readable parts are ingested as they are found.
 */
export async function ingestLogBatch(
  ctx: BatchContext,
  objects: StagedObject[],
): Promise<BatchResult> {
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
    await stage(ctx.db, objects);
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
    await aggregateStaged(ctx, objects, result);
  } finally {
    await ctx.db.exec('DROP TABLE IF EXISTS ct_batch');
  }
}

async function rejectObjects(
  ctx: BatchContext,
  rejections: Array<{ object: StagedObject; error: string }>,
  result: BatchResult,
): Promise<void> {
  if (rejections.length === 0) return;
  await ctx.db.transaction(async (tx) => {
    for (const r of rejections) await recordObject(tx, ctx, r.object, 'rejected', null, r.error);
  });
  result.objectsRejected += rejections.length;
  result.rejected.push(...rejections.map((r) => ({ key: r.object.key, error: r.error })));
}

async function aggregateStaged(
  ctx: BatchContext,
  objects: StagedObject[],
  result: BatchResult,
): Promise<void> {
  const { db } = ctx;
  // Valid JSON that is not CloudTrail shows up as all-NULL records.
  const wrong = await db.all<{ object_path: string }>(
    `SELECT object_path FROM ct_batch GROUP BY object_path
     HAVING count(*) FILTER (WHERE event_source IS NOT NULL OR event_name IS NOT NULL OR event_time IS NOT NULL) = 0`,
  );
  const bad = new Set(wrong.map((w) => w.object_path));
  const staged = objects.filter((o) => !bad.has(o.path));
  if (bad.size) {
    await db.exec('DELETE FROM ct_batch WHERE list_contains($bad, object_path)', {
      bad: listValue([...bad]),
    });
    await rejectObjects(
      ctx,
      objects.filter((o) => bad.has(o.path)).map((object) => ({ object, error: WRONG_SHAPE })),
      result,
    );
  }
  if (staged.length === 0) return;
  const base = { integration_id: ctx.integrationId, source: ctx.source };

  await db.transaction(async (tx) => {
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
      `SELECT object_path, count(*) AS records, count(*) FILTER (WHERE principal_id IS NULL) AS unattributed
       FROM ct_batch GROUP BY object_path`,
    );
    const counts = new Map(perObject.map((r) => [r.object_path, r]));
    let records = 0;
    let unattributed = 0;
    for (const o of staged) {
      const c = counts.get(o.path);
      records += c?.records ?? 0;
      unattributed += c?.unattributed ?? 0;
      await recordObject(tx, ctx, o, 'ok', c?.records ?? 0, null);
    }
    result.records += records;
    result.unattributed += unattributed;
    result.objectsOk += staged.length;
  });
}

async function recordObject(
  db: Db,
  ctx: BatchContext,
  o: StagedObject,
  status: 'ok' | 'rejected',
  records: number | null,
  error: string | null,
): Promise<void> {
  await db.exec(
    `INSERT INTO ingest_object (integration_id, source, object_key, etag, size_bytes, account_id, region, day,
                                records, status, error, assessment_id, ingested_at)
     VALUES ($integration_id, $source, $key, $etag, $size, $account, $region, $day::DATE, $records, $status, $error,
             $assessment_id, now())
     ON CONFLICT DO UPDATE SET etag = excluded.etag, size_bytes = excluded.size_bytes, records = excluded.records,
       status = excluded.status, error = excluded.error, assessment_id = excluded.assessment_id,
       ingested_at = excluded.ingested_at`,
    {
      integration_id: ctx.integrationId,
      source: ctx.source,
      key: o.key,
      etag: o.etag ?? null,
      size: o.sizeBytes ?? null,
      account: o.accountId ?? null,
      region: o.region ?? null,
      day: o.day ?? null,
      records,
      status,
      error,
      assessment_id: ctx.assessmentId,
    },
  );
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
       AND list_contains($keys, object_key)`,
    { integration_id: integrationId, source, keys: listValue(objects.map((o) => o.key)) },
  );
  const seen = new Map(done.map((d) => [d.object_key, d.etag]));
  return objects.filter((o) => !seen.has(o.key));
}
