import { PolicyError } from '../lib/errors.ts';
import type { ActionExpander } from '../scoring/policy/expand.ts';
import {
  type ParsedPolicy,
  type ParsedStatement,
  parsePolicyDocument,
} from '../scoring/policy/parse.ts';
import type { Artifact, NorepoKept, OptionType, Proof } from './types.ts';

/**
 * Our own allow/deny evaluation, used to prove every artifact before it is offered. The
 * question it answers is action-level, as the usage evidence is: "may the principal perform
 * this action on at least one resource, under some condition?". An action is allowed when an
 * identity Allow statement covers it, the boundary (if any) allows it, every SCP level allows
 * it, and no unconditional Deny on every resource (`Resource: "*"`) in any layer covers it.
 * Conditional or resource-scoped denies do not remove an action (it stays allowed elsewhere or
 * sometimes); artifacts keep such statements verbatim, and {@link statementContainment} checks
 * that each new Allow statement stays inside an old one with the same resources and condition.
 *
 * GCP role sets are the union of the roles' permissions (IAM allow policies only grant).
 */

export type PolicyDoc =
  | { cloud: 'aws'; id: string; parsed: ParsedPolicy }
  | { cloud: 'gcp'; id: string; permissions: readonly string[] };

export interface PolicySet {
  /** Identity policies (AWS: managed, inline, group-inherited) or GCP roles bound. */
  identity: PolicyDoc[];
  /** AWS permissions boundary. */
  boundary?: PolicyDoc | undefined;
  /** AWS SCP levels from the root down; each level must allow. */
  scps?: PolicyDoc[][] | undefined;
}

export type Decision =
  | { decision: 'allow' }
  | { decision: 'explicit-deny'; by: string }
  | { decision: 'implicit-deny'; missing: 'identity' | 'boundary' | 'scp' };

function isTotalDeny(st: ParsedStatement): boolean {
  return st.effect === 'Deny' && !st.condition && (st.resources?.includes('*') ?? false);
}

export class PolicyEvaluator {
  readonly expander: ActionExpander;
  private readonly allowCache = new WeakMap<object, ReadonlySet<string>>();
  private readonly denyCache = new WeakMap<object, ReadonlySet<string>>();
  private readonly effectiveCache = new WeakMap<PolicySet, ReadonlySet<string>>();

  constructor(expander: ActionExpander) {
    this.expander = expander;
  }

  /** Actions some Allow statement of the policy covers (on some resource, under some condition). */
  allows(doc: PolicyDoc): ReadonlySet<string> {
    const key = doc.cloud === 'aws' ? doc.parsed : doc.permissions;
    const cached = this.allowCache.get(key);
    if (cached) return cached;
    let out: Set<string>;
    if (doc.cloud === 'gcp') out = new Set(doc.permissions);
    else {
      out = new Set();
      for (const st of doc.parsed.statements) {
        if (st.effect !== 'Allow') continue;
        for (const a of this.expander.expandStatement(st)) out.add(a);
      }
    }
    this.allowCache.set(key, out);
    return out;
  }

  /** Actions an unconditional Deny on every resource removes outright. */
  denies(doc: PolicyDoc): ReadonlySet<string> {
    if (doc.cloud === 'gcp') return new Set();
    const cached = this.denyCache.get(doc.parsed);
    if (cached) return cached;
    const out = new Set<string>();
    for (const st of doc.parsed.statements) {
      if (!isTotalDeny(st)) continue;
      for (const a of this.expander.expandStatement(st)) out.add(a);
    }
    this.denyCache.set(doc.parsed, out);
    return out;
  }

  /** The effective action set of a policy set (cached per set object: do not mutate either). */
  effective(set: PolicySet): ReadonlySet<string> {
    const cached = this.effectiveCache.get(set);
    if (cached) return cached;
    const out = this.compute(set);
    this.effectiveCache.set(set, out);
    return out;
  }

