import { PolicyError } from '../lib/errors.ts';
import type { ActionExpander } from '../scoring/policy/expand.ts';
import type { ConditionBlock } from '../scoring/policy/parse.ts';
import { policyChars } from './limits.ts';

/**
 * The policy minimizer. Given the actions a list must cover (`keep`) and the actions it must not
 * cover (`forbid`), it writes the shortest list of `service:*` / `service:Prefix*` / exact
 * patterns whose expansion covers all of keep and none of forbid. Everything else is "don't
 * care" (an ungranted privileged action a deny list may cover, say). The result is checked with
 * the catalog's own expander, the same code the evaluator uses, so a pattern the minimizer gets
 * wrong is an exception, never a silently wider policy.
 *
 * Why prefixes are optimal: for one kept action, the shortest prefix whose range holds no
 * forbidden action covers a superset of every longer valid prefix. Two kept actions whose
 * shortest valid prefixes overlap share the same one (a prefix of one that covers the other is a
 * prefix of both), so the chosen patterns are disjoint and none can be dropped: the list is the
 * smallest possible among prefix patterns.
 */

interface ServiceIndex {
  /** Lowercase action names (after the colon), sorted. */
  lower: string[];
  /** Canonical names, same order. */
  canonical: string[];
}

const indexCache = new WeakMap<ActionExpander, Map<string, ServiceIndex>>();

function serviceIndex(expander: ActionExpander, service: string): ServiceIndex {
  let perExpander = indexCache.get(expander);
  if (!perExpander) {
    perExpander = new Map();
    indexCache.set(expander, perExpander);
  }
  const cached = perExpander.get(service);
  if (cached) return cached;
  const pairs = expander
    .expand(`${service}:*`)
    .map((a) => ({ lower: a.slice(a.indexOf(':') + 1).toLowerCase(), canonical: a }))
    .sort((x, y) => (x.lower < y.lower ? -1 : x.lower > y.lower ? 1 : 0));
  const index = { lower: pairs.map((p) => p.lower), canonical: pairs.map((p) => p.canonical) };
  perExpander.set(service, index);
  return index;
}

