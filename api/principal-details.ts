import type { Db, Row } from '../model/db.ts';
import { ApiError, notFound } from './errors.ts';
import { PRIVILEGE_LEVELS } from './filter/fields.ts';
import { parseJsonColumn } from './principals.ts';
import type { ScopeEntry } from './scope.ts';
import { fillSql, loadSql, placeholders } from './sql.ts';

/** The principal in scope; 404 when absent, 409 when several integrations hold the same id. */
export async function findPrincipal(
  db: Db,
  scope: ScopeEntry[],
  principalId: string,
): Promise<Row> {
  const ids = placeholders(
    'scope',
    scope.map((s) => s.assessmentId),
  );
  const rows = await db.all(fillSql(loadSql('principal-detail'), { scope: ids.sql }), {
    ...ids.params,
    principal_id: principalId,
  });
  if (rows.length === 0) throw notFound('principal', principalId);
  if (rows.length > 1) {
    throw new ApiError(
      409,
      'ambiguous-principal',
      `principal ${principalId} exists in integrations ${rows.map((r) => r.integration_id).join(', ')}; pass integrationId or assessmentId`,
    );
  }
  return rows[0]!;
}

/**
 * The principal's recommendations of every assessment, as `r`, found through the principal_id
 * index (migration 008): DuckDB scans an index only when the filter names its one column, so
 * the assessment is filtered afterwards, outside the materialised CTE.
 */
const OF_PRINCIPAL =
  'WITH r AS MATERIALIZED (SELECT * FROM recommendation WHERE principal_id = $p)';

const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export interface RecommendationSummary {
  recommendationId: string;
  kind: string;
  title: string;
  severity: string;
  rank: number;
  state: string;
  owner: string | null;
  policyId: string | null;
}

function toRecommendationSummary(r: Row): RecommendationSummary {
  return {
    recommendationId: String(r.recommendation_id),
    kind: String(r.kind),
    title: String(r.title),
    severity: String(r.severity),
    rank: Number(r.rank),
    state: String(r.state),
    owner: str(r.owner),
    policyId: str(r.policy_id),
  };
}

