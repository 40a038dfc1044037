import type { Db } from '../../model/db.ts';

/**
 * Rows for API tests, written with SQL into the real tables (this is test data, the same rows
 * the engines write). Times are relative to the database clock so that "last 7 days" holds.
 */

export interface PrincipalSpec {
  id: string;
  name: string;
  kind: string;
  cloud?: 'aws' | 'gcp';
  account: string;
  status: string;
  tier: string;
  risk: number;
  overprivilege: number | null;
  highRisk: number | null;
  /** Days before now; null: never used. */
  lastUsedDaysAgo: number | null;
  createdDaysAgo?: number | null;
  owner?: string | null;
  tags?: Record<string, string>;
  unusedLevels?: string[];
  serviceLinked?: boolean;
  human?: number;
  machine?: number;
  granted?: number;
  /** Why the logs miss part of its activity (principal_score.evidence_gap). */
  evidenceGap?: string;
}

export interface AccountSpec {
  id: string;
  name: string;
  cloud?: 'aws' | 'gcp';
  inventoryStatus?: string;
  inventoryError?: string | null;
}

export interface AssessmentSpec {
  id: string;
  integrationId: string;
  status?: string;
  /** Days before now the run started (fractions allowed). */
  startedDaysAgo?: number;
  accounts: AccountSpec[];
  principals: PrincipalSpec[];
  errors?: Array<{ accountId: string | null; service: string; call: string; message: string }>;
}

export async function seedIntegration(
  db: Db,
  id: string,
  kind = 'aws-account',
  owner: string | null = 'secops@example.com',
): Promise<void> {
  await db.exec(`INSERT INTO integration VALUES ($id, $kind, $name, $owner, '{}', now(), now())`, {
    id,
    kind,
    name: `Integration ${id}`,
    owner,
  });
}

export async function seedAssessment(db: Db, spec: AssessmentSpec): Promise<void> {
  const started = spec.startedDaysAgo ?? 0.01;
  const status = spec.status ?? 'succeeded';
  await db.exec(
    `INSERT INTO assessment (assessment_id, integration_id, status, trigger, stage, started_at,
       finished_at, heartbeat_at, window_start, window_end, dormancy_days, account_count,
       principal_count, identity_count, event_count, object_count, rejected_object_count, errors)
     VALUES ($id, $integration, $status, 'cli', $stage,
       now() - to_milliseconds(CAST($started * 86400000 AS BIGINT)),
       CASE WHEN $status = 'running' THEN NULL ELSE now() - to_milliseconds(CAST($started * 86400000 AS BIGINT)) + INTERVAL 5 MINUTE END,
       now(), current_date - 90, current_date - 1, 90, $accounts, $principals, $identities, 123456, 42, 1, $errors)`,
    {
      id: spec.id,
      integration: spec.integrationId,
      status,
      stage: status === 'running' ? 'usage' : 'done',
      started,
      accounts: spec.accounts.length,
      principals: spec.principals.length,
      identities: spec.principals.reduce((s, p) => s + (p.human ?? 0) + (p.machine ?? 0), 0),
      errors: JSON.stringify(spec.errors ?? []),
    },
  );
  for (const a of spec.accounts) {
    await db.exec(
      `INSERT INTO account VALUES ($assessment, $id, $integration, $cloud, $name, ['r-root'], 'ACTIVE',
         '{"env":"prod"}', 'high', 'tag', $inv, $err)`,
      {
        assessment: spec.id,
        id: a.id,
        integration: spec.integrationId,
        cloud: a.cloud ?? 'aws',
        name: a.name,
        inv: a.inventoryStatus ?? 'ok',
        err: a.inventoryError ?? null,
      },
    );
  }
  for (const p of spec.principals) await insertPrincipal(db, spec, p);
}

async function insertPrincipal(db: Db, spec: AssessmentSpec, p: PrincipalSpec): Promise<void> {
  const cloud = p.cloud ?? 'aws';
  const params = {
    assessment: spec.id,
    id: p.id,
    integration: spec.integrationId,
    account: p.account,
    cloud,
    kind: p.kind,
    name: p.name,
    created: p.createdDaysAgo === undefined ? 400 : p.createdDaysAgo,
    lastUsed: p.lastUsedDaysAgo,
    tags: JSON.stringify(p.tags ?? {}),
    serviceLinked: p.serviceLinked ?? false,
    owner: p.owner ?? null,
  };
  await db.exec(
    `INSERT INTO principal (assessment_id, principal_id, integration_id, account_id, cloud, kind, name,
       path, unique_id, identity_type, created_at, last_used_at, last_used_source, tags,
       boundary_policy_id, trust_policy, service_linked, console_access, mfa_enabled, owner, attributes)
     VALUES ($assessment, $id, $integration, $account, $cloud, $kind, $name, '/', 'AIDA' || md5($id)[:12],
       'machine',
       CASE WHEN $created IS NULL THEN NULL ELSE now() - to_days(CAST($created AS INTEGER)) END,
       CASE WHEN $lastUsed IS NULL THEN NULL ELSE now() - to_milliseconds(CAST($lastUsed * 86400000 AS BIGINT)) END,
       'cloudtrail', $tags, NULL, NULL, $serviceLinked, NULL, NULL, $owner, '{}')`,
    params,
  );
  const granted = p.granted ?? 100;
  const unused = p.overprivilege === null ? 0 : Math.round((granted * p.overprivilege) / 100);
  await db.exec(
    `INSERT INTO principal_score VALUES ($assessment, $id, $integration, $account, $status,
       CASE WHEN $lastUsed IS NULL THEN NULL ELSE now() - to_milliseconds(CAST($lastUsed * 86400000 AS BIGINT)) END,
       'cloudtrail', $granted, $used, $unused, 0, $levels,
       CASE WHEN $unusedLevels = '' THEN CAST([] AS VARCHAR[]) ELSE string_split($unusedLevels, ',') END, $op, $hrop, 0.1, $risk,
       $breakdown, $tier, 'fp', $human, $machine, NULL, NULL, $evidenceGap)`,
    {
      assessment: spec.id,
      id: p.id,
      integration: spec.integrationId,
      account: p.account,
      status: p.status,
      lastUsed: p.lastUsedDaysAgo,
      granted,
      used: granted - unused,
      unused,
      levels: JSON.stringify({
        READ: { granted, used: granted - unused, unused, unobservable: 0 },
      }),
      unusedLevels: (p.unusedLevels ?? []).join(','),
      op: p.overprivilege,
      hrop: p.highRisk,
      risk: p.risk,
      breakdown: JSON.stringify([{ component: 'unused-admin', points: p.risk, reason: 'test' }]),
      tier: p.tier,
      human: p.human ?? 0,
      machine: p.machine ?? 0,
      evidenceGap: p.evidenceGap ?? null,
    },
  );
}
