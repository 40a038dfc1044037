import { type DuckDBValue, listValue } from '@duckdb/node-api';
import type { Config } from '../../config/schema.ts';
import { UsageError } from '../../lib/errors.ts';
import { timeSlicer } from '../../lib/event-loop.ts';
import type { Logger } from '../../lib/log.ts';
import { type Db, quoteIdent } from '../../model/db.ts';
import { insertRows } from '../../model/insert.ts';
import { getAwsCatalog } from '../catalog/aws.ts';
import { isGcpPermission } from '../catalog/gcp.ts';
import { ensureGcpPermissions, loadActionCatalog } from '../catalog/load.ts';
import { exposureOf } from './exposure.ts';
import { writeGrants } from './grants.ts';
import {
  dataEventResources,
  escalationPaths,
  riskWeights,
  selectedDataResourceTypes,
} from './rules.ts';
import { runSqlFile } from './sql.ts';

/**
 * The scoring engine: effective permissions per fingerprint, usage, overprivilege, status, risk
 * score and tier per principal, all computed in DuckDB (scoring/engine/sql/). TypeScript parses
 * policy documents, expands each distinct action pattern once, reads trust policies and
 * orchestrates; no query runs per principal.
 */

export const TIERS = ['Critical', 'High', 'Medium', 'Low'] as const;
export const STATUSES = ['active', 'dormant', 'new', 'no-coverage'] as const;

export interface ScoreOptions {
  config: Config;
  logger: Logger;
}

export interface TopRisk {
  principalId: string;
  accountId: string;
  tier: string;
  riskScore: number;
  status: string;
  overprivilegePct: number | null;
  topReason: string;
}

export interface ScoreSummary {
  assessmentId: string;
  principals: number;
  fingerprints: number;
  effectiveRows: number;
  /** principals per tier and status: counts[tier][status]. */
  counts: Record<string, Record<string, number>>;
  top: TopRisk[];
  policiesRejected: number;
  timings: Record<string, number>;
  durationMs: number;
}

interface AssessmentInfo {
  integration_id: string;
  window_start: string;
  window_end: string;
  dormancy_days: number;
}

function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** Load the catalog when it is empty or was built from other data or rules. */
export async function ensureCatalog(db: Db, logger: Logger): Promise<void> {
  const version = getAwsCatalog().dataVersion;
  const row = await db.one<{ n: number; stale: number }>(
    `SELECT count(*) AS n, count(*) FILTER (WHERE data_version <> $v) AS stale
     FROM action_catalog WHERE cloud = 'aws'`,
    { v: version },
  );
  if (!row || row.n === 0 || row.stale > 0) {
    const loaded = await loadActionCatalog(db);
    logger.progress(`action catalog loaded: ${loaded.aws} AWS actions (${loaded.dataVersion})`);
  }
}

/** GCP permissions named by the snapshot's roles or by usage must be in the catalog. */
async function ensureSnapshotGcpPermissions(
  db: Db,
  assessmentId: string,
  integrationId: string,
): Promise<void> {
  const rows = await db.all<{ permission: string }>(
    `SELECT DISTINCT unnest(from_json(document->'includedPermissions', '["VARCHAR"]')) AS permission
     FROM policy WHERE assessment_id = $a AND cloud = 'gcp'
       AND json_type(document->'includedPermissions') = 'ARRAY'
     UNION
     SELECT DISTINCT u.action FROM usage_daily u
     JOIN principal p ON p.assessment_id = $a AND p.principal_id = u.principal_id AND p.cloud = 'gcp'
     WHERE u.integration_id = $i`,
    { a: assessmentId, i: integrationId },
  );
  const permissions = rows.map((r) => r.permission).filter((p) => isGcpPermission(p));
  if (permissions.length > 0) await ensureGcpPermissions(db, permissions);
}