export async function principalDetails(db: Db, row: Row) {
  const assessmentId = String(row.assessment_id);
  const principalId = String(row.principal_id);
  const integrationId = String(row.integration_id);
  const top = await db.all(
    `${OF_PRINCIPAL}
     SELECT recommendation_id, kind, title, severity, rank, state, owner, policy_id
     FROM r WHERE assessment_id = $a AND state = 'open'
     ORDER BY rank, recommendation_id LIMIT 3`,
    { a: assessmentId, p: principalId },
  );
  const counts = await db.all(
    `${OF_PRINCIPAL} SELECT state, count(*) AS n FROM r WHERE assessment_id = $a GROUP BY state`,
    { a: assessmentId, p: principalId },
  );
  const ignore = await db.one(
    `SELECT ignore_id, reason, created_by, created_at, expires_at FROM ignore_rule
     WHERE principal_id = $p AND (integration_id IS NULL OR integration_id = $i)
       AND removed_at IS NULL AND (expires_at IS NULL OR expires_at > now())
     ORDER BY created_at DESC LIMIT 1`,
    { p: principalId, i: integrationId },
  );
  const scored = row.risk_score !== null;
  return {
    principalId,
    arn: principalId,
    name: String(row.name),
    type: String(row.kind),
    cloud: String(row.cloud),
    path: str(row.path),
    uniqueId: str(row.unique_id),
    identityType: String(row.identity_type),
    integrationId,
    assessmentId,
    account: {
      id: String(row.account_id),
      name: str(row.account_name),
      path: (row.account_path ?? []) as string[],
      riskLevel: str(row.account_risk_level),
      status: str(row.account_status),
    },
    createdAt: str(row.created_at),
    owner: str(row.owner),
    tags: parseJsonColumn(row.tags) ?? {},
    boundaryPolicyId: str(row.boundary_policy_id),
    serviceLinked: Boolean(row.service_linked),
    consoleAccess: row.console_access === null ? null : Boolean(row.console_access),
    mfaEnabled: row.mfa_enabled === null ? null : Boolean(row.mfa_enabled),
    scored,
    status: str(row.status),
    tier: str(row.tier),
    risk: scored
      ? { score: Number(row.risk_score), breakdown: parseJsonColumn(row.risk_breakdown) }
      : null,
    lastUsed: {
      at: str(scored ? row.last_used_at : row.inventory_last_used_at),
      source: str(scored ? row.last_used_source : row.inventory_last_used_source),
    },
    identities: {
      human: numOrNull(row.human_identities),
      machine: numOrNull(row.machine_identities),
    },
    overprivilege: scored
      ? {
          pct: numOrNull(row.overprivilege_pct),
          highRiskPct: numOrNull(row.high_risk_overprivilege_pct),
          privilegedShare: numOrNull(row.privileged_share),
          granted: Number(row.granted_count),
          used: Number(row.used_count),
          unused: Number(row.unused_count),
          unobservable: Number(row.unobservable_count),
          evidenceGap: str(row.evidence_gap),
          unusedLevels: (row.unused_levels ?? []) as string[],
          levels: parseJsonColumn(row.levels),
        }
      : null,
    ignored: ignore
      ? {
          ignoreId: String(ignore.ignore_id),
          reason: String(ignore.reason),
          createdBy: String(ignore.created_by),
          createdAt: String(ignore.created_at),
          expiresAt: str(ignore.expires_at),
        }
      : null,
    window: { start: String(row.window_start), end: String(row.window_end) },
    recommendations: {
      top: top.map(toRecommendationSummary),
      counts: Object.fromEntries(counts.map((c) => [String(c.state), Number(c.n)])),
    },
  };
}

export async function principalRecommendations(db: Db, row: Row, state: string) {
  const rows = await db.all(
    `${OF_PRINCIPAL}
     SELECT r.*, (SELECT list({'remediationId': m.remediation_id, 'optionType': m.option_type,
         'status': m.status, 'actor': m.actor, 'appliedAt': CAST(m.applied_at AS VARCHAR),
         'rolledBackAt': CAST(m.rolled_back_at AS VARCHAR)} ORDER BY m.applied_at)
       FROM remediation m WHERE m.recommendation_id = r.recommendation_id) AS remediations
     FROM r
     WHERE r.assessment_id = $a AND ($state = 'all' OR r.state = $state)
     ORDER BY r.state = 'open' DESC, r.rank, r.recommendation_id`,
    { a: String(row.assessment_id), p: String(row.principal_id), state },
  );
  return rows.map((r) => ({
    ...toRecommendationSummary(r),
    ownerSource: String(r.owner_source),
    stateReason: str(r.state_reason),
    createdAt: String(r.created_at),
    options: parseJsonColumn(r.options),
    proof: parseJsonColumn(r.proof),
    remediations: (r.remediations ?? []) as unknown[],
  }));
}

