import { DatabaseError } from '../lib/errors.ts';
import type { Db, Row } from '../model/db.ts';
import { type CompiledFilter, filterToSql } from './filter/index.ts';
import { ensurePrincipalList, principalView } from './principal-list.ts';
import type { ScopeEntry } from './scope.ts';
import { fillSql, loadSql } from './sql.ts';

/** Sortable columns of the principals list (whitelist: the sort parameter can name only these). */
export const SORT_COLUMNS = {
  principal: 'q.name',
  arn: 'q.principal_id',
  account: 'q.account_id',
  account_name: 'q.account_name',
  integration: 'q.integration_id',
  type: 'q.kind',
  status: 'q.status',
  tier: 'q.tier_rank',
  risk: 'q.risk_score',
  overprivilege: 'q.overprivilege_pct',
  high_risk_overprivilege: 'q.high_risk_overprivilege_pct',
  last_used: 'q.last_used_at',
  created: 'q.created_at',
  cloud: 'q.cloud',
  owner: 'q.owner',
} as const;
export type SortColumn = keyof typeof SORT_COLUMNS;
export const SORT_NAMES = Object.keys(SORT_COLUMNS) as SortColumn[];

export const MAX_PAGE = 500;

export interface PrincipalListQuery {
  /** Filter text, or an already compiled filter (compile first to reject bad input cheaply). */
  filter?: string | CompiledFilter;
  sort?: SortColumn;
  order?: 'asc' | 'desc';
  limit?: number;
  offset?: number;
}

export interface PrincipalListItem {
  principalId: string;
  name: string;
  type: string;
  cloud: string;
  integrationId: string;
  assessmentId: string;
  account: { id: string; name: string | null };
  status: string;
  tier: string;
  riskScore: number;
  overprivilegePct: number | null;
  highRiskOverprivilegePct: number | null;
  lastUsedAt: string | null;
  createdAt: string | null;
  owner: string | null;
  ignored: boolean;
  tags: Record<string, unknown>;
  unusedLevels: string[];
  identities: { human: number; machine: number };
  actions: { granted: number; used: number; unused: number; unobservable: number };
}

export function parseJsonColumn(value: unknown): unknown {
  if (typeof value !== 'string') return value ?? null;
  try {
    return JSON.parse(value);
  } catch {
    // A JSON column always holds valid JSON; keep the text rather than hide it.
    return value;
  }
}

export function toListItem(r: Row): PrincipalListItem {
  return {
    principalId: String(r.principal_id),
    name: String(r.name),
    type: String(r.kind),
    cloud: String(r.cloud),
    integrationId: String(r.integration_id),
    assessmentId: String(r.assessment_id),
    account: {
      id: String(r.account_id),
      name: r.account_name === null ? null : String(r.account_name),
    },
    status: String(r.status),
    tier: String(r.tier),
    riskScore: Number(r.risk_score),
    overprivilegePct: r.overprivilege_pct === null ? null : Number(r.overprivilege_pct),
    highRiskOverprivilegePct:
      r.high_risk_overprivilege_pct === null ? null : Number(r.high_risk_overprivilege_pct),
    lastUsedAt: r.last_used_at === null ? null : String(r.last_used_at),
    createdAt: r.created_at === null ? null : String(r.created_at),
    owner: r.owner === null ? null : String(r.owner),
    ignored: Boolean(r.ignored),
    tags: (parseJsonColumn(r.tags) ?? {}) as Record<string, unknown>,
    unusedLevels: (r.unused_levels ?? []) as string[],
    identities: { human: Number(r.human_identities), machine: Number(r.machine_identities) },
    actions: {
      granted: Number(r.granted_count),
      used: Number(r.used_count),
      unused: Number(r.unused_count),
      unobservable: Number(r.unobservable_count),
    },
  };
}

/** A page of list items as JSON text (one object per item), and the total matching. */
export interface PrincipalPageJson {
  total: number;
  items: string[];
}

/**
 * One page of the principals in scope matching a filter, with the total number matching, each
 * item as the JSON text the API sends (queries/principal-page.sql). A top-N over the wide rows
 * would drag every matching row's tags and lists through the sort.
 */
export async function listPrincipalsJson(
  db: Db,
  scope: ScopeEntry[],
  query: PrincipalListQuery,
  now = new Date(),
): Promise<PrincipalPageJson> {
  const compiled =
    typeof query.filter === 'object' ? query.filter : filterToSql(query.filter ?? '', { now });
  await ensurePrincipalList(db, scope);
  const view = principalView(scope);
  const sort = SORT_COLUMNS[query.sort ?? 'risk'];
  const direction = query.order === 'asc' ? 'ASC' : 'DESC';
  const limit = Math.min(Math.max(query.limit ?? 50, 1), MAX_PAGE);
  const offset = Math.max(query.offset ?? 0, 0);
  const params = { ...view.params, ...compiled.params };
  const rows = await db.all(
    fillSql(loadSql('principal-page'), { view: view.sql, where: compiled.where, sort, direction }),
    { ...params, page_limit: limit, page_offset: offset },
  );
  if (rows.length === 0) {
    // Past the last page the window count has no row to ride on.
    const total =
      offset === 0
        ? 0
        : Number(
            await db.scalar(`SELECT count(*) FROM (${view.sql}) q WHERE ${compiled.where}`, params),
          );
    return { total, items: [] };
  }
  const items = rows.map((r) => {
    if (typeof r.item_json !== 'string') {
      throw new DatabaseError(`principal_list row ${r.row_no} has no list item`, {
        rowNo: r.row_no,
      });
    }
    // The stored object ends with "}"; `ignored` follows the rules of the moment.
    return `${r.item_json.slice(0, -1)},"ignored":${r.ignored === true}}`;
  });
  return { total: Number(rows[0]!.total), items };
}

/** One page of the principals in scope matching a filter, with the total number matching. */
export async function listPrincipals(
  db: Db,
  scope: ScopeEntry[],
  query: PrincipalListQuery,
  now = new Date(),
): Promise<{ total: number; items: PrincipalListItem[] }> {
  const page = await listPrincipalsJson(db, scope, query, now);
  return { total: page.total, items: page.items.map((i) => JSON.parse(i) as PrincipalListItem) };
}

/** Every principal matching a filter, as "assessment principal" keys (tests; not paged). */
export async function matchingPrincipalIds(
  db: Db,
  scope: ScopeEntry[],
  filter: string,
  now = new Date(),
): Promise<string[]> {
  const compiled = filterToSql(filter, { now });
  await ensurePrincipalList(db, scope);
  const view = principalView(scope);
  const rows = await db.all(
    `SELECT q.assessment_id || ' ' || q.principal_id AS k FROM (${view.sql}) q WHERE ${compiled.where} ORDER BY k`,
    { ...view.params, ...compiled.params },
  );
  return rows.map((r) => String(r.k));
}
