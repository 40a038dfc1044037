import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listValue } from '@duckdb/node-api';
import { BigQuery, type Job, type Query } from '@google-cloud/bigquery';
import { z } from 'zod';
import { IngestError } from '../../../lib/errors.ts';
import { timeSlicer } from '../../../lib/event-loop.ts';
import type { Db } from '../../../model/db.ts';
import { insertRows } from '../../../model/insert.ts';
import { isGcpPermission } from '../../../scoring/catalog/index.ts';
import { paginate } from '../../paginate.ts';
import { describeGcpError } from '../clients.ts';
import { callerMember } from '../principals.ts';
import type { SinkDataset } from './sinks.ts';

/**
 * Usage pushed down to BigQuery: one aggregation query per window over the sink's audit tables
 * returns principal × permission × day rows (never raw entries). The query text is the
 * `gcp-usage-aggregate v2` contract (fixtures/FORMAT.md, "BigQuery"). A dry run reports the
 * bytes first; over the configured ceiling the query is not run.
 *
 * Incremental by day through the ingest_object ledger: a day loaded two or more days after it
 * ended is final and never queried again; later days are re-queried and replaced (usage,
 * identities, coverage and the ledger rows of those days are deleted and written afresh in one
 * transaction), so nothing counts twice. Entries without authorizationInfo are counted per day
 * in the ledger (`…/<day>#unmapped/(no permission)`) and summed into unmapped_event from there,
 * for the same reason.
 */

export const BIGQUERY_SOURCE = 'bigquery';
/** Cloud Logging may deliver entries late; a day is final this many days after it ended. */
export const LATE_DELIVERY_DAYS = 2;

const SQL_DIR = join(import.meta.dirname, 'sql');
const sql = (name: string): string => readFileSync(join(SQL_DIR, name), 'utf8').trimEnd();

// --- the query -------------------------------------------------------------------------------

const PROJECT_ID = /^([a-z][a-z0-9.-]*:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const DATASET_ID = /^[A-Za-z0-9_]{1,1024}$/;

/** `project.dataset.table`, checked: the only identifiers the query text ever takes. */
export function bigQueryTableRef(projectId: string, datasetId: string, tableId: string): string {
  if (!PROJECT_ID.test(projectId))
    throw new IngestError(`invalid BigQuery project id: ${projectId}`);
  if (!DATASET_ID.test(datasetId))
    throw new IngestError(`invalid BigQuery dataset id: ${datasetId}`);
  if (!DATASET_ID.test(tableId)) throw new IngestError(`invalid BigQuery table id: ${tableId}`);
  return `${projectId}.${datasetId}.${tableId}`;
}

/** The aggregate query over every audit table of the given sink datasets (same location). */
export function aggregateQuery(sinks: readonly SinkDataset[]): string {
  const branches: string[] = [];
  for (const sink of sinks) {
    for (const table of sink.tables) {
      const template = sql(
        table.sharded ? 'entries-sharded.bigquery.sql' : 'entries-partitioned.bigquery.sql',
      );
      branches.push(
        template
          .replace('{{table}}', bigQueryTableRef(sink.projectId, sink.datasetId, table.tableId))
          .replace('{{log_type}}', table.logType),
      );
    }
  }
  if (branches.length === 0) throw new IngestError('no audit table to query');
  return sql('usage-aggregate.bigquery.sql').replace(
    '{{entries}}',
    branches.join('\n  UNION ALL\n'),
  );
}

export interface DayRange {
  /** First day, inclusive. */
  start: string;
  /** Last day, inclusive. */
  end: string;
}

function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/** Named parameters of the query for a range of days. */
export function aggregateParams(range: DayRange, sharded: boolean): Record<string, unknown> {
  return {
    start_day: BigQuery.date(range.start),
    end_day: BigQuery.date(addDays(range.end, 1)),
    ...(sharded
      ? { start_suffix: range.start.replaceAll('-', ''), end_suffix: range.end.replaceAll('-', '') }
      : {}),
  };
}

export function daysOf(range: DayRange): string[] {
  const out: string[] = [];
  for (let d = range.start; d <= range.end; d = addDays(d, 1)) out.push(d);
  return out;
}

/** Consecutive days grouped into ranges (one query each). */
export function contiguousRanges(days: readonly string[]): DayRange[] {
  const sorted = [...new Set(days)].sort();
  const ranges: DayRange[] = [];
  for (const day of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && addDays(last.end, 1) === day) last.end = day;
    else ranges.push({ start: day, end: day });
  }
  return ranges;
}