function lowerBound(list: string[], value: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A set of actions, or just its membership test (a complement need not be materialized). */
export interface ActionSet {
  has(action: string): boolean;
  /** Known when the set is materialized; a zero size allows the single pattern `*`. */
  readonly size?: number;
}

export interface MinimizeResult {
  /** Patterns, sorted by service then text. */
  patterns: string[];
  /** Kept names the catalog does not know: written as they are, and reported. */
  unknown: string[];
}

/**
 * Shortest pattern list covering `keep` and nothing in `forbid` (both canonical action names;
 * forbid may be huge: every catalog action not granted). Throws {@link PolicyError} when keep
 * and forbid overlap.
 */
export function minimizeActions(
  expander: ActionExpander,
  keep: Iterable<string>,
  forbid: ActionSet,
): MinimizeResult {
  const byService = new Map<string, string[]>();
  const unknown = new Set<string>();
  for (const raw of keep) {
    const action = expander.canonicalName(raw);
    if (!action) {
      unknown.add(raw);
      continue;
    }
    if (forbid.has(action)) {
      throw new PolicyError(`cannot both keep and forbid ${action}`, { action });
    }
    const service = action.slice(0, action.indexOf(':')).toLowerCase();
    const list = byService.get(service) ?? [];
    list.push(action);
    byService.set(service, list);
  }
  if (byService.size > 0 && forbid.size === 0) {
    return { patterns: ['*', ...[...unknown].sort()], unknown: [...unknown].sort() };
  }

  const patterns: string[] = [];
  for (const service of [...byService.keys()].sort()) {
    const index = serviceIndex(expander, service);
    // prefix sums of forbidden flags: forbidden in [i, j) = sums[j] - sums[i].
    const sums = new Int32Array(index.lower.length + 1);
    for (let i = 0; i < index.lower.length; i++) {
      sums[i + 1] = sums[i]! + (forbid.has(index.canonical[i]!) ? 1 : 0);
    }
    const forbiddenIn = (prefix: string): number => {
      const from = lowerBound(index.lower, prefix);
      const to = lowerBound(index.lower, `${prefix}\uffff`);
      return sums[to]! - sums[from]!;
    };
    if (sums[index.lower.length] === 0) {
      patterns.push(`${service}:*`);
      continue;
    }
    const chosen = new Set<string>();
    for (const action of byService.get(service)!) {
      const name = action.slice(action.indexOf(':') + 1);
      const lower = name.toLowerCase();
      let pattern = action;
      for (let len = 1; len <= lower.length; len++) {
        if (forbiddenIn(lower.slice(0, len)) === 0) {
          const from = lowerBound(index.lower, lower.slice(0, len));
          const to = lowerBound(index.lower, `${lower.slice(0, len)}\uffff`);
          // A prefix that covers only the action itself reads better as the exact name.
          const onlyItself = to - from === 1 && len === lower.length;
          pattern = onlyItself ? action : `${action.slice(0, action.indexOf(':') + 1 + len)}*`;
          break;
        }
      }
      chosen.add(pattern);
    }
    patterns.push(...[...chosen].sort());
  }
  const unknownList = [...unknown].sort();
  patterns.push(...unknownList);
  verifyPatterns(expander, patterns, keep, forbid);
  return { patterns, unknown: unknownList };
}

/**
 * Check with the catalog expander that `patterns` cover every kept catalog action and no
 * forbidden one. Throws {@link PolicyError} naming the first offending pattern or action.
 */
export function verifyPatterns(
  expander: ActionExpander,
  patterns: readonly string[],
  keep: Iterable<string>,
  forbid: ActionSet,
): void {
  const covered = new Set<string>();
  for (const pattern of patterns) {
    for (const action of expander.expand(pattern)) {
      if (forbid.has(action)) {
        throw new PolicyError(`pattern ${pattern} covers the forbidden action ${action}`, {
          pattern,
          action,
        });
      }
      covered.add(action);
    }
  }
  for (const raw of keep) {
    const action = expander.canonicalName(raw);
    if (action && !covered.has(action)) {
      throw new PolicyError(`no pattern covers the kept action ${action}`, { action });
    }
  }
}

/** Every action not in `set`: the forbid list of an allow list that must cover exactly `set`. */
export function complementOf(set: ReadonlySet<string>): ActionSet {
  return { has: (action) => !set.has(action) };
}

// ---------------------------------------------------------------------------------------------
// Packing statements into documents under a size quota.

export interface StatementSpec {
  /** Base Sid (letters and digits); split parts get a number appended. */
  sid: string;
  effect: 'Allow' | 'Deny';
  /** Action patterns; the list may be split across statements and documents. */
  actions: string[];
  resources?: string[];
  notResources?: string[];
  condition?: ConditionBlock;
}

/** A statement copied exactly as written (NOREPO statements, an existing boundary's, denies). */
export interface VerbatimStatement {
  verbatim: Record<string, unknown>;
}

export type PackItem = StatementSpec | VerbatimStatement;

export interface PackedDocument {
  document: { Version: '2012-10-17'; Statement: Array<Record<string, unknown>> };
  chars: number;
}

function isVerbatim(item: PackItem): item is VerbatimStatement {
  return 'verbatim' in item;
}

function statementJson(spec: StatementSpec, sid: string, actions: string[]) {
  const out: Record<string, unknown> = { Sid: sid, Effect: spec.effect, Action: actions };
  if (spec.notResources) out.NotResource = spec.notResources;
  else out.Resource = spec.resources ?? ['*'];
  if (spec.condition) out.Condition = spec.condition;
  return out;
}

const EMPTY_DOC_CHARS = policyChars({ Version: '2012-10-17', Statement: [] });

/**
 * Pack statements into as few documents as the quota allows, in order. Action lists are split
 * across statements (same resources and condition, numbered Sids) and documents; verbatim
 * statements are never split. Throws {@link PolicyError} when one verbatim statement, or one
 * action with its statement, cannot fit in an empty document.
 */
export function packStatements(items: PackItem[], limit: number): PackedDocument[] {
  const docs: PackedDocument[] = [];
  let current: Array<Record<string, unknown>> = [];
  let chars = EMPTY_DOC_CHARS;
  const usedSids = new Set<string>();
  const flush = () => {
    if (current.length === 0) return;
    const document = { Version: '2012-10-17' as const, Statement: current };
    const measured = policyChars(document);
    if (measured !== chars || measured > limit) {
      throw new PolicyError(
        `packing miscounted a document: ${measured} characters, expected ${chars}`,
      );
    }
    docs.push({ document, chars: measured });
    current = [];
    chars = EMPTY_DOC_CHARS;
    usedSids.clear();
  };
  for (const item of items) {
    if (isVerbatim(item)) {
      const size = policyChars(item.verbatim);
      const sid = typeof item.verbatim.Sid === 'string' ? item.verbatim.Sid : undefined;
      const collides = sid !== undefined && sid !== '' && usedSids.has(sid);
      if (collides || chars + size + (current.length > 0 ? 1 : 0) > limit) flush();
      if (EMPTY_DOC_CHARS + size > limit) {
        throw new PolicyError(
          `statement ${sid ?? '(no Sid)'} alone has ${size} characters, more than the ${limit} a policy may hold`,
          { sid, size, limit },
        );
      }
      chars += size + (current.length > 0 ? 1 : 0);
      current.push(item.verbatim);
      if (sid) usedSids.add(sid);
      continue;
    }
    const actions = [...item.actions];
    let part = 0;
    while (actions.length > 0) {
      let sid = `${item.sid}${part === 0 ? '' : part + 1}`;
      while (usedSids.has(sid)) sid = `${sid}X`;
      const base = policyChars(statementJson(item, sid, [])) + (current.length > 0 ? 1 : 0);
      let size = chars + base;
      let k = 0;
      while (k < actions.length) {
        const add = policyChars(JSON.stringify(actions[k])) + (k > 0 ? 1 : 0);
        if (size + add > limit) break;
        size += add;
        k++;
      }
      if (k === 0) {
        if (current.length === 0) {
          throw new PolicyError(
            `one statement with the action ${actions[0]} does not fit in a ${limit}-character policy`,
            { limit },
          );
        }
        flush();
        continue;
      }
      current.push(statementJson(item, sid, actions.splice(0, k)));
      usedSids.add(sid);
      chars = size;
      part++;
      if (actions.length > 0) flush();
    }
  }
  flush();
  return docs;
}
