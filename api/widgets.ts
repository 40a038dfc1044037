import type { Db } from '../model/db.ts';
import { TIERS } from './filter/fields.ts';
import { filterToSql } from './filter/index.ts';
import { ensurePrincipalList, principalView } from './principal-list.ts';
import type { ScopeEntry } from './scope.ts';
import { fillSql, loadSql, placeholders } from './sql.ts';

/**
 * The assessment page widgets. Each one stands for a filter expression: applied to the
 * principals list it returns exactly the principals the widget counts (a test checks each).
 * Ignored principals are left out of every widget, so every filter starts with `ignored = false`.
 */

export interface TrendPoint {
  day: string;
  assessmentIds: string[];
  all: number | null;
  privileged: number | null;
  principals: number;
  privilegedPrincipals: number;
}

export interface WidgetBucket {
  key: string;
  count: number;
  filter: string;
}

export interface Widget {
  id: string;
  title: string;
  description: string;
  unit: 'percent' | 'count';
  value: number | null;
  /** Principals the filter matches. */
  count: number;
  filter: string;
  points?: TrendPoint[];
  buckets?: WidgetBucket[];
}

/** A filter-language string literal for any text. */
export function quoteFilterString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

const NOT_IGNORED = 'ignored = false';

interface ScalarWidgetDef {
  id: string;
  title: string;
  description: string;
  unit: 'percent' | 'count';
  filter: string;
  /** The value: how many principals match, or the average of a column over them. */
  measure: { count: true } | { average: string };
}

export const SCALAR_WIDGETS: ScalarWidgetDef[] = [
  {
    id: 'overprivilege',
    title: 'Overprivilege',
    description:
      'Average share of unused observable permissions over the principals that have any observable permission.',
    unit: 'percent',
    filter: `${NOT_IGNORED} and overprivilege >= 0`,
    measure: { average: 'q.overprivilege_pct' },
  },
  {
    id: 'dormant-principals',
    title: 'Dormant principals',
    description: 'Principals unused for the whole dormancy period, with full log coverage.',
    unit: 'count',
    filter: `${NOT_IGNORED} and status = "dormant"`,
    measure: { count: true },
  },
  {
    id: 'high-risk-overprivileged-principals',
    title: 'High-risk overprivileged principals',
    description: 'Principals with unused IAM or ADMIN permissions.',
    unit: 'count',
    filter: `${NOT_IGNORED} and high_risk_overprivilege > 0`,
    measure: { count: true },
  },
];

const TREND_FILTER = `${NOT_IGNORED} and overprivilege >= 0`;

const CACHE_SIZE = 32;
/** Widget answers per database instance, keyed by everything they depend on. */
const caches = new WeakMap<object, Map<string, Widget[]>>();

/**
 * Every widget for the assessments in scope. `trendEnd` is the last day of the trend (UTC).
 * Finished assessments never change, so an answer is kept in memory until the scope or the
 * active ignore rules change.
 */
export async function computeWidgets(
  db: Db,
  scope: ScopeEntry[],
  trendEnd: string,
  now = new Date(),
): Promise<Widget[]> {
  const version = await ensurePrincipalList(db, scope);
  let cache = caches.get(db.instance);
  if (!cache) {
    cache = new Map();
    caches.set(db.instance, cache);
  }
  const key = JSON.stringify([scope.map((s) => [s.assessmentId, s.finishedAt]), version, trendEnd]);
  const hit = cache.get(key);
  if (hit) return structuredClone(hit);
  const widgets = await computeWidgetsUncached(db, scope, trendEnd, now);
  cache.set(key, widgets);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return structuredClone(widgets);
}