export async function principalUsedBy(db: Db, row: Row, limit: number, offset: number) {
  const params = {
    integration_id: String(row.integration_id),
    principal_id: String(row.principal_id),
    window_start: String(row.window_start),
    window_end: String(row.window_end),
  };
  const usage = await db.all(loadSql('used-by'), params);
  const { window_start: _ws, ...loginParams } = params;
  const logins = await db.all(loadSql('logins'), loginParams);
  const byIdentity = new Map<string, Row[]>();
  for (const l of logins) {
    const list = byIdentity.get(String(l.identity)) ?? [];
    list.push(l);
    byIdentity.set(String(l.identity), list);
  }
  const identities = usage.map((u) => ({
    identity: String(u.identity),
    kind: String(u.identity_kind),
    type: String(u.identity_type),
    calls: Number(u.calls),
    activeDays: Number(u.active_days),
    firstSeen: str(u.first_seen),
    lastSeen: str(u.last_seen),
    lastUserAgent: str(u.last_user_agent),
    lastSourceIp: str(u.last_source_ip),
  }));
  // Identities that logged in but made no recorded call in the window still used the principal.
  for (const [identity] of byIdentity) {
    if (!identities.some((i) => i.identity === identity)) {
      identities.push({
        identity,
        kind: 'unknown',
        type: 'unknown',
        calls: 0,
        activeDays: 0,
        firstSeen: null,
        lastSeen: null,
        lastUserAgent: null,
        lastSourceIp: null,
      });
    }
  }
  const human = identities.filter((i) => i.kind === 'human').length;
  const machine = identities.filter((i) => i.kind === 'machine').length;
  return {
    principalId: String(row.principal_id),
    assessmentId: String(row.assessment_id),
    window: { start: params.window_start, end: params.window_end },
    counts: { human, machine, total: identities.length },
    total: identities.length,
    limit,
    offset,
    identities: identities.slice(offset, offset + limit).map((i) => ({
      ...i,
      logins: (byIdentity.get(i.identity) ?? []).map((l) => ({
        at: String(l.login_at),
        eventName: String(l.event_name),
        userAgent: str(l.user_agent),
        sourceIp: str(l.source_ip),
      })),
    })),
  };
}

type LevelCounts = { granted: number; used: number; unused: number; unobservable: number };

export async function principalUsedFor(db: Db, row: Row) {
  const params = {
    assessment_id: String(row.assessment_id),
    principal_id: String(row.principal_id),
  };
  const attachments = await db.all(loadSql('used-for'), params);
  const usage = await db.all(
    `WITH u AS MATERIALIZED (SELECT * FROM policy_usage WHERE principal_id = $principal_id)
     SELECT policy_id, privilege_level, granted, used, unused, unobservable FROM u
     WHERE assessment_id = $assessment_id`,
    params,
  );
  const policies = new Map<
    string,
    {
      policyId: string;
      name: string | null;
      kind: string | null;
      cloud: string | null;
      versionId: string | null;
      document: unknown;
      parseError: string | null;
      attachments: Array<{ via: string; viaRef: string; condition: unknown }>;
      levels: Record<string, LevelCounts> | null;
      totals: LevelCounts | null;
    }
  >();
  for (const a of attachments) {
    const id = String(a.policy_id);
    let p = policies.get(id);
    if (!p) {
      p = {
        policyId: id,
        name: str(a.name),
        kind: str(a.kind),
        cloud: str(a.cloud),
        versionId: str(a.version_id),
        document: parseJsonColumn(a.document),
        parseError: str(a.parse_error),
        attachments: [],
        levels: null,
        totals: null,
      };
      policies.set(id, p);
    }
    p.attachments.push({
      via: String(a.via),
      viaRef: String(a.via_ref),
      condition: parseJsonColumn(a.condition),
    });
  }
  for (const u of usage) {
    const p = policies.get(String(u.policy_id));
    if (!p) continue;
    const counts = {
      granted: Number(u.granted),
      used: Number(u.used),
      unused: Number(u.unused),
      unobservable: Number(u.unobservable),
    };
    p.levels ??= {};
    p.levels[String(u.privilege_level)] = counts;
    p.totals ??= { granted: 0, used: 0, unused: 0, unobservable: 0 };
    for (const k of Object.keys(counts) as Array<keyof LevelCounts>) p.totals[k] += counts[k];
  }
  const ordered = [...policies.values()].map((p) => ({
    ...p,
    levels: p.levels
      ? Object.fromEntries(
          PRIVILEGE_LEVELS.filter((l) => p.levels![l]).map((l) => [l, p.levels![l]!]),
        )
      : null,
  }));
  return {
    principalId: params.principal_id,
    assessmentId: params.assessment_id,
    usageAvailable: usage.length > 0,
    policies: ordered,
  };
}
