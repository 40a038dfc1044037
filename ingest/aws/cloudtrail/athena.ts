import {
  type AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { IngestError } from '../../../lib/errors.ts';
import type { Db } from '../../../model/db.ts';
import { paginate } from '../../paginate.ts';
import type { EventMapper } from './aggregate.ts';

/**
 * Usage pushed down to Athena: one aggregation query over the organization's CloudTrail
 * table returns only principal × event × day rows, so organizations too large for one
 * machine are assessed without moving their logs. The query text is a contract with the
 * fixture cloud (fixtures/FORMAT.md, "Athena"). Days are replaced, not added to, so a re-run
 * over the same days never double counts.
 */

export const ATHENA_SOURCE = 'athena';

export interface AthenaTable {
  database: string;
  table: string;
  workgroup: string;
  outputLocation?: string | undefined;
}

const DENIED =
  "'AccessDenied','AccessDeniedException','UnauthorizedOperation','Client.UnauthorizedOperation'";

function quoteAthenaIdent(name: string): string {
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new IngestError(`invalid Athena identifier: ${name}`);
  return `"${name}"`;
}

/** The aggregation query for days [start, endExclusive). */
export function usageQuery(table: AthenaTable, start: string, endExclusive: string): string {
  for (const d of [start, endExclusive]) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(d)) throw new IngestError(`invalid day: ${d}`);
  }
  return `-- access-discovery:usage-aggregate v1
SELECT coalesce(useridentity.sessioncontext.sessionissuer.arn, useridentity.arn) AS principal_arn,
       eventsource AS event_source, eventname AS event_name,
       substr(eventtime, 1, 10) AS day, recipientaccountid AS account_id,
       count(*) AS calls, count(errorcode) AS errors,
       count_if(errorcode IN (${DENIED})) AS denied,
       min(eventtime) AS first_seen, max(eventtime) AS last_seen
FROM ${quoteAthenaIdent(table.database)}.${quoteAthenaIdent(table.table)}
WHERE eventtime >= '${start}' AND eventtime < '${endExclusive}'
  AND useridentity.type IN ('IAMUser','AssumedRole','Root','FederatedUser')
GROUP BY 1, 2, 3, 4, 5`;
}

export interface AthenaUsageRow {
  principal_arn: string;
  event_source: string;
  event_name: string;
  day: string;
  account_id: string;
  calls: number;
  errors: number;
  denied: number;
  first_seen: string;
  last_seen: string;
}

// --- get -------------------------------------------------------------------------------------

export async function runAthenaQuery(
  client: AthenaClient,
  table: AthenaTable,
  query: string,
  options: { pollMs?: number; timeoutMs?: number } = {},
): Promise<{ rows: AthenaUsageRow[]; scannedBytes: number }> {
  const started = await client.send(
    new StartQueryExecutionCommand({
      QueryString: query,
      WorkGroup: table.workgroup,
      QueryExecutionContext: { Database: table.database },
      ResultConfiguration: table.outputLocation
        ? { OutputLocation: table.outputLocation }
        : undefined,
    }),
  );
  const id = started.QueryExecutionId;
  if (!id)
    throw new IngestError('Athena returned no query execution id', { call: 'StartQueryExecution' });
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
  let scannedBytes = 0;
  for (let i = 0; ; i++) {
    const exec = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    const state = exec.QueryExecution?.Status?.State;
    scannedBytes = Number(exec.QueryExecution?.Statistics?.DataScannedInBytes ?? 0);
    if (state === 'SUCCEEDED') break;
    if (state === 'FAILED' || state === 'CANCELLED') {
      throw new IngestError(
        `Athena query ${state.toLowerCase()}: ${exec.QueryExecution?.Status?.StateChangeReason ?? 'no reason given'}`,
        { call: 'GetQueryExecution', queryExecutionId: id },
      );
    }
    if (Date.now() > deadline) throw new IngestError(`Athena query ${id} did not finish in time`);
    await new Promise((r) => setTimeout(r, options.pollMs ?? Math.min(250 * 2 ** i, 5000)));
  }
  const rows: AthenaUsageRow[] = [];
  let header: string[] | undefined;
  for await (const page of paginate<GetQueryResultsCommandOutput>(
    (NextToken) =>
      client.send(
        new GetQueryResultsCommand({ QueryExecutionId: id, NextToken, MaxResults: 1000 }),
      ),
    (p) => p.NextToken,
  )) {
    header ??= page.ResultSet?.ResultSetMetadata?.ColumnInfo?.map((c) => c.Name ?? '');
    for (const r of page.ResultSet?.Rows ?? []) {
      const values = (r.Data ?? []).map((d) => d.VarCharValue ?? null);
      if (!header) throw new IngestError('Athena results have no column info');
      if (values[0] === header[0] && values[1] === header[1]) continue; // the header row
      const row = Object.fromEntries(header.map((h, i) => [h, values[i]])) as Record<
        string,
        string | null
      >;
      rows.push({
        principal_arn: row.principal_arn ?? '',
        event_source: row.event_source ?? '',
        event_name: row.event_name ?? '',
        day: row.day ?? '',
        account_id: row.account_id ?? '',
        calls: Number(row.calls),
        errors: Number(row.errors),
        denied: Number(row.denied),
        first_seen: row.first_seen ?? '',
        last_seen: row.last_seen ?? '',
      });
    }
  }
  return { rows, scannedBytes };
}