async function fillPatterns(db: Db, assessmentId: string): Promise<number> {
  const patterns = await db.all<{ pattern: string }>(
    `SELECT DISTINCT lower(g.action_pattern) AS pattern FROM "grant" g
     JOIN policy p ON p.assessment_id = g.assessment_id AND p.policy_id = g.policy_id
     WHERE g.assessment_id = $a AND p.cloud = 'aws'`,
    { a: assessmentId },
  );
  const expander = getAwsCatalog().expander;
  let rows = 0;
  const breathe = timeSlicer();
  await db.append('sc_pattern', async (appender) => {
    for (const { pattern } of patterns) {
      await breathe();
      for (const action of expander.expand(pattern)) {
        appender.appendVarchar('aws');
        appender.appendVarchar(pattern);
        appender.appendVarchar(action.toLowerCase());
        appender.endRow();
        rows++;
      }
    }
  });
  return rows;
}

async function fillRules(db: Db): Promise<void> {
  const expander = getAwsCatalog().expander;
  const raw: Array<Record<string, unknown>> = [];
  for (const path of escalationPaths()) {
    path.requires.forEach((group, groupIdx) => {
      for (const pattern of group) {
        const actions = path.cloud === 'aws' ? expander.expand(pattern) : [pattern];
        for (const action of actions) {
          raw.push({
            path_id: path.id,
            cloud: path.cloud,
            group_idx: groupIdx,
            action_lower: action.toLowerCase(),
          });
        }
      }
    });
  }
  await insertRows(db, 'sc_esc_raw', raw);
  await insertRows(
    db,
    'sc_tier_rule',
    riskWeights().tiers.map((t, i) => ({
      ord: i,
      tier: t.tier,
      admin_equivalent: t.adminEquivalent ?? null,
      min_risk: t.minRisk ?? null,
      min_overprivilege: t.minOverprivilege ?? null,
      min_privileged_share: t.minPrivilegedShare ?? null,
      reason: t.reason,
    })),
  );
}

/**
 * Data-event actions with the CloudTrail resource type that records them, and the types the
 * integration's trails select (empty when no trail states its selectors: file imports).
 */
export async function dataEventSelection(
  db: Db,
  integrationId: string,
): Promise<{ typeOf: Map<string, string>; selected: Set<string> }> {
  const catalog = getAwsCatalog();
  const typeOf = new Map<string, string>();
  for (const entry of dataEventResources()) {
    for (const action of catalog.expander.expand(entry.pattern)) {
      if (catalog.find(action)?.observable === 'data-event' && !typeOf.has(action))
        typeOf.set(action, entry.type);
    }
  }
  const sources = await db.all<{ selectors: string }>(
    `SELECT data_event_selectors::VARCHAR AS selectors FROM log_source
     WHERE integration_id = $i AND kind = 'cloudtrail'`,
    { i: integrationId },
  );
  const selected = new Set<string>();
  for (const s of sources)
    for (const t of selectedDataResourceTypes(JSON.parse(s.selectors))) selected.add(t);
  return { typeOf, selected };
}

async function fillDataEventTypes(db: Db, integrationId: string): Promise<void> {
  const { typeOf, selected } = await dataEventSelection(db, integrationId);
  await insertRows(
    db,
    'sc_data_event_type',
    [...typeOf].map(([action, type]) => ({
      action_lower: action.toLowerCase(),
      resource_type: type,
    })),
  );
  await insertRows(
    db,
    'sc_selected_type',
    [...selected].map((resource_type) => ({ resource_type })),
  );
}

async function fillExposure(db: Db, assessmentId: string): Promise<void> {
  const accounts = await db.all<{ account_id: string }>(
    'SELECT account_id FROM account WHERE assessment_id = $a',
    { a: assessmentId },
  );
  const organization = new Set(accounts.map((a) => a.account_id));
  const members = await db.all<{
    principal_id: string;
    account_id: string;
    cloud: string;
    kind: string;
    trust_policy: string | null;
  }>(
    `SELECT principal_id, account_id, cloud, kind, trust_policy::VARCHAR AS trust_policy FROM sc_member
     WHERE trust_policy IS NOT NULL OR cloud = 'gcp'`,
  );
  const weights = riskWeights().components.exposure;
  const findings = members.flatMap((m) =>
    exposureOf(
      { ...m, trust_policy: m.trust_policy === null ? null : JSON.parse(m.trust_policy) },
      organization,
      weights,
    ),
  );
  await insertRows(db, 'sc_exposure', findings);
}