  private compute(set: PolicySet): Set<string> {
    const out = new Set<string>();
    for (const doc of set.identity) for (const a of this.allows(doc)) out.add(a);
    const layers: PolicyDoc[] = [...set.identity];
    if (set.boundary) {
      const allowed = this.allows(set.boundary);
      for (const a of out) if (!allowed.has(a)) out.delete(a);
      layers.push(set.boundary);
    }
    for (const level of set.scps ?? []) {
      const allowed = new Set<string>();
      for (const doc of level) for (const a of this.allows(doc)) allowed.add(a);
      for (const a of out) if (!allowed.has(a)) out.delete(a);
      layers.push(...level);
    }
    for (const doc of layers) for (const a of this.denies(doc)) out.delete(a);
    return out;
  }

  /** The decision for one action, with the layer that decided it. */
  decide(set: PolicySet, action: string): Decision {
    const layers: PolicyDoc[] = [...set.identity];
    if (set.boundary) layers.push(set.boundary);
    for (const level of set.scps ?? []) layers.push(...level);
    for (const doc of layers) {
      if (this.denies(doc).has(action)) return { decision: 'explicit-deny', by: doc.id };
    }
    if (!set.identity.some((doc) => this.allows(doc).has(action))) {
      return { decision: 'implicit-deny', missing: 'identity' };
    }
    if (set.boundary && !this.allows(set.boundary).has(action)) {
      return { decision: 'implicit-deny', missing: 'boundary' };
    }
    for (const level of set.scps ?? []) {
      if (!level.some((doc) => this.allows(doc).has(action))) {
        return { decision: 'implicit-deny', missing: 'scp' };
      }
    }
    return { decision: 'allow' };
  }
}

function scopeKey(st: ParsedStatement): string {
  return JSON.stringify([
    st.resources ? [...st.resources].sort() : null,
    st.notResources ? [...st.notResources].sort() : null,
    st.condition ?? null,
  ]);
}

function isUnscoped(st: ParsedStatement): boolean {
  return !st.condition && (st.resources?.includes('*') ?? false);
}

/**
 * Statement-level containment of a rewritten policy in the one it replaces: every new Allow
 * statement's actions must be allowed by old Allow statements with the same resources and
 * condition (or with `Resource: "*"` and no condition), and every old Deny statement must still
 * be there. Returns the violations (empty when contained).
 */
export function statementContainment(
  expander: ActionExpander,
  before: ParsedPolicy,
  after: ParsedPolicy,
): string[] {
  const violations: string[] = [];
  const unscoped = new Set<string>();
  const byScope = new Map<string, Set<string>>();
  for (const st of before.statements) {
    if (st.effect !== 'Allow') continue;
    const actions = expander.expandStatement(st);
    const target = isUnscoped(st) ? unscoped : (byScope.get(scopeKey(st)) ?? new Set<string>());
    for (const a of actions) target.add(a);
    if (!isUnscoped(st)) byScope.set(scopeKey(st), target);
  }
  for (const st of after.statements) {
    if (st.effect !== 'Allow') continue;
    const sameScope = byScope.get(scopeKey(st));
    for (const a of expander.expandStatement(st)) {
      if (unscoped.has(a) || sameScope?.has(a)) continue;
      violations.push(
        `statement ${st.sid ?? st.index} allows ${a}, which no statement of the original allows with the same resources and condition`,
      );
      break;
    }
  }
  const afterDenies = new Set(
    after.statements.filter((s) => s.effect === 'Deny').map((s) => canonicalStatement(s)),
  );
  for (const st of before.statements) {
    if (st.effect === 'Deny' && !afterDenies.has(canonicalStatement(st))) {
      violations.push(`the Deny statement ${st.sid ?? st.index} of the original is missing`);
    }
  }
  return violations;
}

function canonicalStatement(st: ParsedStatement): string {
  const { index: _index, sid: _sid, ...rest } = st;
  return JSON.stringify(rest, Object.keys(rest).sort());
}

/** One principal whose usage the change must preserve (a group's right-size has one per member). */
export interface ProofSubject {
  id: string;
  before: PolicySet;
  after: PolicySet;
  used: ReadonlySet<string>;
}

