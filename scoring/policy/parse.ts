import { PolicyError } from '../../lib/errors.ts';

/**
 * IAM policy documents: parsing, validation and normalization. Fields that may be a string or an
 * array become arrays; a single statement becomes a one-element list; condition values become
 * string arrays (AWS compares them as strings). Identity policies, resource policies, trust
 * policies, SCPs and boundaries share this grammar; a statement needs Resource or NotResource
 * unless it names a Principal (resource and trust policies).
 */

export type Effect = 'Allow' | 'Deny';

/** `{"AWS": [...], "Service": [...]}` or the wildcard `"*"`. */
export type PrincipalSpec = '*' | Record<string, string[]>;

/** Operator → condition key → values. */
export type ConditionBlock = Record<string, Record<string, string[]>>;

export interface ParsedStatement {
  /** Position in the document (0-based), stable across lenient parsing. */
  index: number;
  sid?: string;
  effect: Effect;
  /** Exactly one of `actions` and `notActions` is set. */
  actions?: string[];
  notActions?: string[];
  /** At most one of `resources` and `notResources` is set (none only with a principal). */
  resources?: string[];
  notResources?: string[];
  principal?: PrincipalSpec;
  notPrincipal?: PrincipalSpec;
  condition?: ConditionBlock;
}

export interface ParsedPolicy {
  version?: string;
  id?: string;
  statements: ParsedStatement[];
}

export interface PolicyIssue {
  /** JSON path of the offending value, e.g. `$.Statement[2].Action[0]`. */
  path: string;
  message: string;
}

export interface LenientParseResult {
  /** The statements that validated; invalid ones are left out and listed in `errors`. */
  policy: ParsedPolicy;
  errors: PolicyIssue[];
}

const VERSIONS = new Set(['2012-10-17', '2008-10-17']);
const TOP_LEVEL_KEYS = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_KEYS = new Set([
  'Sid',
  'Effect',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Principal',
  'NotPrincipal',
  'Condition',
]);
const CONDITION_OPERATORS = new Set(
  [
    'StringEquals',
    'StringNotEquals',
    'StringEqualsIgnoreCase',
    'StringNotEqualsIgnoreCase',
    'StringLike',
    'StringNotLike',
    'NumericEquals',
    'NumericNotEquals',
    'NumericLessThan',
    'NumericLessThanEquals',
    'NumericGreaterThan',
    'NumericGreaterThanEquals',
    'DateEquals',
    'DateNotEquals',
    'DateLessThan',
    'DateLessThanEquals',
    'DateGreaterThan',
    'DateGreaterThanEquals',
    'Bool',
    'BinaryEquals',
    'IpAddress',
    'NotIpAddress',
    'ArnEquals',
    'ArnLike',
    'ArnNotEquals',
    'ArnNotLike',
    'Null',
  ].map((op) => op.toLowerCase()),
);
/** `*`, or `service:Action` where both parts may carry `*` and `?` wildcards. */
const ACTION_PATTERN = /^(\*|[a-z0-9*?-]+:[a-z0-9*?_.-]+)$/i;