function sqlParams(assessmentId: string, info: AssessmentInfo): Record<string, DuckDBValue> {
  const w = riskWeights();
  const c = w.components;
  const dormancyStart = addDays(info.window_end, -(info.dormancy_days - 1));
  return {
    assessment_id: assessmentId,
    integration_id: info.integration_id,
    window_start: info.window_start,
    window_end: info.window_end,
    dormancy_start: dormancyStart,
    dormancy_days: info.dormancy_days,
    coverage_start: dormancyStart,
    coverage_end: addDays(info.window_end, -2),
    coverage_required: Math.max(0, info.dormancy_days - 2),
    admin_share: w.adminEquivalentShare,
    scoped_penalty: c['principal-risk'].scopedPenalty,
    conditional_penalty: c['principal-risk'].conditionalPenalty,
    partial_deny_penalty: c['principal-risk'].partialDenyPenalty,
    principal_max: c['principal-risk'].max,
    account_max: c['account-risk'].max,
    account_low: c['account-risk'].levels.low,
    account_medium: c['account-risk'].levels.medium,
    account_high: c['account-risk'].levels.high,
    account_critical: c['account-risk'].levels.critical,
    data_max: c['data-sensitivity'].max,
    data_per_action: c['data-sensitivity'].pointsPerAction,
    data_max_level: c['data-sensitivity'].maxLevelRank,
    data_min_sensitivity: c['data-sensitivity'].minSensitivity,
    data_categories: listValue(c['data-sensitivity'].categories),
    exposure_max: c.exposure.max,
    escalation_max: c.escalation.max,
    escalation_unconditional: c.escalation.unconditional,
    escalation_limited: c.escalation.limited,
    unused_max: c['unused-high-risk'].max,
  };
}

/** Principals by tier and status, and the top 10 risks, of a scored assessment. */
export async function summarizeScores(
  db: Db,
  assessmentId: string,
): Promise<Pick<ScoreSummary, 'principals' | 'fingerprints' | 'effectiveRows' | 'counts' | 'top'>> {
  const counts: Record<string, Record<string, number>> = {};
  for (const tier of TIERS) counts[tier] = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  const grid = await db.all<{ tier: string; status: string; n: number }>(
    'SELECT tier, status, count(*) AS n FROM principal_score WHERE assessment_id = $a GROUP BY ALL',
    { a: assessmentId },
  );
  let principals = 0;
  for (const g of grid) {
    counts[g.tier] ??= {};
    counts[g.tier]![g.status] = g.n;
    principals += g.n;
  }
  const top = await db.all<{
    principal_id: string;
    account_id: string;
    tier: string;
    risk_score: number;
    status: string;
    overprivilege_pct: number | null;
    top_reason: string;
  }>(
    `SELECT s.principal_id, s.account_id, s.tier, s.risk_score, s.status, s.overprivilege_pct,
       CASE WHEN f.admin_equivalent THEN s.tier_reason
            ELSE (SELECT c->>'reason' FROM unnest(from_json(s.risk_breakdown, '["JSON"]')) AS t(c)
                  ORDER BY (c->>'points')::INTEGER DESC LIMIT 1) END AS top_reason
     FROM principal_score s
     JOIN scoring_fingerprint f ON f.assessment_id = s.assessment_id AND f.fingerprint = s.fingerprint
     WHERE s.assessment_id = $a
     ORDER BY list_position(['Critical', 'High', 'Medium', 'Low'], s.tier), s.risk_score DESC, s.principal_id
     LIMIT 10`,
    { a: assessmentId },
  );
  const sizes = await db.one<{ fingerprints: number; rows: number }>(
    `SELECT (SELECT count(*) FROM scoring_fingerprint WHERE assessment_id = $a) AS fingerprints,
            (SELECT coalesce(sum(len(actions)), 0) FROM effective_action WHERE assessment_id = $a) AS rows`,
    { a: assessmentId },
  );
  return {
    principals,
    fingerprints: sizes?.fingerprints ?? 0,
    effectiveRows: sizes?.rows ?? 0,
    counts,
    top: top.map((t) => ({
      principalId: t.principal_id,
      accountId: t.account_id,
      tier: t.tier,
      riskScore: t.risk_score,
      status: t.status,
      overprivilegePct: t.overprivilege_pct,
      topReason: t.top_reason,
    })),
  };
}

