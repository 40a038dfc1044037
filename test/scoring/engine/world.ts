import { parseConfig } from '../../../config/load.ts';
import type { Config } from '../../../config/schema.ts';
import { silentLogger } from '../../../lib/log.ts';
import type { Db } from '../../../model/db.ts';
import { insertRows } from '../../../model/insert.ts';
import type {
  AccountRow,
  PolicyRow,
  PrincipalPolicyRow,
  PrincipalRow,
} from '../../../model/rows.ts';
import { type ScoreSummary, scoreAssessment } from '../../../scoring/engine/score.ts';

/**
 * A small hand-built snapshot, inserted as real rows (test data, not mocks), then scored.
 * Window: 2026-08-24 .. 2026-11-21 (90 days), dormancy 90 days.
 */

export const INTEGRATION = 'hand';
export const WINDOW_START = '2026-08-24';
export const WINDOW_END = '2026-11-21';
export const ACCOUNT = '111111111111';
export const MANAGEMENT = '999999999999';
export const OLD = '2025-01-01T00:00:00Z';

export const config: Config = parseConfig({
  integrations: [{ id: INTEGRATION, kind: 'import', directory: '.' }],
});

export function doc(...statements: Array<Record<string, unknown>>): Record<string, unknown> {
  return { Version: '2012-10-17', Statement: statements };
}

export function allow(action: string | string[], extra: Record<string, unknown> = {}) {
  return { Effect: 'Allow', Action: action, Resource: '*', ...extra };
}

export function deny(action: string | string[], extra: Record<string, unknown> = {}) {
  return { Effect: 'Deny', Action: action, Resource: '*', ...extra };
}