class Issues {
  readonly list: PolicyIssue[] = [];
  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string or a non-empty array of non-empty strings, as IAM accepts for Action and Resource. */
function stringList(value: unknown, path: string, issues: Issues): string[] | undefined {
  const items = Array.isArray(value) ? value : [value];
  if (Array.isArray(value) && value.length === 0) {
    issues.add(path, 'must not be an empty array');
    return undefined;
  }
  const out: string[] = [];
  let ok = true;
  items.forEach((item, i) => {
    const itemPath = Array.isArray(value) ? `${path}[${i}]` : path;
    if (typeof item !== 'string') {
      issues.add(itemPath, `must be a string, got ${describe(item)}`);
      ok = false;
    } else if (item.trim().length === 0) {
      issues.add(itemPath, 'must not be empty');
      ok = false;
    } else {
      out.push(item);
    }
  });
  return ok ? out : undefined;
}

function actionList(value: unknown, path: string, issues: Issues): string[] | undefined {
  const list = stringList(value, path, issues);
  if (!list) return undefined;
  let ok = true;
  list.forEach((action, i) => {
    if (!ACTION_PATTERN.test(action)) {
      const itemPath = Array.isArray(value) ? `${path}[${i}]` : path;
      issues.add(itemPath, `${describe(action)} is not an action pattern (service:Action or *)`);
      ok = false;
    }
  });
  return ok ? list : undefined;
}

function principalSpec(value: unknown, path: string, issues: Issues): PrincipalSpec | undefined {
  if (value === '*') return '*';
  if (!isRecord(value)) {
    issues.add(path, `must be "*" or an object such as {"AWS": [...]}, got ${describe(value)}`);
    return undefined;
  }
  const out: Record<string, string[]> = {};
  let ok = true;
  for (const [kind, ids] of Object.entries(value)) {
    const list = stringList(ids, `${path}.${kind}`, issues);
    if (list) out[kind] = list;
    else ok = false;
  }
  return ok ? out : undefined;
}

function isKnownOperator(operator: string): boolean {
  let base = operator;
  const colon = base.indexOf(':');
  if (colon >= 0) {
    const qualifier = base.slice(0, colon).toLowerCase();
    if (qualifier !== 'forallvalues' && qualifier !== 'foranyvalue') return false;
    base = base.slice(colon + 1);
  }
  let lower = base.toLowerCase();
  if (lower.endsWith('ifexists') && lower !== 'nullifexists') lower = lower.slice(0, -8);
  return CONDITION_OPERATORS.has(lower);
}

function conditionBlock(value: unknown, path: string, issues: Issues): ConditionBlock | undefined {
  if (!isRecord(value)) {
    issues.add(path, `must be an object of operators, got ${describe(value)}`);
    return undefined;
  }
  const out: ConditionBlock = {};
  let ok = true;
  for (const [operator, keys] of Object.entries(value)) {
    const opPath = `${path}.${operator}`;
    if (!isKnownOperator(operator)) {
      issues.add(opPath, `unknown condition operator "${operator}"`);
      ok = false;
      continue;
    }
    if (!isRecord(keys)) {
      issues.add(opPath, `must be an object of condition keys, got ${describe(keys)}`);
      ok = false;
      continue;
    }
    const byKey: Record<string, string[]> = {};
    for (const [key, raw] of Object.entries(keys)) {
      const keyPath = `${opPath}.${key}`;
      const items = Array.isArray(raw) ? raw : [raw];
      const values: string[] = [];
      items.forEach((item, i) => {
        if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') {
          values.push(String(item));
        } else {
          issues.add(
            Array.isArray(raw) ? `${keyPath}[${i}]` : keyPath,
            `must be a string, number or boolean, got ${describe(item)}`,
          );
          ok = false;
        }
      });
      byKey[key] = values;
    }
    out[operator] = byKey;
  }
  return ok ? out : undefined;
}

function parseStatement(
  raw: unknown,
  index: number,
  path: string,
  issues: Issues,
): ParsedStatement | undefined {
  if (!isRecord(raw)) {
    issues.add(path, `a statement must be an object, got ${describe(raw)}`);
    return undefined;
  }
  const before = issues.list.length;
  for (const key of Object.keys(raw)) {
    if (!STATEMENT_KEYS.has(key)) issues.add(`${path}.${key}`, `unknown statement field "${key}"`);
  }
  const st: ParsedStatement = { index, effect: 'Allow' };
  if (raw.Sid !== undefined) {
    if (typeof raw.Sid === 'string') st.sid = raw.Sid;
    else issues.add(`${path}.Sid`, `must be a string, got ${describe(raw.Sid)}`);
  }
  if (raw.Effect === 'Allow' || raw.Effect === 'Deny') st.effect = raw.Effect;
  else if (raw.Effect === undefined)
    issues.add(`${path}.Effect`, 'is required ("Allow" or "Deny")');
  else issues.add(`${path}.Effect`, `must be "Allow" or "Deny", got ${describe(raw.Effect)}`);

  if (raw.Action !== undefined && raw.NotAction !== undefined) {
    issues.add(path, 'has both Action and NotAction; a statement takes one of them');
  } else if (raw.Action !== undefined) {
    st.actions = actionList(raw.Action, `${path}.Action`, issues);
  } else if (raw.NotAction !== undefined) {
    st.notActions = actionList(raw.NotAction, `${path}.NotAction`, issues);
  } else {
    issues.add(path, 'needs Action or NotAction');
  }

  if (raw.Principal !== undefined && raw.NotPrincipal !== undefined) {
    issues.add(path, 'has both Principal and NotPrincipal; a statement takes one of them');
  } else if (raw.Principal !== undefined) {
    st.principal = principalSpec(raw.Principal, `${path}.Principal`, issues);
  } else if (raw.NotPrincipal !== undefined) {
    st.notPrincipal = principalSpec(raw.NotPrincipal, `${path}.NotPrincipal`, issues);
  }

  if (raw.Resource !== undefined && raw.NotResource !== undefined) {
    issues.add(path, 'has both Resource and NotResource; a statement takes one of them');
  } else if (raw.Resource !== undefined) {
    st.resources = stringList(raw.Resource, `${path}.Resource`, issues);
  } else if (raw.NotResource !== undefined) {
    st.notResources = stringList(raw.NotResource, `${path}.NotResource`, issues);
  } else if (raw.Principal === undefined && raw.NotPrincipal === undefined) {
    issues.add(path, 'needs Resource or NotResource');
  }

  if (raw.Condition !== undefined) {
    st.condition = conditionBlock(raw.Condition, `${path}.Condition`, issues);
  }
  return issues.list.length === before ? st : undefined;
}