/** Ledger key prefix for a set of sink datasets: a new or removed dataset re-reads every day. */
export function sinkSetKey(sinks: readonly SinkDataset[]): string {
  return `${BIGQUERY_SOURCE}/${sinks
    .map((s) => `${s.projectId}.${s.datasetId}`)
    .sort()
    .join('+')}`;
}

// --- get -------------------------------------------------------------------------------------

export interface QueryTarget {
  bq: BigQuery;
  location: string;
}

/** Bytes the query would process (`totalBytesProcessed` of a dry run). */
export async function dryRunBytes(
  target: QueryTarget,
  query: string,
  params: Record<string, unknown>,
): Promise<number> {
  const [, response] = await target.bq.createQueryJob({
    query,
    params,
    location: target.location,
    dryRun: true,
  } as Query);
  const bytes = Number(
    (response as { statistics?: { totalBytesProcessed?: unknown } } | undefined)?.statistics
      ?.totalBytesProcessed,
  );
  if (!Number.isFinite(bytes)) {
    throw new IngestError('the BigQuery dry run reported no totalBytesProcessed', {
      call: 'jobs.insert',
    });
  }
  return bytes;
}

const RowSchema = z.object({
  principal_email: z.string().nullable(),
  delegate_email: z.string().nullable(),
  permission: z.string().nullable(),
  day: z.object({ value: z.string().regex(/^\d{4}-\d{2}-\d{2}$/) }),
  project_id: z.string().nullable(),
  log_type: z.enum(['activity', 'data_access']),
  calls: z.number().int().nonnegative(),
  denied: z.number().int().nonnegative(),
  first_seen: z.object({ value: z.string() }),
  last_seen: z.object({ value: z.string() }),
  last_caller_ip: z.string().nullable(),
  last_user_agent: z.string().nullable(),
});

export type AggregateRow = z.infer<typeof RowSchema>;

export interface StageRow {
  principal_id: string | null;
  identity: string | null;
  identity_kind: 'human' | 'machine' | null;
  action: string | null;
  action_status: 'mapped' | 'no-permission' | 'unmapped';
  day: string;
  project_id: string | null;
  log_type: string;
  calls: number;
  denied: number;
  first_seen: string;
  last_seen: string;
  last_caller_ip: string | null;
  last_user_agent: string | null;
}

/** Pure: a BigQuery result row (as the client parses it) → a stage row. */
export function toStageRow(raw: unknown): StageRow {
  const parsed = RowSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new IngestError(
      `the usage aggregate returned an unexpected row${issue ? ` (${issue.path.join('.')}: ${issue.message})` : ''}`,
      { call: 'jobs.getQueryResults' },
    );
  }
  const r = parsed.data;
  const email = r.principal_email || null;
  const member = email ? callerMember(email) : null;
  // An impersonated service account acts for the first party of the delegation chain: that
  // person (or workload) is the identity, the service account stays the principal.
  const delegate = member ? r.delegate_email || null : null;
  const identity = delegate ?? email;
  const identityMember = delegate ? callerMember(delegate) : member;
  let action_status: StageRow['action_status'] = 'mapped';
  if (r.permission === null) action_status = 'no-permission';
  else if (!isGcpPermission(r.permission)) action_status = 'unmapped';
  return {
    principal_id: member,
    identity,
    identity_kind: identityMember
      ? identityMember.startsWith('user:')
        ? 'human'
        : 'machine'
      : null,
    action: r.permission,
    action_status,
    day: r.day.value,
    project_id: r.project_id,
    log_type: r.log_type,
    calls: r.calls,
    denied: r.denied,
    first_seen: r.first_seen.value,
    last_seen: r.last_seen.value,
    last_caller_ip: r.last_caller_ip,
    last_user_agent: r.last_user_agent,
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Run a BigQuery call; its failure becomes an IngestError naming the call (details.call). */
async function named<T>(callName: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof IngestError) throw err;
    throw new IngestError(describeGcpError(err), { call: callName }, { cause: err });
  }
}

