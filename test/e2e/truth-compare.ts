import type { Truth, TruthPrincipal, TruthScenario } from '../../fixtures/generate/types.ts';
import type { Db } from '../../model/db.ts';
import { type PrincipalActionState, principalActionStates } from '../../scoring/engine/actions.ts';

/**
 * Compares an assessed fixture world with the generator's truth.json, exactly: every
 * principal's status and used actions, the state of every action its logs cannot show, and
 * every expectation of every planted scenario. Returns the differences (empty = reproduced),
 * formatted by {@link formatMismatches}.
 */

export interface Mismatch {
  principal: string;
  what: string;
  expected: unknown;
  actual: unknown;
  scenario?: string;
}

type ProductPrincipal = {
  principal_id: string;
  account_id: string;
  cloud: string;
  kind: string;
  status: string;
  status_reason: string;
  tags: string;
  boundary_policy_id: string | null;
  trust_policy: string | null;
  service_linked: boolean;
  console_access: boolean | null;
  mfa_enabled: boolean | null;
  attributes: string;
  risk_breakdown: string;
  scp_path: string;
  assessment_id: string;
};

interface ProductView {
  principals: Map<string, ProductPrincipal>;
  /** Per principal, the identities that acted through it: `id|kind|type`. */
  identities: Map<string, Set<string>>;
  /** Per principal, every action with its state (used ones even when not granted). */
  actions: Map<string, Map<string, PrincipalActionState>>;
  db: Db;
}

const LEVELS = ['LIST', 'READ', 'TAGGING', 'WRITE', 'IAM', 'ADMIN'];

function sortedList(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

function setDiff(expected: string[], actual: string[]): { missing: string[]; extra: string[] } {
  const a = new Set(actual);
  const e = new Set(expected);
  return {
    missing: expected.filter((x) => !a.has(x)),
    extra: actual.filter((x) => !e.has(x)),
  };
}

async function productView(db: Db, assessmentIds: string[], truth: Truth): Promise<ProductView> {
  const principals = new Map<string, ProductPrincipal>();
  const actions = new Map<string, Map<string, PrincipalActionState>>();
  const identities = new Map<string, Set<string>>();
  for (const assessmentId of assessmentIds) {
    const rows = await db.all<ProductPrincipal>(
      `SELECT p.principal_id, p.account_id, p.cloud, p.kind, s.status, s.status_reason,
              p.tags::VARCHAR AS tags, p.boundary_policy_id, p.trust_policy::VARCHAR AS trust_policy,
              p.service_linked, p.console_access, p.mfa_enabled, p.attributes::VARCHAR AS attributes,
              s.risk_breakdown::VARCHAR AS risk_breakdown, f.scp_path::VARCHAR AS scp_path, s.assessment_id
       FROM principal p
       JOIN principal_score s USING (assessment_id, principal_id)
       JOIN scoring_fingerprint f ON f.assessment_id = s.assessment_id AND f.fingerprint = s.fingerprint
       WHERE p.assessment_id = $a`,
      { a: assessmentId },
    );
    for (const r of rows) principals.set(r.principal_id, r);
    const acting = await db.all<{
      principal_id: string;
      identity: string;
      kind: string;
      type: string;
    }>(
      `SELECT DISTINCT i.principal_id, i.identity, i.identity_kind AS kind, i.identity_type AS type
       FROM identity_usage i JOIN assessment a ON a.integration_id = i.integration_id
       WHERE a.assessment_id = $a AND i.day BETWEEN a.window_start AND a.window_end`,
      { a: assessmentId },
    );
    for (const r of acting) {
      const set = identities.get(r.principal_id) ?? new Set<string>();
      set.add(`${r.identity}|${r.kind}|${r.type}`);
      identities.set(r.principal_id, set);
    }
    // Used actions of everyone, plus the state of every action the truth or a scenario names.
    const named = new Set<string>();
    for (const p of Object.values(truth.principals))
      for (const a of [...p.unloggedActions, ...p.deniedActions, ...p.usedActions]) named.add(a);
    for (const s of truth.scenarios) {
      for (const value of Object.values(s.expect)) {
        if (Array.isArray(value))
          for (const v of value) if (typeof v === 'string' && /^[\w-]+[:.]/.test(v)) named.add(v);
      }
    }
    const states = [
      ...(await principalActionStates(db, assessmentId, { states: ['used'] })),
      ...(await principalActionStates(db, assessmentId, {
        actions: [...named],
        states: ['unused', 'unobservable'],
      })),
    ];
    for (const s of states) {
      const m = actions.get(s.principalId) ?? new Map<string, PrincipalActionState>();
      actions.set(s.principalId, m);
      m.set(s.action, s);
    }
  }
  return { principals, actions, identities, db };
}

function usedOf(view: ProductView, principalId: string): string[] {
  return sortedList(
    [...(view.actions.get(principalId)?.values() ?? [])]
      .filter((a) => a.state === 'used')
      .map((a) => a.action),
  );
}

function comparePrincipal(
  id: string,
  truth: TruthPrincipal,
  product: ProductPrincipal,
  view: ProductView,
): Mismatch[] {
  const out: Mismatch[] = [];
  if (product.status !== truth.status)
    out.push({
      principal: id,
      what: 'status',
      expected: truth.status,
      actual: `${product.status} (${product.status_reason})`,
    });
  if (product.kind !== truth.kind)
    out.push({ principal: id, what: 'kind', expected: truth.kind, actual: product.kind });
  if (product.account_id !== truth.accountId)
    out.push({
      principal: id,
      what: 'account',
      expected: truth.accountId,
      actual: product.account_id,
    });
  const used = usedOf(view, id);
  const diff = setDiff(truth.usedActions, used);
  if (diff.missing.length > 0 || diff.extra.length > 0)
    out.push({
      principal: id,
      what: 'used actions',
      expected: `also ${JSON.stringify(diff.missing)}`,
      actual: `also ${JSON.stringify(diff.extra)}`,
    });
  // The identities seen acting through it (groups never act).
  if (truth.kind !== 'group') {
    const acting = sortedList(view.identities.get(id) ?? []);
    const expected = sortedList(truth.identities.map((i) => `${i.id}|${i.kind}|${i.type}`));
    const d = setDiff(expected, acting);
    if (d.missing.length > 0 || d.extra.length > 0)
      out.push({
        principal: id,
        what: 'identities (id|kind|type)',
        expected: `also ${JSON.stringify(d.missing)}`,
        actual: `also ${JSON.stringify(d.extra)}`,
      });
  }
  // Real uses no log shows must never be called unused.
  const usedSet = new Set(truth.usedActions);
  const states = view.actions.get(id);
  const wronglyUnused = truth.unloggedActions.filter(
    (a) => !usedSet.has(a) && states?.get(a)?.state === 'unused',
  );
  if (wronglyUnused.length > 0)
    out.push({
      principal: id,
      what: 'unlogged actions called unused',
      expected: 'unobservable',
      actual: `unused: ${JSON.stringify(wronglyUnused)}`,
    });
  return out;
}

function globRegex(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 'i');
}

