import { RemediationError } from '../lib/errors.ts';
import type { Db, Row, SqlParams } from '../model/db.ts';
import { getAwsCatalog } from '../scoring/catalog/aws.ts';
import { classifyGcpPermission, isGcpPermission } from '../scoring/catalog/gcp.ts';
import type { ActionExpander } from '../scoring/policy/expand.ts';
import { parsePolicyDocument } from '../scoring/policy/parse.ts';
import type { PolicyDoc, PolicySet } from './proof.ts';
import { sql } from './sql.ts';

/**
 * INTERIM LOADER — what the rules need per principal, computed straight from the model (the
 * inventory snapshot with its SCPs, usage_daily, log_coverage) with the catalog expander. Once
 * the scoring engine is merged, `status` comes from principal_score (already read when present)
 * and the effective sets can be cross-checked against its effective_action table; the rest (used
 * actions, unobservable rule, policy documents for the artifacts and proofs) stays, since the
 * proofs must evaluate documents, not stored sets.
 */

const ANY_ACCOUNT = '\u0000any';

async function query<T extends Row>(db: Db, name: string, params: SqlParams): Promise<T[]> {
  return db.all<T>(sql(name), params);
}

function json<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

export interface AssessmentContext {
  assessmentId: string;
  integrationId: string;
  windowStart: string;
  windowEnd: string;
  windowDays: number;
  dormancyDays: number;
  dormancyStart: string;
}

export async function loadAssessmentContext(
  db: Db,
  assessmentId: string,
): Promise<AssessmentContext> {
  const row = await db.one<{
    integration_id: string;
    window_start: string;
    window_end: string;
    dormancy_days: number;
  }>(
    `SELECT integration_id, window_start::VARCHAR AS window_start, window_end::VARCHAR AS window_end,
            dormancy_days FROM assessment WHERE assessment_id = $id`,
    { id: assessmentId },
  );
  if (!row) throw new RemediationError(`no assessment ${assessmentId}`, { assessmentId });
  const windowDays =
    Math.round((Date.parse(row.window_end) - Date.parse(row.window_start)) / 86_400_000) + 1;
  const dormancyDays = Math.min(row.dormancy_days, windowDays);
  return {
    assessmentId,
    integrationId: row.integration_id,
    windowStart: row.window_start,
    windowEnd: row.window_end,
    windowDays,
    dormancyDays,
    dormancyStart: addDays(row.window_end, -(dormancyDays - 1)),
  };
}

export interface PolicyInfo {
  policyId: string;
  kind: string;
  name: string;
  accountId: string | null;
  cloud: 'aws' | 'gcp';
  /** The document as stored (AWS policy JSON, or `{includedPermissions}` for a GCP role). */
  document: unknown;
  sizeChars: number;
  /** Evaluator form; undefined when the document does not parse (then `problem` says why). */
  doc: PolicyDoc | undefined;
  problem: string | undefined;
}

export interface Attachment {
  policy: PolicyInfo;
  via: 'direct' | 'inline' | 'group' | 'boundary' | 'binding';
  viaRef: string;
  condition: unknown;
}

export type PrincipalStatus = 'active' | 'dormant' | 'new' | 'no-coverage';

export interface PrincipalFacts {
  assessmentId: string;
  integrationId: string;
  principalId: string;
  accountId: string;
  cloud: 'aws' | 'gcp';
  kind: string;
  name: string;
  path: string | null;
  uniqueId: string | null;
  createdAt: string | null;
  lastUsedAt: string | null;
  tags: Record<string, string>;
  serviceLinked: boolean;
  /** Owner tag value as ingested; the rules re-read the tag with the current config too. */
  owner: string | null;
  attributes: Record<string, unknown>;
  /** Identity policies (direct, inline, group-inherited) or GCP role bindings. */
  attachments: Attachment[];
  boundary: Attachment | undefined;
  /** SCP levels from the root down to the account; empty where SCPs do not apply. */
  scps: PolicyDoc[][];
  status: PrincipalStatus;
  statusSource: 'principal_score' | 'computed';
  riskScore: number | null;
  /** principal_score.evidence_gap: why the logs cannot show all its activity (null: they can). */
  evidenceGap: string | null;
  tier: string | null;
  /** Actions with at least one successful call in the window (canonical names). */
  used: Set<string>;
  lastUsedDay: string | null;
  /** Days of the dormancy window the account's logs cover, and whether data events are logged. */
  coveredDays: number;
  dataEvents: boolean;
  accountName: string | null;
  accountRisk: 'low' | 'medium' | 'high' | 'critical';
}