export interface RunOptions {
  /** First poll delay; doubled up to 5 s. */
  pollMs?: number;
  /** Give up waiting for the job after this long. */
  timeoutMs?: number;
  pageSize?: number;
}

async function waitForJob(job: Job, options: RunOptions): Promise<Record<string, unknown>> {
  const deadline = Date.now() + (options.timeoutMs ?? 60 * 60_000);
  for (let i = 0; ; i++) {
    const [response] = await job.getMetadata();
    const metadata = response as Record<string, unknown>;
    const status = metadata.status as
      | { state?: string; errorResult?: { reason?: string; message?: string } }
      | undefined;
    if (status?.state === 'DONE') {
      if (status.errorResult) {
        throw new IngestError(
          `BigQuery job ${job.id} failed: ${status.errorResult.reason ?? 'error'}: ${status.errorResult.message ?? 'no message'}`,
          { call: 'jobs.get', jobId: job.id, reason: status.errorResult.reason },
        );
      }
      return metadata;
    }
    if (Date.now() > deadline) {
      throw new IngestError(`BigQuery job ${job.id} did not finish in time`, { call: 'jobs.get' });
    }
    await sleep(Math.min((options.pollMs ?? 250) * 2 ** i, 5000));
  }
}

/**
 * Run the query and hand its rows to `onPage` page by page (so a large answer is never held in
 * memory at once). Returns the bytes the job processed.
 */
export async function runAggregate(
  target: QueryTarget,
  query: string,
  params: Record<string, unknown>,
  onPage: (rows: StageRow[]) => Promise<void>,
  options: RunOptions = {},
): Promise<{ bytesProcessed: number; rows: number }> {
  const [job] = await named('jobs.insert', () =>
    target.bq.createQueryJob({ query, params, location: target.location }),
  );
  const metadata = await named('jobs.get', () => waitForJob(job, options));
  let rows = 0;
  const pages = paginate(
    (pageToken) =>
      job.getQueryResults({
        autoPaginate: false,
        maxResults: options.pageSize ?? 20_000,
        ...(pageToken ? { pageToken } : {}),
      }) as unknown as Promise<[unknown[], { pageToken?: string } | null]>,
    ([, next]) => next?.pageToken,
  );
  for (;;) {
    const next = await named('jobs.getQueryResults', () => pages.next());
    if (next.done) break;
    // A page is up to 20,000 rows: convert them in slices so API requests get in between.
    const staged: StageRow[] = [];
    const breathe = timeSlicer();
    for (const raw of next.value[0]) {
      await breathe();
      staged.push(toStageRow(raw));
    }
    rows += staged.length;
    await onPage(staged);
  }
  const statistics = metadata.statistics as { totalBytesProcessed?: unknown } | undefined;
  return { bytesProcessed: Number(statistics?.totalBytesProcessed ?? 0), rows };
}

// --- load ------------------------------------------------------------------------------------

/** Start a fresh stage table for one range. */
export async function createStage(db: Db): Promise<void> {
  await db.exec(sql('stage.sql'));
}

const STAGE_COLUMNS = [
  'principal_id',
  'identity',
  'identity_kind',
  'action',
  'action_status',
  'day',
  'project_id',
  'log_type',
  'calls',
  'denied',
  'first_seen',
  'last_seen',
  'last_caller_ip',
  'last_user_agent',
] as const satisfies ReadonlyArray<keyof StageRow>;

/**
 * Append rows in stage.sql's column order. Values go in as text or integers and DuckDB casts
 * them to DATE / TIMESTAMPTZ (microseconds kept): about twice as fast as the generic insert,
 * which matters on a first 90-day load of millions of aggregate rows.
 */
export async function stageRows(db: Db, rows: StageRow[]): Promise<void> {
  const breathe = timeSlicer();
  await db.append('gcp_bq_stage', async (a) => {
    for (const row of rows) {
      await breathe();
      for (const column of STAGE_COLUMNS) {
        const value = row[column];
        if (value === null) a.appendNull();
        else if (typeof value === 'number') a.appendBigInt(BigInt(value));
        else a.appendVarchar(value);
      }
      a.endRow();
    }
  });
}