export interface ProofInput {
  option: OptionType;
  expectation: Proof['expectation'];
  evaluator: PolicyEvaluator;
  subjects: ProofSubject[];
  artifacts: Artifact[];
  unobservableKept?: Iterable<string>;
  norepoKept?: NorepoKept[];
  unknownPatternsKept?: Iterable<string>;
  /** Failures found by the option's own checks (containment, exact removal). */
  failures?: string[];
}

const GCP_CUSTOM_ROLE_PERMISSIONS = 3000;

/** Parse every policy artifact with our parser and measure it against its quota. */
export function checkArtifacts(artifacts: Artifact[]): {
  checks: Proof['artifacts'];
  failures: string[];
} {
  const checks: Proof['artifacts'] = [];
  const failures: string[] = [];
  for (const artifact of artifacts) {
    if (!artifact.policy) continue;
    let valid = true;
    try {
      if (artifact.policy.kind === 'gcp-role') {
        const doc = JSON.parse(artifact.content) as { includedPermissions?: unknown };
        if (!Array.isArray(doc.includedPermissions))
          throw new PolicyError('no includedPermissions');
        if (doc.includedPermissions.length > GCP_CUSTOM_ROLE_PERMISSIONS) {
          throw new PolicyError(`more than ${GCP_CUSTOM_ROLE_PERMISSIONS} permissions`);
        }
      } else {
        parsePolicyDocument(artifact.content);
      }
    } catch (err) {
      valid = false;
      failures.push(
        `${artifact.name} is not a valid policy: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const { chars, limit } = artifact.policy;
    if (chars > limit)
      failures.push(`${artifact.name} has ${chars} characters, over the ${limit} quota`);
    checks.push({ name: artifact.name, valid, chars, limit });
  }
  return { checks, failures };
}

/**
 * Evaluate every subject's window usage against the policy set after the change, compare the
 * effective sets, and validate the artifacts. `result` is pass only when nothing failed.
 */
export function buildProof(input: ProofInput): Proof {
  const { evaluator } = input;
  const failures = [...(input.failures ?? [])];
  const checked = new Set<string>();
  const denied = new Set<string>();
  const notGrantedBefore = new Set<string>();
  const widened = new Set<string>();
  let allowed = 0;
  let grantedBefore = 0;
  let grantedAfter = 0;
  const many = input.subjects.length > 1;
  for (const subject of input.subjects) {
    const before = evaluator.effective(subject.before);
    const after = evaluator.effective(subject.after);
    grantedBefore += before.size;
    grantedAfter += after.size;
    for (const a of after) if (!before.has(a)) widened.add(many ? `${subject.id}: ${a}` : a);
    for (const action of [...subject.used].sort()) {
      const label = many ? `${subject.id}: ${action}` : action;
      checked.add(action);
      if (!before.has(action)) {
        notGrantedBefore.add(label);
        continue;
      }
      if (after.has(action)) allowed++;
      else denied.add(label);
    }
    if (input.expectation === 'deny-all' && after.size > 0) {
      failures.push(`${subject.id} keeps ${after.size} actions after the change`);
    }
  }
  if (input.expectation === 'preserve-usage' && denied.size > 0) {
    failures.push(`the change would refuse ${denied.size} actions used in the window`);
  }
  if (widened.size > 0) failures.push(`the change would allow ${widened.size} new actions`);
  const artifacts = checkArtifacts(input.artifacts);
  failures.push(...artifacts.failures);
  return {
    option: input.option,
    expectation: input.expectation,
    checkedActions: [...checked].sort(),
    allowed,
    denied: [...denied].sort(),
    notGrantedBefore: [...notGrantedBefore].sort(),
    grantedBefore,
    grantedAfter,
    neverWider: widened.size === 0,
    widened: [...widened].sort().slice(0, 100),
    unobservableKept: [...new Set(input.unobservableKept ?? [])].sort(),
    norepoKept: input.norepoKept ?? [],
    unknownPatternsKept: [...new Set(input.unknownPatternsKept ?? [])].sort(),
    artifacts: artifacts.checks,
    result: failures.length === 0 ? 'pass' : 'fail',
    failures,
  };
}
