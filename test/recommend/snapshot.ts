import { parseConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { evidenceWindow } from '../../ingest/assessment.ts';
import type { Db } from '../../model/db.ts';
import { insertRows } from '../../model/insert.ts';
import type { PolicyRow, PrincipalPolicyRow, PrincipalRow } from '../../model/rows.ts';
import { policyChars } from '../../recommend/limits.ts';

/**
 * Hand-built snapshots for the recommendation tests: inventory, usage and log coverage written
 * straight into a real DuckDB, so each test states exactly what a principal may do and used.
 * Ids follow the fixture scheme (accounts 1000000000NN, ARNs with real shapes).
 */

export const ACCOUNT = '100000000002';
export const OTHER_ACCOUNT = '100000000003';
export const MANAGEMENT = '100000000001';
export const INTEGRATION = 'test-org';
export const END = '2026-11-21';

function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

export interface PrincipalOptions {
  account?: string;
  tags?: Record<string, string>;
  createdAt?: string;
  path?: string;
  lastUsedAt?: string;
}

export class Snapshot {
  readonly assessmentId: string;
  readonly days: number;
  readonly windowStart: string;
  readonly principals: PrincipalRow[] = [];
  readonly policies = new Map<string, PolicyRow>();
  readonly attachments: PrincipalPolicyRow[] = [];
  readonly usage: Array<Record<string, unknown>> = [];
  readonly coverage = new Map<string, { days: number; dataEvents: boolean }>();
  readonly accountRisk = new Map<string, string>();
  readonly parentPath = new Map<string, string[]>();
  /** Accounts whose inventory failed in this snapshot (their principals are absent). */
  readonly failedAccounts = new Set<string>();
  readonly scpTargets: Array<{ policy_id: string; target_id: string; target_type: string }> = [];
  owner: string | null = 'security-team';

  constructor(options: { days?: number; assessmentId?: string } = {}) {
    this.days = options.days ?? 30;
    this.windowStart = evidenceWindow(this.days, END).start;
    this.assessmentId = options.assessmentId ?? `${INTEGRATION}-a1`;
  }

  /** Default: logs cover every account fully, with data events. */
  cover(account: string, days: number, dataEvents = true): this {
    this.coverage.set(account, { days, dataEvents });
    return this;
  }

  private principal(
    kind: string,
    id: string,
    name: string,
    options: PrincipalOptions,
    extra: Partial<PrincipalRow> = {},
  ): string {
    const account = options.account ?? ACCOUNT;
    this.principals.push({
      assessment_id: this.assessmentId,
      principal_id: id,
      integration_id: INTEGRATION,
      account_id: account,
      cloud: id.startsWith('arn:') ? 'aws' : 'gcp',
      kind,
      name,
      path: id.startsWith('arn:') ? (options.path ?? '/') : null,
      unique_id: `U${name
        .toUpperCase()
        .replace(/[^A-Z0-9]/g, '')
        .slice(0, 10)}`,
      identity_type: kind === 'role' || kind === 'service-account' ? 'machine' : 'human',
      created_at: options.createdAt ?? `${addDays(END, -400)}T00:00:00Z`,
      last_used_at: options.lastUsedAt ?? null,
      last_used_source: options.lastUsedAt ? 'RoleLastUsed' : null,
      tags: options.tags ?? {},
      boundary_policy_id: null,
      trust_policy: null,
      service_linked: false,
      console_access: null,
      mfa_enabled: null,
      owner: null,
      attributes: {},
      ...extra,
    });
    return id;
  }

  user(name: string, options: PrincipalOptions = {}): string {
    const account = options.account ?? ACCOUNT;
    return this.principal(
      'user',
      `arn:aws:iam::${account}:user${options.path ?? '/'}${name}`,
      name,
      options,
    );
  }

  role(name: string, options: PrincipalOptions & { serviceLinked?: boolean } = {}): string {
    const account = options.account ?? ACCOUNT;
    const path = options.serviceLinked
      ? '/aws-service-role/support.amazonaws.com/'
      : (options.path ?? '/');
    return this.principal(
      'role',
      `arn:aws:iam::${account}:role${path}${name}`,
      name,
      { ...options, path },
      {
        service_linked: options.serviceLinked ?? false,
      },
    );
  }

  group(name: string, members: string[], options: PrincipalOptions = {}): string {
    const account = options.account ?? ACCOUNT;
    const id = this.principal('group', `arn:aws:iam::${account}:group/${name}`, name, options, {
      attributes: { members },
    });
    return id;
  }

  serviceAccount(
    email: string,
    project: string,
    options: PrincipalOptions & { disabled?: boolean } = {},
  ): string {
    return this.principal(
      'service-account',
      `serviceAccount:${email}`,
      email,
      { ...options, account: project },
      {
        attributes: { email, disabled: options.disabled ?? false },
      },
    );
  }

  gcpUser(email: string, organization: string): string {
    return this.principal('user', `user:${email}`, email, { account: organization });
  }

  gcpGroup(email: string, organization: string): string {
    return this.principal('group', `group:${email}`, email, { account: organization });
  }

  managed(
    name: string,
    document: unknown,
    options: { account?: string; awsManaged?: boolean } = {},
  ): string {
    const arn = options.awsManaged
      ? `arn:aws:iam::aws:policy/${name}`
      : `arn:aws:iam::${options.account ?? ACCOUNT}:policy/${name}`;
    this.policies.set(arn, {
      assessment_id: this.assessmentId,
      policy_id: arn,
      integration_id: INTEGRATION,
      account_id: options.awsManaged ? null : (options.account ?? ACCOUNT),
      cloud: 'aws',
      kind: options.awsManaged ? 'aws-managed' : 'customer-managed',
      name,
      version_id: 'v1',
      document,
      size_chars: policyChars(document),
      parse_error: null,
    });
    return arn;
  }

  /** An SCP owned by the management account, attached to roots, OUs or accounts. */
  scp(name: string, document: unknown, targets: string[]): string {
    const id = `arn:aws:organizations::${MANAGEMENT}:policy/o-11111111aa/service_control_policy/p-${name}`;
    this.policies.set(id, {
      assessment_id: this.assessmentId,
      policy_id: id,
      integration_id: INTEGRATION,
      account_id: MANAGEMENT,
      cloud: 'aws',
      kind: 'scp',
      name,
      version_id: null,
      document,
      size_chars: policyChars(document),
      parse_error: null,
    });
    for (const target of targets) {
      this.scpTargets.push({
        policy_id: id,
        target_id: target,
        target_type: target.startsWith('r-')
          ? 'ROOT'
          : target.startsWith('ou-')
            ? 'ORGANIZATIONAL_UNIT'
            : 'ACCOUNT',
      });
    }
    return id;
  }

  gcpRole(name: string, permissions: string[]): string {
    const document = { includedPermissions: permissions };
    this.policies.set(name, {
      assessment_id: this.assessmentId,
      policy_id: name,
      integration_id: INTEGRATION,
      account_id: null,
      cloud: 'gcp',
      kind: name.startsWith('roles/') ? 'gcp-predefined' : 'gcp-custom',
      name,
      version_id: null,
      document,
      size_chars: JSON.stringify(document).length,
      parse_error: null,
    });
    return name;
  }

  attach(
    principalId: string,
    policyId: string,
    via: PrincipalPolicyRow['via'] = 'direct',
    viaRef = principalId,
  ): this {
    this.attachments.push({
      assessment_id: this.assessmentId,
      principal_id: principalId,
      policy_id: policyId,
      via,
      via_ref: viaRef,
      condition: null,
    });
    return this;
  }

  inline(principalId: string, name: string, document: unknown): string {
    const id = `${principalId}#inline/${name}`;
    this.policies.set(id, {
      assessment_id: this.assessmentId,
      policy_id: id,
      integration_id: INTEGRATION,
      account_id: principalId.split(':')[4]!,
      cloud: 'aws',
      kind: 'inline',
      name,
      version_id: null,
      document,
      size_chars: policyChars(document),
      parse_error: null,
    });
    this.attach(principalId, id, 'inline');
    return id;
  }

  /** Group policies reach members as `via = group` rows, as the ingestion writes them. */
  member(userId: string, groupId: string): this {
    for (const a of this.attachments.filter((x) => x.principal_id === groupId)) {
      this.attach(userId, a.policy_id, 'group', groupId);
    }
    return this;
  }

  boundary(principalId: string, policyArn: string): this {
    const p = this.principals.find((x) => x.principal_id === principalId)!;
    p.boundary_policy_id = policyArn;
    return this.attach(principalId, policyArn, 'boundary');
  }

  bind(member: string, role: string, resource: string): this {
    return this.attach(member, role, 'binding', resource);
  }

  /** Successful calls on `daysAgo` (0 = the last day of the window). */
  use(
    principalId: string,
    actions: string[],
    options: { daysAgo?: number; denied?: boolean; account?: string } = {},
  ): this {
    const day = addDays(END, -(options.daysAgo ?? 1));
    for (const action of actions) {
      this.usage.push({
        integration_id: INTEGRATION,
        principal_id: principalId,
        action,
        day,
        account_id: options.account ?? ACCOUNT,
        calls: 3,
        errors: options.denied ? 3 : 0,
        denied: options.denied ? 3 : 0,
        first_seen: `${day}T01:00:00Z`,
        last_seen: `${day}T02:00:00Z`,
        source: 'cloudtrail-s3',
      });
    }
    return this;
  }

  async write(db: Db): Promise<{ assessmentId: string }> {
    const window = evidenceWindow(this.days, END);
    await db.exec(
      `INSERT INTO integration (integration_id, kind, name, owner, config, created_at, updated_at)
       VALUES ($id, 'aws-organization', 'Test org', $owner, '{}', now(), now())
       ON CONFLICT DO UPDATE SET owner = excluded.owner`,
      { id: INTEGRATION, owner: this.owner },
    );
    await db.exec(
      `INSERT INTO assessment (assessment_id, integration_id, status, trigger, stage, started_at, window_start,
         window_end, dormancy_days, errors)
       VALUES ($id, $i, 'running', 'cli', 'recommend', now(), $start::DATE, $end::DATE, $days, '[]')`,
      {
        id: this.assessmentId,
        i: INTEGRATION,
        start: window.start,
        end: window.end,
        days: this.days,
      },
    );
    const accounts = new Set(this.principals.map((p) => p.account_id));
    for (const a of this.coverage.keys()) accounts.add(a);
    for (const a of this.failedAccounts) accounts.add(a);
    await insertRows(
      db,
      'account',
      [...accounts].map((account_id) => ({
        assessment_id: this.assessmentId,
        account_id,
        integration_id: INTEGRATION,
        cloud: /^\d{12}$/.test(account_id) ? 'aws' : 'gcp',
        name: `account-${account_id}`,
        parent_path: this.parentPath.get(account_id) ?? [],
        status: 'ACTIVE',
        tags: {},
        risk_level: this.accountRisk.get(account_id) ?? 'medium',
        risk_source: 'default',
        inventory_status: this.failedAccounts.has(account_id) ? 'failed' : 'ok',
        inventory_error: this.failedAccounts.has(account_id) ? 'AccessDenied' : null,
      })),
    );
    await insertRows(db, 'principal', this.principals);
    await insertRows(db, 'policy', [...this.policies.values()]);
    await insertRows(db, 'principal_policy', this.attachments);
    await insertRows(
      db,
      'policy_target',
      this.scpTargets.map((t) => ({ assessment_id: this.assessmentId, ...t })),
    );
    // Usage rows are cumulative per integration: a second snapshot of the same world adds none.
    const have = await db.scalar<number>(
      'SELECT count(*) FROM usage_daily WHERE integration_id = $i',
      {
        i: INTEGRATION,
      },
    );
    if (!have) await insertRows(db, 'usage_daily', mergeUsage(this.usage));
    const coverageRows: Array<Record<string, unknown>> = [];
    for (const account of accounts) {
      const c = this.coverage.get(account) ?? { days: this.days, dataEvents: true };
      for (let d = 0; d < c.days; d++) {
        coverageRows.push({
          integration_id: INTEGRATION,
          account_id: account,
          region: /^\d{12}$/.test(account) ? 'us-east-1' : 'global',
          day: addDays(END, -d),
          source: 'cloudtrail-s3',
          data_events: c.dataEvents,
          records: 10,
        });
      }
    }
    await db.exec('DELETE FROM log_coverage WHERE integration_id = $i', { i: INTEGRATION });
    await insertRows(db, 'log_coverage', coverageRows);
    return { assessmentId: this.assessmentId };
  }
}

function mergeUsage(rows: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  const byKey = new Map<string, Record<string, unknown>>();
  for (const r of rows) {
    const key = [r.principal_id, r.action, r.day, r.account_id].join('|');
    const existing = byKey.get(key);
    if (!existing) byKey.set(key, { ...r });
    else {
      existing.calls = Number(existing.calls) + Number(r.calls);
      existing.denied = Number(existing.denied) + Number(r.denied);
      existing.errors = Number(existing.errors) + Number(r.errors);
    }
  }
  return [...byKey.values()];
}

export function testConfig(
  extra: Record<string, unknown> = {},
  integration: Record<string, unknown> = {},
): Config {
  return parseConfig({
    lookbackDays: 30,
    dormancyDays: 30,
    ownerTagKey: 'owner',
    owner: 'security-team',
    integrations: [
      {
        id: INTEGRATION,
        kind: 'aws-organization',
        managementRoleArn: 'arn:aws:iam::100000000001:role/AccessDiscoveryReadOnly',
        memberRoleName: 'AccessDiscoveryReadOnly',
        remediationRoleName: 'AccessDiscoveryRemediation',
        trail: { bucket: 'fixture-org-trail' },
        ...integration,
      },
    ],
    ...extra,
  });
}

export const ALLOW_ALL = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};

export function allow(
  actions: string | string[],
  resource: string | string[] = '*',
  extra: Record<string, unknown> = {},
) {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: actions, Resource: resource, ...extra }],
  };
}