export async function dropStage(db: Db): Promise<void> {
  await db.exec('DROP TABLE IF EXISTS gcp_bq_stage');
}

export interface LedgerContext {
  integrationId: string;
  assessmentId: string;
  /** Ledger key prefix ({@link sinkSetKey}). */
  sinkSet: string;
  /** Project of the (first) sink dataset. */
  sinkProjectId: string;
  location: string;
  /** When this load happens (ledger time, decides when a day becomes final). */
  now: Date;
}

/** Window days still to query: never loaded ok, or loaded before their late-delivery margin ended. */
export async function daysToQuery(
  db: Db,
  ctx: Pick<LedgerContext, 'integrationId' | 'sinkSet'>,
  window: DayRange,
): Promise<string[]> {
  const days = daysOf(window);
  const final = await db.all<{ day: string }>(
    `SELECT strftime(day, '%Y-%m-%d') AS day FROM ingest_object
     WHERE integration_id = $integration_id AND source = $source AND status = 'ok'
       AND object_key IN (SELECT unnest($keys))
       AND CAST(ingested_at AS DATE) >= day + INTERVAL ${LATE_DELIVERY_DAYS + 1} DAY`,
    {
      integration_id: ctx.integrationId,
      source: BIGQUERY_SOURCE,
      keys: listValue(days.map((d) => `${ctx.sinkSet}/${d}`)),
    },
  );
  const done = new Set(final.map((f) => f.day));
  return days.filter((d) => !done.has(d));
}

export type LoadTotals = {
  calls: number;
  usageRows: number;
  /** Checks of a permission with no principal named (cannot be attributed). */
  unattributed: number;
  /** Entries without authorizationInfo (see unmapped_event). */
  noPermission: number;
};

/**
 * Replace the days of `range` with the staged rows: usage, identities, coverage, ledger and
 * the unmapped totals, in one transaction.
 */
export async function loadStagedRange(
  db: Db,
  ctx: LedgerContext,
  range: DayRange,
  window: DayRange,
  accounts: {
    /** Account of entries on no project (organization or folder level). */
    fallback: string;
    /** The numeric organization id, for an organization integration. */
    organization: string | null;
  },
): Promise<LoadTotals> {
  return db.transaction(async (tx) => {
    const base = { integration_id: ctx.integrationId, start: range.start, end: range.end };
    await tx.exec(
      `DELETE FROM usage_daily WHERE integration_id = $integration_id AND source = 'bigquery'
         AND day BETWEEN $start::DATE AND $end::DATE`,
      base,
    );
    await tx.exec(
      `DELETE FROM identity_usage WHERE integration_id = $integration_id AND identity_type = 'gcp'
         AND day BETWEEN $start::DATE AND $end::DATE`,
      base,
    );
    await tx.exec(
      `DELETE FROM log_coverage WHERE integration_id = $integration_id AND source = 'bigquery'
         AND day BETWEEN $start::DATE AND $end::DATE`,
      base,
    );
    await tx.exec(
      `DELETE FROM ingest_object WHERE integration_id = $integration_id AND source = 'bigquery'
         AND day BETWEEN $start::DATE AND $end::DATE`,
      base,
    );
    const merge = { integration_id: ctx.integrationId, fallback_account: accounts.fallback };
    await tx.exec(sql('merge_usage.sql'), merge);
    await tx.exec(sql('merge_identity.sql'), { integration_id: ctx.integrationId });
    await tx.exec(sql('merge_coverage.sql'), merge);

    const totals = await tx.all<{ day: string; event_name: string | null; records: number }>(
      sql('day_totals.sql'),
    );
    const perDay = new Map<string, number>();
    const ledger: Array<Record<string, unknown>> = [];
    for (const t of totals) {
      if (t.event_name === null) perDay.set(t.day, t.records);
      else
        ledger.push(
          ledgerRow(ctx, `${ctx.sinkSet}/${t.day}#unmapped/${t.event_name}`, t.day, t.records),
        );
    }
    for (const day of daysOf(range)) {
      ledger.push(ledgerRow(ctx, `${ctx.sinkSet}/${day}`, day, perDay.get(day) ?? 0));
    }
    await insertRows(tx, 'ingest_object', ledger);

    const coverage = {
      integration_id: ctx.integrationId,
      window_start: window.start,
      window_end: window.end,
    };
    await tx.exec(sql('fill_coverage.sql'), coverage);
    await tx.exec(sql('carry_data_access.sql'), { integration_id: ctx.integrationId });
    if (accounts.organization) {
      await tx.exec(sql('organization_coverage.sql'), {
        integration_id: ctx.integrationId,
        organization_account: accounts.organization,
        start: range.start,
        end: range.end,
      });
    }
    await tx.exec(
      `DELETE FROM unmapped_event WHERE integration_id = $integration_id AND event_source = 'gcp'
         AND event_name NOT IN (
           SELECT split_part(object_key, '#unmapped/', 2) FROM ingest_object
           WHERE integration_id = $integration_id AND source = 'bigquery' AND status = 'ok'
             AND object_key LIKE '%#unmapped/%')`,
      { integration_id: ctx.integrationId },
    );
    await tx.exec(sql('merge_unmapped.sql'), { integration_id: ctx.integrationId });

    const sums = await tx.one<LoadTotals>(
      `SELECT coalesce(sum(calls), 0) AS calls,
              count(*) FILTER (WHERE action_status = 'mapped' AND principal_id IS NOT NULL) AS "usageRows",
              coalesce(sum(calls) FILTER (WHERE action_status = 'mapped' AND principal_id IS NULL), 0) AS unattributed,
              coalesce(sum(calls) FILTER (WHERE action_status = 'no-permission'), 0) AS "noPermission"
       FROM gcp_bq_stage`,
    );
    if (!sums) throw new IngestError('no totals for the staged usage');
    return sums;
  });
}