/** The sc_ temp tables hold millions of rows on large organizations: free them after a run. */
async function dropScratchTables(db: Db): Promise<void> {
  const tables = await db.all<{ table_name: string }>(
    "SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, 'sc_')",
  );
  for (const t of tables) await db.exec(`DROP TABLE IF EXISTS temp.${quoteIdent(t.table_name)}`);
}

/**
 * Score one assessment: replaces its grant, policy_action, scoring_fingerprint,
 * effective_action, principal_score and policy_usage rows (idempotent).
 */
export async function scoreAssessment(
  db: Db,
  assessmentId: string,
  options: ScoreOptions,
): Promise<ScoreSummary> {
  const started = performance.now();
  const timings: Record<string, number> = {};
  let mark = started;
  const lap = (name: string) => {
    const now = performance.now();
    timings[name] = Math.round(now - mark);
    mark = now;
  };
  const info = await db.one<AssessmentInfo & Record<string, string | number>>(
    `SELECT integration_id, window_start::VARCHAR AS window_start, window_end::VARCHAR AS window_end,
            dormancy_days FROM assessment WHERE assessment_id = $a`,
    { a: assessmentId },
  );
  if (!info) throw new UsageError(`no assessment ${assessmentId}`);
  await ensureCatalog(db, options.logger);
  await ensureSnapshotGcpPermissions(db, assessmentId, info.integration_id);
  lap('catalog');
  const params = sqlParams(assessmentId, info);
  let rejected = 0;
  await dropScratchTables(db);
  await db.transaction(async (tx) => {
    const g = await writeGrants(tx, assessmentId);
    rejected = g.rejected;
    if (g.rejected > 0)
      options.logger.warn(
        `${g.rejected} of ${g.policies} policies have statements that do not parse (see policy.parse_error); their valid statements are scored`,
      );
    lap('grants');
    await runSqlFile(tx, '01_prepare', params);
    await fillPatterns(tx, assessmentId);
    await fillRules(tx);
    await fillDataEventTypes(tx, info.integration_id);
    lap('expand');
    await runSqlFile(tx, '02_policy_action', params);
    lap('policy_action');
    await runSqlFile(tx, '03_fingerprints', params);
    lap('fingerprints');
    await runSqlFile(tx, '04_effective', params);
    lap('effective');
    await runSqlFile(tx, '05_usage', params);
    lap('usage');
    await fillExposure(tx, assessmentId);
    await runSqlFile(tx, '06_risk', params);
    lap('risk');
    await runSqlFile(tx, '07_store', params);
    lap('store');
  });
  lap('commit');
  await dropScratchTables(db);
  const summary = await summarizeScores(db, assessmentId);
  lap('summary');
  const durationMs = Math.round(performance.now() - started);
  options.logger.progress(
    `scoring: ${summary.principals} principals, ${summary.fingerprints} fingerprints, ${summary.effectiveRows} effective rows in ${(durationMs / 1000).toFixed(1)} s`,
  );
  return { assessmentId, ...summary, policiesRejected: rejected, timings, durationMs };
}

/**
 * The scoring stage for runAssessment({ stages }). Typed by shape (ingest's AssessmentStage
 * accepts it) so that scoring does not depend on ingest.
 */
export const scoringStage = {
  name: 'scoring',
  async run(run: { db: Db; assessmentId: string; config: Config; logger: Logger }): Promise<void> {
    await scoreAssessment(run.db, run.assessmentId, { config: run.config, logger: run.logger });
  },
};