export interface RecommendationInputs {
  context: AssessmentContext;
  principals: PrincipalFacts[];
  byId: Map<string, PrincipalFacts>;
  /** Newest day of usage_daily for the integration (any principal); null when none. */
  newestUsageDay: string | null;
  integrationOwner: string | null;
}

/** Whether logs can show a use of the action in this account (unobservable → never "unused"). */
export function isUnobservable(cloud: 'aws' | 'gcp', action: string, dataEvents: boolean): boolean {
  let observable: string | undefined;
  if (cloud === 'aws') observable = getAwsCatalog().find(action)?.observable;
  else if (isGcpPermission(action)) observable = classifyGcpPermission(action).observable;
  if (observable === 'never') return true;
  return observable === 'data-event' && !dataEvents;
}

function policyInfo(row: Row): PolicyInfo {
  const cloud = row.cloud === 'gcp' ? 'gcp' : 'aws';
  const document = json<unknown>(row.document);
  const policyId = String(row.policy_id);
  let doc: PolicyDoc | undefined;
  let problem = row.parse_error === null ? undefined : String(row.parse_error);
  if (!problem) {
    try {
      if (cloud === 'gcp') {
        const permissions = (document as { includedPermissions?: unknown }).includedPermissions;
        if (!Array.isArray(permissions)) throw new Error('the role lists no includedPermissions');
        doc = { cloud, id: policyId, permissions: permissions.map(String) };
      } else {
        doc = { cloud, id: policyId, parsed: parsePolicyDocument(document) };
      }
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
  }
  return {
    policyId,
    kind: String(row.kind),
    name: String(row.name),
    accountId: row.account_id === null ? null : String(row.account_id),
    cloud,
    document,
    sizeChars: Number(row.size_chars),
    doc,
    problem,
  };
}

/** Everything the rules read for one assessment, one query per table. */
export async function loadRecommendationInputs(
  db: Db,
  assessmentId: string,
  expander: ActionExpander,
): Promise<RecommendationInputs> {
  const context = await loadAssessmentContext(db, assessmentId);
  const a = { assessment_id: assessmentId };
  const window = {
    integration_id: context.integrationId,
    window_start: context.windowStart,
    window_end: context.windowEnd,
  };
  const [principalRows, policyRows, attachmentRows, usedRows, coverageRows, credentialRows] =
    await Promise.all([
      query(db, 'principals', a),
      query(db, 'policies', a),
      query(db, 'attachments', a),
      query(db, 'used', window),
      query(db, 'coverage', { ...window, dormancy_start: context.dormancyStart }),
      query(db, 'credential_use', a),
    ]);
  const scoreRows = await query(db, 'scores', a);
  const accountRows = await query(db, 'accounts', a);
  const scpTargetRows = await query(db, 'scp_targets', a);
  const newestUsageDay = await db.scalar<string | null>(
    'SELECT max(day)::VARCHAR FROM usage_daily WHERE integration_id = $i',
    { i: context.integrationId },
  );
  const integrationOwner = await db.scalar<string | null>(
    'SELECT owner FROM integration WHERE integration_id = $i',
    { i: context.integrationId },
  );

  const policies = new Map<string, PolicyInfo>();
  for (const row of policyRows) policies.set(String(row.policy_id), policyInfo(row));
  const attachmentsOf = new Map<string, Attachment[]>();
  for (const row of attachmentRows) {
    const policyId = String(row.policy_id);
    const policy = policies.get(policyId) ?? {
      policyId,
      kind: 'unknown',
      name: policyId,
      accountId: null,
      cloud: 'aws' as const,
      document: null,
      sizeChars: 0,
      doc: undefined,
      problem: 'the snapshot holds no document for this policy',
    };
    const list = attachmentsOf.get(String(row.principal_id)) ?? [];
    list.push({
      policy,
      via: String(row.via) as Attachment['via'],
      viaRef: String(row.via_ref),
      condition: row.condition === null ? null : json<unknown>(row.condition),
    });
    attachmentsOf.set(String(row.principal_id), list);
  }
  const usedOf = new Map<string, { actions: Set<string>; last: string | null }>();
  for (const row of usedRows) {
    const id = String(row.principal_id);
    const entry = usedOf.get(id) ?? { actions: new Set<string>(), last: null };
    const action = String(row.action);
    entry.actions.add(expander.canonicalName(action) ?? action);
    const day = String(row.last_day);
    if (!entry.last || day > entry.last) entry.last = day;
    usedOf.set(id, entry);
  }
  const coverage = new Map(
    coverageRows.map((r) => [
      r.account_id === null ? ANY_ACCOUNT : String(r.account_id),
      { days: Number(r.covered_days), dataEvents: r.data_events === true },
    ]),
  );
  const credentialUse = new Map(
    credentialRows.map((r) => [String(r.principal_id), String(r.last_used_at)]),
  );
  const scores = new Map(scoreRows.map((r) => [String(r.principal_id), r]));
  const accounts = new Map(accountRows.map((r) => [String(r.account_id), r]));
  const scpLevels = scpLevelsByAccount(policies, scpTargetRows, accountRows);

  const principals: PrincipalFacts[] = [];
  for (const row of principalRows) {
    const principalId = String(row.principal_id);
    const accountId = String(row.account_id);
    const all = attachmentsOf.get(principalId) ?? [];
    const used = usedOf.get(principalId);
    // GCP users and groups act in any project: the integration-wide coverage applies.
    const acrossProjects = row.cloud === 'gcp' && row.kind !== 'service-account';
    const cov = coverage.get(acrossProjects ? ANY_ACCOUNT : accountId) ?? {
      days: 0,
      dataEvents: false,
    };
    const createdAt = row.created_at === null ? null : String(row.created_at);
    const inventoryUse = [row.last_used_at, credentialUse.get(principalId)]
      .filter((v): v is string => typeof v === 'string')
      .sort()
      .at(-1);
    const score = scores.get(principalId);
    const account = accounts.get(accountId);
    const facts: PrincipalFacts = {
      assessmentId,
      integrationId: context.integrationId,
      principalId,
      accountId,
      cloud: row.cloud === 'gcp' ? 'gcp' : 'aws',
      kind: String(row.kind),
      name: String(row.name),
      path: row.path === null ? null : String(row.path),
      uniqueId: row.unique_id === null ? null : String(row.unique_id),
      createdAt,
      lastUsedAt: inventoryUse ?? null,
      tags: json<Record<string, string>>(row.tags),
      serviceLinked: row.service_linked === true,
      owner: row.owner === null ? null : String(row.owner),
      attributes: json<Record<string, unknown>>(row.attributes),
      attachments: all.filter((x) => x.via !== 'boundary'),
      boundary: all.find((x) => x.via === 'boundary'),
      // SCPs never restrict service-linked roles (nor the management account: no levels there).
      scps:
        row.cloud === 'aws' && row.service_linked !== true ? (scpLevels.get(accountId) ?? []) : [],
      status: 'active',
      statusSource: score ? 'principal_score' : 'computed',
      riskScore: score ? Number(score.risk_score) : null,
      evidenceGap: score?.evidence_gap ? String(score.evidence_gap) : null,
      tier: score ? String(score.tier) : null,
      used: used?.actions ?? new Set(),
      lastUsedDay: used?.last ?? null,
      coveredDays: cov.days,
      dataEvents: cov.dataEvents,
      accountName: account ? String(account.name) : null,
      accountRisk: account
        ? (String(account.risk_level) as PrincipalFacts['accountRisk'])
        : 'medium',
    };
    facts.status = score
      ? (String(score.status) as PrincipalStatus)
      : computeStatus(facts, context);
    principals.push(facts);
  }
  return {
    context,
    principals,
    byId: new Map(principals.map((p) => [p.principalId, p])),
    newestUsageDay: newestUsageDay ?? null,
    integrationOwner: integrationOwner ?? null,
  };
}

/**
 * SCP levels per member account: the SCPs attached to the root, each OU down the account's path,
 * and the account itself; every level must allow. The management account (the SCPs' owner) is
 * never restricted. A level with no SCP in the snapshot is left out rather than denying all.
 */
function scpLevelsByAccount(
  policies: Map<string, PolicyInfo>,
  targetRows: Row[],
  accountRows: Row[],
): Map<string, PolicyDoc[][]> {
  const byTarget = new Map<string, PolicyDoc[]>();
  let management: string | null = null;
  for (const row of targetRows) {
    const policy = policies.get(String(row.policy_id));
    if (policy?.kind !== 'scp' || !policy.doc) continue;
    management = policy.accountId;
    const list = byTarget.get(String(row.target_id)) ?? [];
    list.push(policy.doc);
    byTarget.set(String(row.target_id), list);
  }
  const out = new Map<string, PolicyDoc[][]>();
  if (byTarget.size === 0) return out;
  for (const row of accountRows) {
    const accountId = String(row.account_id);
    if (accountId === management) continue;
    const path = Array.isArray(row.parent_path) ? row.parent_path.map(String) : [];
    const levels = [...path, accountId]
      .map((node) => byTarget.get(node))
      .filter((level): level is PolicyDoc[] => level !== undefined && level.length > 0);
    out.set(accountId, levels);
  }
  return out;
}

/** Days of the dormancy window the logs must cover (the last two may still be in delivery). */
export function requiredCoverageDays(context: AssessmentContext): number {
  return Math.max(1, context.dormancyDays - 2);
}

/**
 * Status as the scoring engine defines it, for snapshots it has not scored: active (a use in the
 * dormancy window, logged or from inventory), new (created inside it), no-coverage (the logs miss
 * the account on some day of it), dormant otherwise.
 */
function computeStatus(facts: PrincipalFacts, context: AssessmentContext): PrincipalStatus {
  const start = context.dormancyStart;
  if (facts.lastUsedDay && facts.lastUsedDay >= start) return 'active';
  if (facts.lastUsedAt && facts.lastUsedAt.slice(0, 10) >= start) return 'active';
  if (facts.createdAt && facts.createdAt.slice(0, 10) >= start) return 'new';
  if (facts.coveredDays < requiredCoverageDays(context)) return 'no-coverage';
  return 'dormant';
}

/** The policy set deciding what a principal can do now: identity policies, boundary, SCPs. */
export function currentPolicySet(facts: PrincipalFacts): PolicySet {
  return {
    identity: facts.attachments.map((x) => x.policy.doc).filter((d): d is PolicyDoc => !!d),
    boundary: facts.boundary?.policy.doc,
    scps: facts.scps,
  };
}

/** Policies whose documents could not be read: removal artifacts cannot be proven around them. */
export function unreadablePolicies(facts: PrincipalFacts): PolicyInfo[] {
  const all = [...facts.attachments, ...(facts.boundary ? [facts.boundary] : [])];
  return all.map((x) => x.policy).filter((p) => p.doc === undefined);
}