/** The widgets computed from the rows (the principal_list copies must be in place). */
export async function computeWidgetsUncached(
  db: Db,
  scope: ScopeEntry[],
  trendEnd: string,
  now = new Date(),
): Promise<Widget[]> {
  const view = principalView(scope);
  const base = filterToSql(NOT_IGNORED, { now, paramPrefix: 'base_' });
  const trendFilter = filterToSql(TREND_FILTER, { now, paramPrefix: 'trend_' });
  const compiled = SCALAR_WIDGETS.map((w, i) => ({
    def: w,
    sql: filterToSql(w.filter, { now, paramPrefix: `w${i}_` }),
  }));
  const columns = compiled
    .map((c, i) => {
      const count = `count(*) FILTER (WHERE ${c.sql.where}) AS w${i}_count`;
      if ('count' in c.def.measure) return count;
      const col = c.def.measure.average;
      return `${count}, sum(${col}) FILTER (WHERE ${c.sql.where}) AS w${i}_sum, count(${col}) FILTER (WHERE ${c.sql.where}) AS w${i}_n`;
    })
    .join(',\n  ');
  const params = {
    ...view.params,
    ...base.params,
    ...trendFilter.params,
    ...Object.assign({}, ...compiled.map((c) => c.sql.params)),
  };
  // One scan grouped by type and tier; totals and both breakdowns are summed up here.
  const groups = await db.all(
    `SELECT q.kind, q.tier,
       count(*) FILTER (WHERE ${base.where}) AS base_count,
       count(*) FILTER (WHERE ${trendFilter.where}) AS trend_count,
       ${columns}
     FROM (${view.sql}) q
     GROUP BY q.kind, q.tier`,
    params,
  );
  const total = (column: string) => groups.reduce((s, g) => s + Number(g[column] ?? 0), 0);
  const widgets: Widget[] = compiled.map((c, i) => {
    const count = total(`w${i}_count`);
    let value: number | null = count;
    if ('average' in c.def.measure) {
      const n = total(`w${i}_n`);
      value = n > 0 ? total(`w${i}_sum`) / n : null;
    }
    return {
      id: c.def.id,
      title: c.def.title,
      description: c.def.description,
      unit: c.def.unit,
      value,
      count,
      filter: c.def.filter,
    };
  });

  const points = await overprivilegeTrend(db, scope, trendEnd);
  const latest = [...points].reverse().find((p) => p.all !== null);
  widgets.splice(1, 0, {
    id: 'overprivilege-trend',
    title: 'Overprivilege over the last 7 days',
    description:
      'Per day, the last finished assessment: average overprivilege of all principals and of the privileged (IAM and ADMIN) permissions.',
    unit: 'percent',
    value: latest?.all ?? null,
    count: total('trend_count'),
    filter: TREND_FILTER,
    points,
  });

  const sumBy = (field: 'kind' | 'tier') => {
    const out = new Map<string, number>();
    for (const g of groups) {
      const k = String(g[field]);
      out.set(k, (out.get(k) ?? 0) + Number(g.base_count));
    }
    return out;
  };
  const baseCount = total('base_count');
  const typeBuckets = [...sumBy('kind').entries()]
    .filter(([, count]) => count > 0)
    .map(([key, count]) => ({
      key,
      count,
      filter: `${NOT_IGNORED} and type = ${quoteFilterString(key)}`,
    }))
    .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
  widgets.push({
    id: 'principals-by-type',
    title: 'Principals by type',
    description: 'Principals per kind (user, role, group, service account, ...).',
    unit: 'count',
    value: baseCount,
    count: baseCount,
    filter: NOT_IGNORED,
    buckets: typeBuckets,
  });

  const byTier = sumBy('tier');
  const tierBuckets = [...TIERS].reverse().map((tier) => {
    let count = 0;
    for (const [k, n] of byTier) if (k.toLowerCase() === tier.toLowerCase()) count += n;
    return { key: tier, count, filter: `${NOT_IGNORED} and tier = ${quoteFilterString(tier)}` };
  });
  widgets.push({
    id: 'principals-by-tier',
    title: 'Principals by tier',
    description: 'Principals per risk tier, Critical first.',
    unit: 'count',
    value: baseCount,
    count: baseCount,
    filter: NOT_IGNORED,
    buckets: tierBuckets,
  });
  return widgets;
}

export async function overprivilegeTrend(
  db: Db,
  scope: ScopeEntry[],
  trendEnd: string,
): Promise<TrendPoint[]> {
  const integrations = placeholders('integration', [...new Set(scope.map((s) => s.integrationId))]);
  const rows = await db.all(
    fillSql(loadSql('overprivilege-trend'), { integrations: integrations.sql }),
    { ...integrations.params, trend_end: trendEnd },
  );
  return rows.map((r) => ({
    day: String(r.day),
    assessmentIds: (r.assessments ?? []) as string[],
    all: r.all_pct === null ? null : Number(r.all_pct),
    privileged: r.privileged_pct === null ? null : Number(r.privileged_pct),
    principals: Number(r.all_principals),
    privilegedPrincipals: Number(r.privileged_principals),
  }));
}