type ScenarioCheck = (ctx: {
  id: string;
  value: unknown;
  truth: Truth;
  principal: ProductPrincipal;
  view: ProductView;
  scenario: TruthScenario;
}) => Promise<{ expected: unknown; actual: unknown } | undefined>;

const stateOf = (view: ProductView, id: string, action: string) =>
  view.actions.get(id)?.get(action);

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

async function attachments(view: ProductView, p: ProductPrincipal) {
  return view.db.all<{ policy_id: string; via: string; via_ref: string; condition: string | null }>(
    `SELECT policy_id, via, via_ref, condition::VARCHAR AS condition FROM principal_policy
     WHERE assessment_id = $a AND principal_id = $p ORDER BY ALL`,
    { a: p.assessment_id, p: p.principal_id },
  );
}

const differs = (expected: unknown, actual: unknown) =>
  JSON.stringify(expected) === JSON.stringify(actual) ? undefined : { expected, actual };

/** One check per `expect` key; an unknown key is a mismatch, so no expectation goes unchecked. */
const CHECKS: Record<string, ScenarioCheck> = {
  status: async ({ value, principal }) => differs(value, principal.status),
  usedActions: async ({ id, value, view }) => differs(strings(value).sort(), usedOf(view, id)),
  usedPrivileged: async ({ id, value, view }) =>
    differs(
      strings(value).sort(),
      [...(view.actions.get(id)?.values() ?? [])]
        .filter((a) => a.state === 'used' && a.levelRank >= 4)
        .map((a) => a.action)
        .sort(),
    ),
  unobservableActions: async ({ id, value, view }) => unobservable(view, id, strings(value)),
  unobservablePermissions: async ({ id, value, view }) => unobservable(view, id, strings(value)),
  notEffective: async ({ id, value, view }) => {
    const granted = strings(value).filter((a) => stateOf(view, id, a)?.granted);
    return granted.length > 0
      ? { expected: 'none of them effective', actual: `effective: ${granted.join(', ')}` }
      : undefined;
  },
  deniedActions: async ({ id, value, view, truth }) => {
    const bad = strings(value).filter((a) => {
      const s = stateOf(view, id, a);
      return s?.granted || s?.state === 'used';
    });
    const inTruth = sortedList(truth.principals[id]?.deniedActions ?? []);
    const missing = strings(value).filter((a) => !inTruth.includes(a));
    if (bad.length === 0 && missing.length === 0) return undefined;
    return {
      expected: 'refused, so neither effective nor used',
      actual: `effective or used: ${bad.join(', ')}${missing.length ? `; not denied in truth: ${missing.join(', ')}` : ''}`,
    };
  },
  grantedPrivilegedExamples: async ({ id, value, view }) => {
    const missing = strings(value).filter((a) => !stateOf(view, id, a)?.granted);
    return missing.length > 0
      ? { expected: 'all effective', actual: `not effective: ${missing.join(', ')}` }
      : undefined;
  },
  conditionalActions: async ({ id, value, view }) => {
    const bad = strings(value).filter((a) => stateOf(view, id, a)?.conditional !== true);
    return bad.length > 0
      ? { expected: 'effective and conditional', actual: `not: ${bad.join(', ')}` }
      : undefined;
  },
  notAction: async ({ id, value, view }) => {
    const states = await principalActionStates(view.db, view.principals.get(id)!.assessment_id, {
      principals: [id],
    });
    const patterns = strings(value).map(globRegex);
    const held = states.filter((s) => s.granted && patterns.some((p) => p.test(s.action)));
    return held.length > 0
      ? {
          expected: 'no effective action matching',
          actual: held
            .slice(0, 5)
            .map((s) => s.action)
            .join(', '),
        }
      : undefined;
  },
  attachedPolicies: async ({ value, view, principal }) => {
    const held = (await attachments(view, principal)).map((a) => a.policy_id);
    const missing = strings(value).filter((p) => !held.includes(p));
    return missing.length > 0 ? { expected: strings(value), actual: held } : undefined;
  },
  policyArn: async ({ value, view, principal }) => {
    const held = (await attachments(view, principal)).map((a) => a.policy_id);
    return held.includes(String(value)) ? undefined : { expected: value, actual: held };
  },
  boundaryArn: async ({ value, principal }) => differs(value, principal.boundary_policy_id),
  project: async ({ value, principal }) => differs(value, principal.account_id),
  scp: async ({ value, view, principal }) => {
    const ids = (JSON.parse(principal.scp_path) as string[][]).flat();
    const names = await view.db.all<{ name: string }>(
      `SELECT DISTINCT name FROM policy
       WHERE assessment_id = $a AND list_contains(from_json($ids, '["VARCHAR"]'), policy_id)`,
      { a: principal.assessment_id, ids: JSON.stringify(ids) },
    );
    return names.some((n) => n.name === value)
      ? undefined
      : { expected: `SCP ${value} on the path`, actual: names.map((n) => n.name) };
  },
  tag: async ({ value, principal }) => {
    const { Key, Value } = value as { Key: string; Value: string };
    const tags = JSON.parse(principal.tags) as Record<string, string>;
    return tags[Key] === Value ? undefined : { expected: `${Key}=${Value}`, actual: tags };
  },
  remediable: async ({ value, view, principal }) => {
    const n = await view.db.scalar<number>(
      "SELECT count(*) FROM recommendation WHERE assessment_id = $a AND principal_id = $p AND state = 'open'",
      { a: principal.assessment_id, p: principal.principal_id },
    );
    return differs(value, Number(n) > 0);
  },
  serviceLinked: async ({ value, principal }) => differs(value, principal.service_linked),
  consoleAccess: async ({ value, principal }) => differs(value, principal.console_access),
  mfaActive: async ({ value, principal }) => differs(value, principal.mfa_enabled),
  trustedPrincipals: async ({ value, principal }) => trusted(principal, strings(value)),
  trustedAccounts: async ({ value, principal }) => trusted(principal, strings(value)),
  // Exposure to the accounts: a finding naming each, or one open to any AWS principal.
  externalAccounts: async ({ value, principal }) => {
    const exposure = breakdown(principal).find((c) => c.component === 'exposure');
    const evidence = JSON.stringify(exposure?.evidence ?? []);
    const anyPrincipal = /AWS \\"\*\\"|Principal \\"\*\\"/.test(evidence);
    const missing = strings(value).filter((a) => !anyPrincipal && !evidence.includes(a));
    return missing.length > 0 || !exposure || exposure.points === 0
      ? { expected: `exposure to ${strings(value).join(', ')}`, actual: exposure }
      : undefined;
  },
  trustPrincipal: async ({ value, principal }) => {
    const exposure = breakdown(principal).find((c) => c.component === 'exposure');
    return value === '*' && exposure && exposure.points >= exposure.max
      ? undefined
      : { expected: `exposure to principal ${value}`, actual: exposure };
  },
  usedAccessKeys: async ({ value, view, principal, truth }) =>
    keyUse(view, principal, strings(value), true, truth),
  unusedAccessKeys: async ({ value, view, principal, truth }) =>
    keyUse(view, principal, strings(value), false, truth),
  userManagedKeys: async ({ value, view, principal }) => {
    const n = await view.db.scalar<number>(
      "SELECT count(*) FROM credential WHERE assessment_id = $a AND principal_id = $p AND kind = 'service-account-key'",
      { a: principal.assessment_id, p: principal.principal_id },
    );
    return differs(value, Number(n));
  },
  lastUsedRegion: async ({ value, view, principal }) => {
    const regions = await view.db.all<{ region: string | null }>(
      `SELECT last_used_region AS region FROM credential WHERE assessment_id = $a AND principal_id = $p
       UNION SELECT attributes->>'lastUsedRegion' FROM principal WHERE assessment_id = $a AND principal_id = $p`,
      { a: principal.assessment_id, p: principal.principal_id },
    );
    return regions.some((r) => r.region === value)
      ? undefined
      : { expected: value, actual: regions.map((r) => r.region) };
  },
  accountCoverageStartDay: async ({ value, view, principal, truth }) => {
    const first = await view.db.scalar<string | null>(
      `SELECT min(day)::VARCHAR FROM log_coverage c JOIN assessment a ON a.integration_id = c.integration_id
       WHERE a.assessment_id = $a AND c.account_id = $acc AND c.day >= a.window_start`,
      { a: principal.assessment_id, acc: principal.account_id },
    );
    const day = new Date(Date.parse(`${truth.startDate}T00:00:00Z`) + Number(value) * 86_400_000)
      .toISOString()
      .slice(0, 10);
    return differs(day, first);
  },
  role: async ({ value, view, principal }) => {
    const held = (await attachments(view, principal)).map((a) => a.policy_id);
    return held.includes(String(value)) ? undefined : { expected: value, actual: held };
  },
  condition: async ({ value, view, principal }) => {
    const title = (value as { title: string }).title;
    const all = await attachments(view, principal);
    const held = all.filter((a) => a.condition?.includes(title));
    const conditional = [...(view.actions.get(principal.principal_id)?.values() ?? [])].filter(
      (a) => a.conditional,
    );
    return held.length > 0
      ? undefined
      : {
          expected: `a binding with condition ${title}`,
          actual: `conditions ${JSON.stringify(all.map((a) => a.condition))}; ${conditional.length} conditional actions`,
        };
  },
  viaGroup: async ({ value, view, principal }) => {
    const held = (await attachments(view, principal)).filter(
      (a) => a.via === 'group' && a.via_ref === value,
    );
    return held.length > 0 ? undefined : { expected: `bindings via ${value}`, actual: 'none' };
  },
  parentGroup: async ({ value, principal }) => {
    const groups = (JSON.parse(principal.attributes) as { groups?: string[] }).groups ?? [];
    return groups.includes(String(value))
      ? undefined
      : { expected: `member of ${value}`, actual: groups };
  },
  resource: async ({ value, view, principal }) => {
    const held = (await attachments(view, principal)).map((a) => a.via_ref);
    return held.includes(String(value)) ? undefined : { expected: value, actual: held };
  },
  humanIdentities: async ({ value, view, principal }) => {
    const rows = await view.db.all<{ identity: string }>(
      `SELECT DISTINCT identity FROM identity_usage i JOIN assessment a ON a.integration_id = i.integration_id
       WHERE a.assessment_id = $a AND i.principal_id = $p AND i.identity_kind = 'human' ORDER BY 1`,
      { a: principal.assessment_id, p: principal.principal_id },
    );
    return differs(
      strings(value).sort(),
      rows.map((r) => r.identity),
    );
  },
};