export function days(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

export class World {
  readonly accounts: AccountRow[] = [];
  readonly principals: PrincipalRow[] = [];
  readonly policies: PolicyRow[] = [];
  readonly attachments: PrincipalPolicyRow[] = [];
  readonly targets: Array<Record<string, unknown>> = [];
  readonly usage: Array<Record<string, unknown>> = [];
  readonly coverage: Array<Record<string, unknown>> = [];
  readonly identities: Array<Record<string, unknown>> = [];

  constructor(readonly assessmentId = 'a1') {}

  account(id: string, extra: Partial<AccountRow> = {}): this {
    this.accounts.push({
      assessment_id: this.assessmentId,
      account_id: id,
      integration_id: INTEGRATION,
      cloud: 'aws',
      name: id,
      parent_path: [],
      status: 'ACTIVE',
      tags: {},
      risk_level: 'medium',
      risk_source: 'default',
      inventory_status: 'ok',
      inventory_error: null,
      ...extra,
    });
    return this;
  }

  principal(id: string, extra: Partial<PrincipalRow> = {}): this {
    const kind =
      extra.kind ?? (id.includes(':role/') ? 'role' : id.includes(':group/') ? 'group' : 'user');
    this.principals.push({
      assessment_id: this.assessmentId,
      principal_id: id,
      integration_id: INTEGRATION,
      account_id: id.split(':')[4] ?? ACCOUNT,
      cloud: 'aws',
      kind,
      name: id.split('/').pop() ?? id,
      path: '/',
      unique_id: null,
      identity_type: 'machine',
      created_at: OLD,
      last_used_at: null,
      last_used_source: null,
      tags: {},
      boundary_policy_id: null,
      trust_policy: null,
      service_linked: false,
      console_access: null,
      mfa_enabled: null,
      owner: null,
      attributes: {},
      ...extra,
    });
    return this;
  }

  policy(id: string, document: unknown, extra: Partial<PolicyRow> = {}): this {
    this.policies.push({
      assessment_id: this.assessmentId,
      policy_id: id,
      integration_id: INTEGRATION,
      account_id: id.includes(':aws:policy/') ? null : ACCOUNT,
      cloud: 'aws',
      kind: 'customer-managed',
      name: id.split('/').pop() ?? id,
      version_id: null,
      document,
      size_chars: JSON.stringify(document).length,
      parse_error: null,
      ...extra,
    });
    return this;
  }

  attach(
    principalId: string,
    policyId: string,
    via: PrincipalPolicyRow['via'] = 'direct',
    viaRef = principalId,
    condition: unknown = null,
  ): this {
    this.attachments.push({
      assessment_id: this.assessmentId,
      principal_id: principalId,
      policy_id: policyId,
      via,
      via_ref: viaRef,
      condition,
    });
    return this;
  }

  scp(policyId: string, document: unknown, targets: string[]): this {
    this.policy(policyId, document, { kind: 'scp', account_id: MANAGEMENT });
    for (const t of targets) {
      this.targets.push({
        assessment_id: this.assessmentId,
        policy_id: policyId,
        target_id: t,
        target_type: t.startsWith('r-')
          ? 'ROOT'
          : t.startsWith('ou-')
            ? 'ORGANIZATIONAL_UNIT'
            : 'ACCOUNT',
      });
    }
    return this;
  }

  used(principalId: string, action: string, day: string, calls = 3, denied = 0): this {
    this.usage.push({
      integration_id: INTEGRATION,
      principal_id: principalId,
      action,
      day,
      account_id: principalId.split(':')[4] ?? ACCOUNT,
      calls,
      errors: denied,
      denied,
      first_seen: `${day}T10:00:00Z`,
      last_seen: `${day}T11:00:00Z`,
      source: 'import',
    });
    return this;
  }

  covered(accountId: string, dayList: string[], dataEvents = false, region = 'us-east-1'): this {
    for (const day of dayList) {
      this.coverage.push({
        integration_id: INTEGRATION,
        account_id: accountId,
        region,
        day,
        source: 'import',
        data_events: dataEvents,
        records: 10,
      });
    }
    return this;
  }

  identity(principalId: string, identity: string, kind: 'human' | 'machine', day: string): this {
    this.identities.push({
      integration_id: INTEGRATION,
      principal_id: principalId,
      identity,
      identity_kind: kind,
      identity_type: kind === 'human' ? 'sso' : 'instance',
      day,
      calls: 1,
      first_seen: `${day}T10:00:00Z`,
      last_seen: `${day}T10:00:00Z`,
      last_user_agent: null,
      last_source_ip: null,
    });
    return this;
  }

  /** Insert everything (the integration and assessment rows included). */
  async load(db: Db, windowEnd = WINDOW_END, windowStart = WINDOW_START): Promise<void> {
    await db.exec(
      `INSERT INTO integration VALUES ($i, 'import', $i, NULL, '{}', now(), now()) ON CONFLICT DO NOTHING`,
      { i: INTEGRATION },
    );
    await db.exec(
      `INSERT INTO assessment (assessment_id, integration_id, status, trigger, stage, started_at,
         window_start, window_end, dormancy_days, errors)
       VALUES ($a, $i, 'running', 'cli', 'scoring', now(), $s::DATE, $e::DATE, 90, '[]')`,
      { a: this.assessmentId, i: INTEGRATION, s: windowStart, e: windowEnd },
    );
    await insertRows(db, 'account', this.accounts);
    await insertRows(db, 'principal', this.principals);
    await insertRows(db, 'policy', this.policies);
    await insertRows(db, 'principal_policy', this.attachments);
    await insertRows(db, 'policy_target', this.targets);
    await insertRows(db, 'usage_daily', this.usage);
    await insertRows(db, 'log_coverage', this.coverage);
    await insertRows(db, 'identity_usage', this.identities);
  }

  async score(db: Db): Promise<ScoreSummary> {
    await this.load(db);
    return scoreAssessment(db, this.assessmentId, { config, logger: silentLogger });
  }
}

/** Effective actions of a principal (through its fingerprint), with their flags. */
export async function effectiveOf(
  db: Db,
  principalId: string,
  assessmentId = 'a1',
): Promise<Map<string, { resource_scope: string; conditional: boolean; deny_partial: boolean }>> {
  const rows = await db.all<{
    action: string;
    resource_scope: string;
    conditional: boolean;
    deny_partial: boolean;
  }>(
    `SELECT a.action, a.resource_scope, a.conditional, a.deny_partial
     FROM principal_score s
     JOIN effective_action e ON e.assessment_id = s.assessment_id AND e.fingerprint = s.fingerprint,
     unnest(e.actions) AS t(a)
     WHERE s.assessment_id = $a AND s.principal_id = $p`,
    { a: assessmentId, p: principalId },
  );
  return new Map(rows.map((r) => [r.action, r]));
}

export async function scoreOf(db: Db, principalId: string, assessmentId = 'a1') {
  const row = await db.one<{
    status: string;
    status_reason: string;
    granted_count: number;
    used_count: number;
    unused_count: number;
    unobservable_count: number;
    levels: string;
    unused_levels: string[];
    overprivilege_pct: number | null;
    high_risk_overprivilege_pct: number | null;
    privileged_share: number;
    risk_score: number;
    risk_breakdown: string;
    tier: string;
    last_used_at: string | null;
    last_used_source: string | null;
    human_identities: number;
    machine_identities: number;
  }>('SELECT * FROM principal_score WHERE assessment_id = $a AND principal_id = $p', {
    a: assessmentId,
    p: principalId,
  });
  if (!row) throw new Error(`no score for ${principalId}`);
  return {
    ...row,
    levels: JSON.parse(row.levels) as Record<
      string,
      { granted: number; used: number; unused: number; unobservable: number }
    >,
    breakdown: JSON.parse(row.risk_breakdown) as Array<{
      component: string;
      points: number;
      max: number;
      reason: string;
      evidence: unknown;
    }>,
  };
}
