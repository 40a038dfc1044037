import { PolicyError } from '../../lib/errors.ts';
import type { ParsedPolicy, ParsedStatement } from './parse.ts';
import { hasWildcard, wildcardToRegExp } from './wildcard.ts';

interface ServiceActions {
  /** Canonical names (`s3:GetObject`), in catalog order. */
  names: string[];
  /** The part after the colon, lowercased, same order as `names`. */
  lowerNames: string[];
}

/**
 * Expands IAM action patterns (`*`, `s3:*`, `s3:Get*`, `iam:*User*`, `ec2:Describe?pcs`) into the
 * canonical action names of a catalog. Matching ignores case. Every distinct pattern is expanded
 * once and cached (keyed by its lowercase form), so expanding thousands of policies costs one
 * scan per distinct pattern, not per occurrence.
 *
 * A pattern that matches nothing expands to an empty list: the policy may name an action that
 * AWS retired or not yet published in the bundled catalog. Callers that care (validation) can
 * ask {@link ActionExpander.unknownPatterns}.
 */
export class ActionExpander {
  private readonly byService = new Map<string, ServiceActions>();
  private readonly all: readonly string[];
  private readonly cache = new Map<string, readonly string[]>();
  private readonly canonical = new Map<string, string>();

  constructor(actions: Iterable<string>) {
    const all: string[] = [];
    for (const action of actions) {
      const lower = action.toLowerCase();
      if (this.canonical.has(lower)) continue;
      const colon = action.indexOf(':');
      if (colon <= 0) throw new PolicyError(`catalog action "${action}" has no service prefix`);
      const service = lower.slice(0, colon);
      let entry = this.byService.get(service);
      if (!entry) {
        entry = { names: [], lowerNames: [] };
        this.byService.set(service, entry);
      }
      entry.names.push(action);
      entry.lowerNames.push(lower.slice(colon + 1));
      this.canonical.set(lower, action);
      all.push(action);
    }
    this.all = Object.freeze(all);
  }

  /** Number of actions in the catalog. */
  get size(): number {
    return this.all.length;
  }

  /** Every action, canonical case. */
  allActions(): readonly string[] {
    return this.all;
  }

  /** Service prefixes known to the catalog (lowercase). */
  services(): string[] {
    return [...this.byService.keys()];
  }

  hasService(prefix: string): boolean {
    return this.byService.has(prefix.toLowerCase());
  }

  /** Canonical spelling of an exact action name, or undefined when the catalog lacks it. */
  canonicalName(action: string): string | undefined {
    return this.canonical.get(action.toLowerCase());
  }

  has(action: string): boolean {
    return this.canonical.has(action.toLowerCase());
  }

  /** Distinct patterns expanded so far (the cache size). */
  get cachedPatterns(): number {
    return this.cache.size;
  }

  /** Actions matching one pattern, canonical case. The returned array is shared: do not mutate. */
  expand(pattern: string): readonly string[] {
    const key = pattern.toLowerCase();
    const cached = this.cache.get(key);
    if (cached) return cached;
    const result = Object.freeze(this.compute(key));
    this.cache.set(key, result);
    return result;
  }

  private compute(key: string): string[] {
    if (key === '*') return [...this.all];
    const colon = key.indexOf(':');
    if (colon <= 0) return [];
    const servicePart = key.slice(0, colon);
    const actionPart = key.slice(colon + 1);
    if (!hasWildcard(key)) {
      const exact = this.canonical.get(key);
      return exact ? [exact] : [];
    }
    const services = hasWildcard(servicePart)
      ? [...this.byService.keys()].filter((s) => wildcardToRegExp(servicePart).test(s))
      : [servicePart];
    const out: string[] = [];
    const actionRegExp = actionPart === '*' ? undefined : wildcardToRegExp(actionPart);
    for (const service of services) {
      const entry = this.byService.get(service);
      if (!entry) continue;
      if (!actionRegExp) {
        out.push(...entry.names);
        continue;
      }
      for (let i = 0; i < entry.names.length; i++) {
        if (actionRegExp.test(entry.lowerNames[i]!)) out.push(entry.names[i]!);
      }
    }
    return out;
  }

  /** Actions a statement covers: its Action patterns, or the complement of its NotAction. */
  expandStatement(statement: Pick<ParsedStatement, 'actions' | 'notActions'>): Set<string> {
    if (statement.actions) {
      const out = new Set<string>();
      for (const pattern of statement.actions) for (const a of this.expand(pattern)) out.add(a);
      return out;
    }
    const excluded = new Set<string>();
    for (const pattern of statement.notActions ?? []) {
      for (const a of this.expand(pattern)) excluded.add(a);
    }
    const out = new Set<string>();
    for (const a of this.all) if (!excluded.has(a)) out.add(a);
    return out;
  }

  /**
   * Actions the policy allows on at least one resource: the union of its Allow statements minus
   * what an unconditional Deny on every resource (`Resource: "*"`) takes away. Resource-scoped or
   * conditional denies do not remove an action here (it stays allowed elsewhere or sometimes);
   * effective-permission computation handles them with resources and conditions.
   */
  allowedActions(policy: Pick<ParsedPolicy, 'statements'>): Set<string> {
    const allowed = new Set<string>();
    for (const st of policy.statements) {
      if (st.effect !== 'Allow') continue;
      for (const a of this.expandStatement(st)) allowed.add(a);
    }
    for (const st of policy.statements) {
      if (st.effect !== 'Deny' || st.condition || !st.resources?.includes('*')) continue;
      for (const a of this.expandStatement(st)) allowed.delete(a);
    }
    return allowed;
  }

  /** Patterns of a policy that match no catalog action (typos, retired or unpublished actions). */
  unknownPatterns(policy: Pick<ParsedPolicy, 'statements'>): string[] {
    const out = new Set<string>();
    for (const st of policy.statements) {
      for (const pattern of st.actions ?? st.notActions ?? []) {
        if (this.expand(pattern).length === 0) out.add(pattern);
      }
    }
    return [...out];
  }
}