function breakdown(p: ProductPrincipal) {
  return JSON.parse(p.risk_breakdown) as Array<{
    component: string;
    points: number;
    max: number;
    reason: string;
    evidence: unknown;
  }>;
}

async function trusted(p: ProductPrincipal, values: string[]) {
  const trust = p.trust_policy ?? '';
  const missing = values.filter((v) => !trust.includes(v));
  return missing.length > 0
    ? {
        expected: `trust policy naming ${values.join(', ')}`,
        actual: `missing ${missing.join(', ')}`,
      }
    : undefined;
}

function unobservable(view: ProductView, id: string, actions: string[]) {
  const bad = actions.filter((a) => stateOf(view, id, a)?.state !== 'unobservable');
  return bad.length > 0
    ? {
        expected: `unobservable: ${actions.join(', ')}`,
        actual: bad.map((a) => `${a}=${stateOf(view, id, a)?.state ?? 'not granted'}`).join(', '),
      }
    : undefined;
}

async function keyUse(
  view: ProductView,
  p: ProductPrincipal,
  keys: string[],
  used: boolean,
  truth: Truth,
) {
  const rows = await view.db.all<{ credential_id: string; last_used_at: string | null }>(
    `SELECT credential_id, last_used_at::VARCHAR AS last_used_at FROM credential
     WHERE assessment_id = $a AND principal_id = $p AND kind = 'access-key'`,
    { a: p.assessment_id, p: p.principal_id },
  );
  const bad = keys.filter((k) => {
    const row = rows.find((r) => r.credential_id.includes(k));
    if (!row) return true;
    const inWindow = row.last_used_at !== null && row.last_used_at.slice(0, 10) >= truth.startDate;
    return inWindow !== used;
  });
  return bad.length > 0
    ? { expected: `${used ? 'used' : 'unused'} in the window: ${keys.join(', ')}`, actual: rows }
    : undefined;
}

