import type { Db } from '../model/db.ts';
import { TIERS } from './filter/fields.ts';
import { filterToSql } from './filter/index.ts';
import { principalView } from './principals.ts';
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
  /** Aggregate over the matching rows (fixed SQL). */
  aggregate: string;
}

export const SCALAR_WIDGETS: ScalarWidgetDef[] = [
  {
    id: 'overprivilege',
    title: 'Overprivilege',
    description:
      'Average share of unused observable permissions over the principals that have any observable permission.',
    unit: 'percent',
    filter: `${NOT_IGNORED} and overprivilege >= 0`,
    aggregate: 'avg(q.overprivilege_pct)',
  },
  {
    id: 'dormant-principals',
    title: 'Dormant principals',
    description: 'Principals unused for the whole dormancy period, with full log coverage.',
    unit: 'count',
    filter: `${NOT_IGNORED} and status = "dormant"`,
    aggregate: 'count(*)',
  },
  {
    id: 'high-risk-overprivileged-principals',
    title: 'High-risk overprivileged principals',
    description: 'Principals with unused IAM or ADMIN permissions.',
    unit: 'count',
    filter: `${NOT_IGNORED} and high_risk_overprivilege > 0`,
    aggregate: 'count(*)',
  },
];

const TREND_FILTER = `${NOT_IGNORED} and overprivilege >= 0`;

/** Every widget for the assessments in scope. `trendEnd` is the last day of the trend (UTC). */
export async function computeWidgets(
  db: Db,
  scope: ScopeEntry[],
  trendEnd: string,
  now = new Date(),
): Promise<Widget[]> {
  const view = principalView(scope);
  const base = filterToSql(NOT_IGNORED, { now, paramPrefix: 'base_' });
  const compiled = SCALAR_WIDGETS.map((w, i) => ({
    def: w,
    sql: filterToSql(w.filter, { now, paramPrefix: `w${i}_` }),
  }));
  const trendFilter = filterToSql(TREND_FILTER, { now, paramPrefix: 'trend_' });
  const columns = compiled
    .map(
      (c, i) =>
        `count(*) FILTER (WHERE ${c.sql.where}) AS w${i}_count, ${c.def.aggregate} FILTER (WHERE ${c.sql.where}) AS w${i}_value`,
    )
    .join(',\n  ');
  const params = {
    ...view.params,
    ...base.params,
    ...trendFilter.params,
    ...Object.assign({}, ...compiled.map((c) => c.sql.params)),
  };
  // One scan: the totals, the type breakdown and the tier breakdown as grouping sets.
  const rows = await db.all(
    `SELECT grouping(q.kind) AS g_kind, grouping(q.tier) AS g_tier, q.kind, q.tier,
       count(*) FILTER (WHERE ${base.where}) AS base_count,
       count(*) FILTER (WHERE ${trendFilter.where}) AS trend_count,
       ${columns}
     FROM (${view.sql}) q
     GROUP BY GROUPING SETS ((), (q.kind), (q.tier))`,
    params,
  );
  const totals = rows.find((r) => r.g_kind === 1 && r.g_tier === 1);
  const byType = rows.filter((r) => r.g_kind === 0 && Number(r.base_count) > 0);
  const byTier = rows.filter((r) => r.g_tier === 0);
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

  const widgets: Widget[] = compiled.map((c, i) => ({
    id: c.def.id,
    title: c.def.title,
    description: c.def.description,
    unit: c.def.unit,
    value: totals
      ? (num(totals[`w${i}_value`]) ?? (c.def.unit === 'count' ? 0 : null))
      : c.def.unit === 'count'
        ? 0
        : null,
    count: totals ? Number(totals[`w${i}_count`]) : 0,
    filter: c.def.filter,
  }));

  const points = await overprivilegeTrend(db, scope, trendEnd);
  const latest = [...points].reverse().find((p) => p.all !== null);
  widgets.splice(1, 0, {
    id: 'overprivilege-trend',
    title: 'Overprivilege over the last 7 days',
    description:
      'Per day, the last finished assessment: average overprivilege of all principals and of the privileged (IAM and ADMIN) permissions.',
    unit: 'percent',
    value: latest?.all ?? null,
    count: totals ? Number(totals.trend_count) : 0,
    filter: TREND_FILTER,
    points,
  });

  const typeBuckets = byType
    .map((r) => {
      const key = String(r.kind);
      return {
        key,
        count: Number(r.base_count),
        filter: `${NOT_IGNORED} and type = ${quoteFilterString(key)}`,
      };
    })
    .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
  const baseCount = totals ? Number(totals.base_count) : 0;
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

  const tierBuckets = [...TIERS].reverse().map((tier) => {
    const row = byTier.find((r) => String(r.tier).toLowerCase() === tier.toLowerCase());
    return {
      key: tier,
      count: row ? Number(row.base_count) : 0,
      filter: `${NOT_IGNORED} and tier = ${quoteFilterString(tier)}`,
    };
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