function ledgerRow(
  ctx: LedgerContext,
  key: string,
  day: string,
  records: number | null,
  status: 'ok' | 'rejected' = 'ok',
  error: string | null = null,
): Record<string, unknown> {
  return {
    integration_id: ctx.integrationId,
    source: BIGQUERY_SOURCE,
    object_key: key,
    etag: null,
    size_bytes: null,
    account_id: ctx.sinkProjectId,
    region: ctx.location,
    day,
    records,
    status,
    error,
    assessment_id: ctx.assessmentId,
    ingested_at: ctx.now.toISOString(),
  };
}

/**
 * Record the days of a range that could not be loaded (query refused, failed or over the
 * ceiling) as rejected, so the ledger says why they are missing; days loaded earlier keep
 * their rows and their usage.
 */
export async function recordRejectedRange(
  db: Db,
  ctx: LedgerContext,
  range: DayRange,
  error: string,
): Promise<void> {
  await db.transaction(async (tx) => {
    const loaded = await tx.all<{ day: string }>(
      `SELECT strftime(day, '%Y-%m-%d') AS day FROM ingest_object
       WHERE integration_id = $integration_id AND source = 'bigquery' AND status = 'ok'
         AND object_key = $prefix || '/' || strftime(day, '%Y-%m-%d')
         AND day BETWEEN $start::DATE AND $end::DATE`,
      {
        integration_id: ctx.integrationId,
        prefix: ctx.sinkSet,
        start: range.start,
        end: range.end,
      },
    );
    const keep = new Set(loaded.map((l) => l.day));
    const days = daysOf(range).filter((d) => !keep.has(d));
    if (days.length === 0) return;
    await tx.exec(
      `DELETE FROM ingest_object WHERE integration_id = $integration_id AND source = 'bigquery'
         AND object_key IN (SELECT unnest($keys))`,
      {
        integration_id: ctx.integrationId,
        keys: listValue(days.map((d) => `${ctx.sinkSet}/${d}`)),
      },
    );
    await insertRows(
      tx,
      'ingest_object',
      days.map((d) => ledgerRow(ctx, `${ctx.sinkSet}/${d}`, d, null, 'rejected', error)),
    );
  });
}