export async function compareWithTruth(
  db: Db,
  assessmentIds: string[],
  truth: Truth,
): Promise<{ mismatches: Mismatch[]; compared: number; scenarios: number }> {
  const view = await productView(db, assessmentIds, truth);
  const mismatches: Mismatch[] = [];
  let compared = 0;
  for (const [id, t] of Object.entries(truth.principals).sort(([a], [b]) => a.localeCompare(b))) {
    const product = view.principals.get(id);
    if (t.excluded) {
      if (product)
        mismatches.push({
          principal: id,
          what: 'excluded principal assessed',
          expected: 'absent',
          actual: 'present',
        });
      continue;
    }
    if (!product) {
      mismatches.push({ principal: id, what: 'principal', expected: 'present', actual: 'absent' });
      continue;
    }
    compared++;
    mismatches.push(...comparePrincipal(id, t, product, view));
  }
  for (const id of [...view.principals.keys()].sort()) {
    if (!truth.principals[id])
      mismatches.push({
        principal: id,
        what: 'principal not in truth',
        expected: 'absent',
        actual: 'present',
      });
  }
  for (const scenario of truth.scenarios) {
    const principal = view.principals.get(scenario.principalId);
    if (!principal) {
      mismatches.push({
        principal: scenario.principalId,
        scenario: scenario.id,
        what: 'principal',
        expected: 'present',
        actual: 'absent',
      });
      continue;
    }
    for (const [key, value] of Object.entries(scenario.expect)) {
      const check = CHECKS[key];
      if (!check) {
        mismatches.push({
          principal: scenario.principalId,
          scenario: scenario.id,
          what: `expect.${key}`,
          expected: 'a check for this expectation',
          actual: 'none in test/e2e/truth-compare.ts',
        });
        continue;
      }
      const result = await check({
        id: scenario.principalId,
        value,
        truth,
        principal,
        view,
        scenario,
      });
      if (result)
        mismatches.push({
          principal: scenario.principalId,
          scenario: scenario.id,
          what: `expect.${key}`,
          ...result,
        });
    }
  }
  return { mismatches, compared, scenarios: truth.scenarios.length };
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A readable diff: one block per principal. */
export function formatMismatches(mismatches: Mismatch[]): string {
  if (mismatches.length === 0) return 'truth.json reproduced exactly';
  const lines = [`${mismatches.length} difference(s) from truth.json:`];
  let last = '';
  for (const m of mismatches) {
    if (m.principal !== last) {
      lines.push(`  ${m.principal}`);
      last = m.principal;
    }
    lines.push(
      `    ${m.scenario ? `[${m.scenario}] ` : ''}${m.what}: expected ${show(m.expected)}, got ${show(m.actual)}`,
    );
  }
  return lines.join('\n');
}

export { LEVELS };