// --- load ------------------------------------------------------------------------------------

/**
 * Replace the usage of the given days with the query's rows, mapped to IAM actions, and record
 * the query in the ledger, in one transaction.
 */
export async function loadAthenaUsage(
  db: Db,
  ctx: {
    integrationId: string;
    assessmentId: string;
    mapper: EventMapper;
    /**
     * Accounts in scope. The query aggregates the whole trail; rows of other accounts (excluded
     * OUs or accounts, suspended ones) are left out, as the S3 path never lists their prefixes.
     */
    accounts?: ReadonlySet<string>;
  },
  window: { start: string; endExclusive: string },
  rows: AthenaUsageRow[],
): Promise<{ rows: number; calls: number; unmapped: number; outOfScope: number }> {
  let calls = 0;
  let unmapped = 0;
  let outOfScope = 0;
  await db.transaction(async (tx) => {
    await tx.exec(
      `DELETE FROM usage_daily WHERE integration_id = $i AND source = $s AND day >= $start::DATE AND day < $end::DATE`,
      { i: ctx.integrationId, s: ATHENA_SOURCE, start: window.start, end: window.endExclusive },
    );
    await tx.exec(
      `CREATE OR REPLACE TEMP TABLE athena_usage (principal_id VARCHAR, action VARCHAR, day DATE, account_id VARCHAR,
         calls BIGINT, errors BIGINT, denied BIGINT, first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ)`,
    );
    await tx.append('athena_usage', (a) => {
      for (const r of rows) {
        if (!r.principal_arn || !r.event_source || !r.event_name) continue;
        if (ctx.accounts && !ctx.accounts.has(r.account_id)) {
          outOfScope += r.calls;
          continue;
        }
        const mapping = ctx.mapper(r.event_source, r.event_name);
        calls += r.calls;
        if (mapping.status !== 'mapped') {
          if (mapping.status === 'unmapped') unmapped += r.calls;
          continue;
        }
        for (const action of mapping.actions) {
          a.appendVarchar(r.principal_arn);
          a.appendVarchar(action);
          a.appendVarchar(r.day);
          a.appendVarchar(r.account_id);
          a.appendBigInt(BigInt(r.calls));
          a.appendBigInt(BigInt(r.errors));
          a.appendBigInt(BigInt(r.denied));
          a.appendVarchar(r.first_seen);
          a.appendVarchar(r.last_seen);
          a.endRow();
        }
      }
    });
    await tx.exec(
      `INSERT INTO usage_daily BY NAME
       SELECT $i AS integration_id, principal_id, action, day, account_id, sum(calls) AS calls, sum(errors) AS errors,
              sum(denied) AS denied, min(first_seen) AS first_seen, max(last_seen) AS last_seen, $s AS source
       FROM athena_usage GROUP BY principal_id, action, day, account_id
       ON CONFLICT DO UPDATE SET calls = excluded.calls, errors = excluded.errors, denied = excluded.denied,
         first_seen = excluded.first_seen, last_seen = excluded.last_seen`,
      { i: ctx.integrationId, s: ATHENA_SOURCE },
    );
    await tx.exec(
      `INSERT INTO log_coverage BY NAME
       SELECT $i AS integration_id, account_id, 'all' AS region, day, $s AS source, false AS data_events,
              sum(calls) AS records
       FROM athena_usage GROUP BY account_id, day
       ON CONFLICT DO UPDATE SET records = excluded.records`,
      { i: ctx.integrationId, s: ATHENA_SOURCE },
    );
    await tx.exec(
      `INSERT INTO ingest_object (integration_id, source, object_key, records, status, assessment_id, ingested_at)
       VALUES ($i, $s, $key, $records, 'ok', $a, now())
       ON CONFLICT DO UPDATE SET records = excluded.records, status = 'ok', assessment_id = excluded.assessment_id,
         ingested_at = excluded.ingested_at`,
      {
        i: ctx.integrationId,
        s: ATHENA_SOURCE,
        key: `athena/${window.start}..${window.endExclusive}`,
        records: rows.length,
        a: ctx.assessmentId,
      },
    );
    await tx.exec('DROP TABLE athena_usage');
  });
  return { rows: rows.length, calls, unmapped, outOfScope };
}