function parseInto(doc: unknown, issues: Issues): ParsedPolicy {
  const policy: ParsedPolicy = { statements: [] };
  let value = doc;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (err) {
      issues.add('$', `is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
      return policy;
    }
  }
  if (!isRecord(value)) {
    issues.add('$', `a policy document must be a JSON object, got ${describe(value)}`);
    return policy;
  }
  for (const key of Object.keys(value)) {
    if (!TOP_LEVEL_KEYS.has(key)) issues.add(`$.${key}`, `unknown policy field "${key}"`);
  }
  if (value.Version !== undefined) {
    if (typeof value.Version === 'string' && VERSIONS.has(value.Version))
      policy.version = value.Version;
    else
      issues.add(
        '$.Version',
        `must be "2012-10-17" or "2008-10-17", got ${describe(value.Version)}`,
      );
  }
  if (value.Id !== undefined) {
    if (typeof value.Id === 'string') policy.id = value.Id;
    else issues.add('$.Id', `must be a string, got ${describe(value.Id)}`);
  }
  const rawStatements = value.Statement;
  if (rawStatements === undefined) {
    issues.add('$.Statement', 'is required');
    return policy;
  }
  const list = Array.isArray(rawStatements) ? rawStatements : [rawStatements];
  if (list.length === 0) issues.add('$.Statement', 'must hold at least one statement');
  const sids = new Map<string, number>();
  list.forEach((raw, i) => {
    const path = Array.isArray(rawStatements) ? `$.Statement[${i}]` : '$.Statement';
    const st = parseStatement(raw, i, path, issues);
    if (!st) return;
    if (st.sid !== undefined && st.sid !== '') {
      const first = sids.get(st.sid);
      if (first !== undefined) {
        issues.add(`${path}.Sid`, `duplicate Sid "${st.sid}" (also statement ${first})`);
        return;
      }
      sids.set(st.sid, i);
    }
    policy.statements.push(st);
  });
  return policy;
}

/**
 * Parse and validate a policy document (an object or its JSON text). Throws {@link PolicyError}
 * on the first problem, with its JSON path in the message and `details.issues` listing them all.
 */
export function parsePolicyDocument(doc: unknown): ParsedPolicy {
  const issues = new Issues();
  const policy = parseInto(doc, issues);
  const first = issues.list[0];
  if (first) {
    const more = issues.list.length > 1 ? ` (and ${issues.list.length - 1} more problems)` : '';
    throw new PolicyError(`invalid policy document at ${first.path}: ${first.message}${more}`, {
      path: first.path,
      issues: issues.list,
    });
  }
  return policy;
}

/**
 * Parse a policy document keeping every statement that validates. For inventory: one bad
 * statement must not hide the permissions the others grant; the errors are recorded beside it.
 */
export function parsePolicyDocumentLenient(doc: unknown): LenientParseResult {
  const issues = new Issues();
  const policy = parseInto(doc, issues);
  return { policy, errors: issues.list };
}
