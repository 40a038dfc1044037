import { PolicyError } from '../../lib/errors.ts';
import type { ActionExpander } from '../../scoring/policy/expand.ts';
import type { ParsedPolicy, ParsedStatement } from '../../scoring/policy/parse.ts';
import { iamPolicyName, POLICY_LIMITS } from '../limits.ts';
import {
  complementOf,
  minimizeActions,
  type PackedDocument,
  type PackItem,
  packStatements,
  type StatementSpec,
} from '../minimize.ts';
import type { NorepoKept } from '../types.ts';
import { isNorepo, rawStatements } from './statements.ts';

/**
 * Right-sizing one policy: a new least-privilege policy keeping only what the principal used
 * (plus what the logs cannot show, flagged). It is rewritten statement by statement so resource
 * scoping and conditions survive: statements with the same resources and condition are merged,
 * their actions narrowed to the kept ones and minimized against everything else (so a wildcard
 * never covers an unused or an ungranted action). Deny statements and NOREPO statements are
 * copied verbatim. The result is split into several managed policies when one does not fit.
 */

export interface RightSizeInput {
  expander: ActionExpander;
  /** The policy being replaced. */
  policyId: string;
  policyName: string;
  /** Its document as stored, and parsed. */
  document: unknown;
  parsed: ParsedPolicy;
  /** Actions to keep: used or unobservable, among those this policy grants. */
  keep: ReadonlySet<string>;
  /**
   * Where it goes: the inline quota left for a replacement inline policy (quota minus the
   * principal's other inline policies), or undefined for a managed policy.
   */
  inlineBudget?:
    | { kind: 'inline-user' | 'inline-role' | 'inline-group'; chars: number }
    | undefined;
}

export interface RightSizedPolicy {
  name: string;
  kind: 'managed' | 'inline-user' | 'inline-role' | 'inline-group';
  document: PackedDocument['document'];
  chars: number;
  limit: number;
}

export interface RightSizeResult {
  policies: RightSizedPolicy[];
  /** True when an inline policy had to become managed policies to fit. */
  movedToManaged: boolean;
  norepoKept: NorepoKept[];
  unknownPatternsKept: string[];
  /** Actions the new policies allow (catalog names). */
  allowed: Set<string>;
}

function scopeOf(st: ParsedStatement): string {
  return JSON.stringify([st.resources ?? null, st.notResources ?? null, st.condition ?? null]);
}

export function rightSizePolicy(input: RightSizeInput): RightSizeResult {
  const { expander } = input;
  const raw = rawStatements(input.document);
  const groups = new Map<
    string,
    { first: ParsedStatement; actions: Set<string>; unknown: Set<string> }
  >();
  const verbatimNorepo: PackItem[] = [];
  const verbatimDeny: PackItem[] = [];
  const norepoKept: NorepoKept[] = [];
  for (const st of input.parsed.statements) {
    const original = raw[st.index];
    if (!original) continue;
    if (st.effect === 'Deny') {
      verbatimDeny.push({ verbatim: original });
      continue;
    }
    if (isNorepo(st)) {
      verbatimNorepo.push({ verbatim: original });
      norepoKept.push({
        policyId: input.policyId,
        sid: st.sid ?? '',
        actions: expander.expandStatement(st).size,
      });
      continue;
    }
    const key = scopeOf(st);
    const group = groups.get(key) ?? { first: st, actions: new Set(), unknown: new Set() };
    for (const a of expander.expandStatement(st)) if (input.keep.has(a)) group.actions.add(a);
    // A pattern the catalog does not know may name an action published after it: keep it.
    for (const pattern of st.actions ?? []) {
      if (expander.expand(pattern).length === 0) group.unknown.add(pattern);
    }
    groups.set(key, group);
  }

  const specs: PackItem[] = [];
  const unknownPatternsKept = new Set<string>();
  const allowed = new Set<string>();
  let n = 0;
  for (const group of groups.values()) {
    if (group.actions.size === 0 && group.unknown.size === 0) continue;
    const patterns =
      group.actions.size > 0
        ? minimizeActions(expander, group.actions, complementOf(group.actions)).patterns
        : [];
    for (const a of group.actions) allowed.add(a);
    for (const u of group.unknown) unknownPatternsKept.add(u);
    n++;
    const spec: StatementSpec = {
      sid: `Used${n}`,
      effect: 'Allow',
      actions: [...patterns, ...[...group.unknown].sort()],
    };
    if (group.first.notResources) spec.notResources = group.first.notResources;
    else spec.resources = group.first.resources ?? ['*'];
    if (group.first.condition) spec.condition = group.first.condition;
    specs.push(spec);
  }
  const items = [...specs, ...verbatimNorepo, ...verbatimDeny];
  const result: RightSizeResult = {
    policies: [],
    movedToManaged: false,
    norepoKept,
    unknownPatternsKept: [...unknownPatternsKept].sort(),
    allowed,
  };
  if (items.length === 0) return result;

  const base = `${input.policyName}-rightsized`;
  if (input.inlineBudget) {
    let docs: PackedDocument[] = [];
    try {
      docs = packStatements(items, input.inlineBudget.chars);
    } catch (err) {
      // A statement too large for what is left of the inline quota: managed policies instead.
      if (!(err instanceof PolicyError)) throw err;
    }
    if (docs.length === 1) {
      result.policies.push({
        name: iamPolicyName(base),
        kind: input.inlineBudget.kind,
        document: docs[0]!.document,
        chars: docs[0]!.chars,
        limit: input.inlineBudget.chars,
      });
      return result;
    }
    result.movedToManaged = true;
  }
  const docs = packStatements(items, POLICY_LIMITS.managed);
  docs.forEach((doc, i) => {
    result.policies.push({
      name: iamPolicyName(base, docs.length > 1 ? `-${i + 1}` : ''),
      kind: 'managed',
      document: doc.document,
      chars: doc.chars,
      limit: POLICY_LIMITS.managed,
    });
  });
  return result;
}
