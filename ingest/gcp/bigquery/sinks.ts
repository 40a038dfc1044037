import type {
  BigQuery,
  Dataset,
  DatasetsResponse,
  GetTablesResponse,
  Table,
} from '@google-cloud/bigquery';
import { IngestError } from '../../../lib/errors.ts';
import { collectPages } from '../../paginate.ts';
import type { GcpApi } from '../api.ts';

/**
 * The audit-log sink datasets: BigQuery datasets labelled `<label>=true`, and in each the
 * Admin Activity and Data Access tables, partitioned (one table) or date-sharded
 * (`<table>_YYYYMMDD`). A missing Data Access table means Data Access logs do not reach the
 * sink, so read permissions are unobservable rather than unused.
 */

export type LogType = 'activity' | 'data_access';

export const AUDIT_TABLES: Record<LogType, string> = {
  activity: 'cloudaudit_googleapis_com_activity',
  data_access: 'cloudaudit_googleapis_com_data_access',
};

export interface SinkTable {
  logType: LogType;
  /** Base table name, without a shard suffix. */
  tableId: string;
  sharded: boolean;
  /** `YYYYMMDD` of each shard (sharded tables only), sorted. */
  shards: string[];
}

export interface SinkDataset {
  projectId: string;
  datasetId: string;
  location: string;
  tables: SinkTable[];
}

interface ListedTable {
  id: string;
  partitioned: boolean;
}

// --- get -------------------------------------------------------------------------------------

/** Datasets of `projectId` carrying `<label>=true`, with their location. */
export async function getLabelledDatasets(
  bq: BigQuery,
  label: string,
): Promise<Array<{ datasetId: string; location: string | undefined }>> {
  const datasets = await collectPages<DatasetsResponse, Dataset>(
    (pageToken) =>
      bq.getDatasets({
        filter: `labels.${label}:true`,
        autoPaginate: false,
        maxResults: 1000,
        ...(pageToken ? { pageToken } : {}),
      }),
    ([, next]) => next?.pageToken,
    ([page]) => page,
  );
  return datasets.map((d) => {
    if (!d.id)
      throw new IngestError('datasets.list returned a dataset without id', {
        call: 'datasets.list',
      });
    const location = (d.metadata as { location?: unknown } | undefined)?.location;
    return { datasetId: d.id, location: typeof location === 'string' ? location : undefined };
  });
}

export async function getTables(bq: BigQuery, datasetId: string): Promise<ListedTable[]> {
  const tables = await collectPages<GetTablesResponse, Table>(
    (pageToken) =>
      bq.dataset(datasetId).getTables({
        autoPaginate: false,
        maxResults: 1000,
        ...(pageToken ? { pageToken } : {}),
      }),
    ([, next]) => next?.pageToken,
    ([page]) => page,
  );
  return tables.map((t) => {
    if (!t.id)
      throw new IngestError('tables.list returned a table without id', { call: 'tables.list' });
    const metadata = t.metadata as { timePartitioning?: unknown } | undefined;
    return { id: t.id, partitioned: Boolean(metadata?.timePartitioning) };
  });
}

/** Sink datasets of one project. */
export async function getSinkDatasets(
  api: GcpApi,
  projectId: string,
  label: string,
  location: string | undefined,
): Promise<SinkDataset[]> {
  const bq = api.clients.bigQuery(projectId);
  const out: SinkDataset[] = [];
  for (const d of await getLabelledDatasets(bq, label)) {
    const tables = classifyTables(await getTables(bq, d.datasetId));
    const where = location ?? d.location;
    if (!where) {
      throw new IngestError(
        `dataset ${projectId}.${d.datasetId} has no location; set auditSink.location`,
        {
          call: 'datasets.list',
        },
      );
    }
    out.push({ projectId, datasetId: d.datasetId, location: where, tables });
  }
  return out.sort((a, b) => a.datasetId.localeCompare(b.datasetId));
}

// --- transform -------------------------------------------------------------------------------

const SHARD = /^(.+)_(\d{8})$/;

/**
 * Pure: the audit tables among a dataset's tables. A base name present as its own table is
 * read as one (partitioned) table; `<base>_YYYYMMDD` tables as shards. A dataset switched from
 * shards to partitioned tables keeps both, and both are read (their days do not overlap).
 */
export function classifyTables(tables: readonly ListedTable[]): SinkTable[] {
  const out: SinkTable[] = [];
  for (const logType of ['activity', 'data_access'] as const) {
    const base = AUDIT_TABLES[logType];
    if (tables.some((t) => t.id === base)) {
      out.push({ logType, tableId: base, sharded: false, shards: [] });
    }
    const shards = tables
      .map((t) => SHARD.exec(t.id))
      .filter((m): m is RegExpExecArray => m !== null && m[1] === base)
      .map((m) => m[2] as string)
      .sort();
    if (shards.length > 0) out.push({ logType, tableId: base, sharded: true, shards });
  }
  return out;
}
