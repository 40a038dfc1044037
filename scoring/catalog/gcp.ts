import { UsageError } from '../../lib/errors.ts';
import { wildcardToRegExp } from '../policy/wildcard.ts';
import { levelRank, type PrivilegeLevel } from './levels.ts';
import {
  GCP_RULES_FILE,
  gcpRules,
  rulesHash,
  SENSITIVITY_FILE,
  sensitivityRules,
} from './rules.ts';
import type { ActionClassification } from './types.ts';

/**
 * GCP permissions (`service.resource.verb`) are classified by rule, not looked up: Google adds
 * permissions every week and ingestion meets them before any catalog could list them. The rules
 * (gcp-rules.json) look at the whole permission first (escalation primitives, exceptions), then
 * at the verb; an unknown verb counts as WRITE so that it is never under-rated.
 */

/** `service.resource.verb`, possibly with nested resources (`a.b.c.verb`). */
const PERMISSION = /^[a-z][a-z0-9-]*(\.[A-Za-z][A-Za-z0-9_-]*)+\.[A-Za-z][A-Za-z0-9_]*$/;
/** Domain-qualified form: `iam.googleapis.com/workloadIdentityPools.get`, `gcp.redisenterprise.com/databases.get`. */
const QUALIFIED =
  /^([a-z0-9-]+(\.[a-z0-9-]+)+)\/([A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z][A-Za-z0-9_-]*)*\.[A-Za-z][A-Za-z0-9_]*)$/;

interface PermissionParts {
  service: string;
  /** The name rules are matched against: `iam.googleapis.com/x.get` reads as `iam.x.get`. */
  ruleName: string;
  resource: string;
  verb: string;
}

function parsePermission(name: string): PermissionParts | undefined {
  if (PERMISSION.test(name)) {
    const parts = name.split('.');
    return {
      service: parts[0]!,
      ruleName: name,
      resource: parts.slice(1, -1).join('.'),
      verb: parts[parts.length - 1]!,
    };
  }
  const q = QUALIFIED.exec(name);
  if (!q) return undefined;
  const domain = q[1]!;
  const rest = q[3]!.split('.');
  // Google's own services keep their short name; partner services are known by their domain.
  const service = domain.endsWith('.googleapis.com')
    ? domain.slice(0, -'.googleapis.com'.length)
    : domain;
  return {
    service,
    ruleName: `${service}.${q[3]}`,
    resource: rest.slice(0, -1).join('.'),
    verb: rest[rest.length - 1]!,
  };
}

export function isGcpPermission(name: string): boolean {
  return parsePermission(name) !== undefined;
}

interface CompiledRules {
  dataVersion: string;
  permissionRules: Array<{
    writesOnly?: boolean;
    regexp: RegExp;
    pattern: string;
    level: PrivilegeLevel;
    reason: string;
    category?: string;
  }>;
  verbRules: Array<{
    match: 'exact' | 'prefix' | 'suffix';
    verbs: string[];
    level: PrivilegeLevel;
    reason: string;
  }>;
  fallback: { level: PrivilegeLevel; reason: string };
  dataAccess: Array<{ regexp: RegExp; reason: string }>;
  sensitivity: Array<{ regexp: RegExp; sensitivity: number; category: string; reason: string }>;
  levelBase: Record<string, { sensitivity: number; reason: string }>;
}

let compiled: CompiledRules | undefined;

function rules(): CompiledRules {
  if (compiled) return compiled;
  const g = gcpRules();
  const s = sensitivityRules();
  compiled = {
    dataVersion: `gcp-rules@${g.version}+rules.${rulesHash([GCP_RULES_FILE, SENSITIVITY_FILE])}`,
    permissionRules: g.permissionRules.map((r) => ({ ...r, regexp: wildcardToRegExp(r.pattern) })),
    verbRules: g.verbRules,
    fallback: g.default,
    dataAccess: (g.dataAccessRules ?? []).map((r) => ({
      reason: r.reason,
      regexp: wildcardToRegExp(r.pattern),
    })),
    sensitivity: s.gcp.map((r) => ({ ...r, regexp: wildcardToRegExp(r.pattern) })),
    levelBase: s.levelBase,
  };
  return compiled;
}

/** Version stamp of the GCP rules (rule version and content hash), stored as data_version. */
export function gcpDataVersion(): string {
  return rules().dataVersion;
}

function verbMatches(
  match: 'exact' | 'prefix' | 'suffix',
  verb: string,
  candidate: string,
): boolean {
  if (match === 'exact') return verb === candidate;
  if (match === 'prefix') return verb.startsWith(candidate);
  return verb.endsWith(candidate) && verb !== candidate;
}

function decideLevel(
  permission: string,
  verb: string,
): { level: PrivilegeLevel; reason: string; rule: string; category?: string } {
  const r = rules();
  let byVerb: { level: PrivilegeLevel; reason: string; rule: string } | undefined;
  for (const rule of r.verbRules) {
    const hit = rule.verbs.find((v) => verbMatches(rule.match, verb, v));
    if (hit !== undefined) {
      byVerb = { level: rule.level, reason: rule.reason, rule: `verb ${rule.match} "${hit}"` };
      break;
    }
  }
  byVerb ??= { level: r.fallback.level, reason: r.fallback.reason, rule: 'default' };
  const readSide = byVerb.level === 'LIST' || byVerb.level === 'READ';
  for (const rule of r.permissionRules) {
    if (rule.writesOnly && readSide) continue;
    if (rule.regexp.test(permission)) {
      return {
        level: rule.level,
        reason: rule.reason,
        rule: `permission rule ${rule.pattern}`,
        category: rule.category,
      };
    }
  }
  return byVerb;
}

const memo = new Map<string, ActionClassification>();

/** Level, sensitivity and reasons of a GCP permission; throws UsageError when it is not one. */
export function classifyGcpPermission(name: string): ActionClassification {
  const hit = memo.get(name);
  if (hit) return hit;
  const parsed = parsePermission(name);
  if (!parsed) {
    throw new UsageError(`"${name}" is not a GCP permission (expected service.resource.verb)`, {
      permission: name,
    });
  }
  const { service, verb, resource, ruleName } = parsed;
  const decided = decideLevel(ruleName, verb);
  const r = rules();
  const base = r.levelBase[decided.level]!;
  const raising = r.sensitivity
    .filter((s) => s.regexp.test(ruleName) && s.sensitivity > base.sensitivity)
    .sort((a, b) => b.sensitivity - a.sensitivity);
  const reasons = [`level base ${base.sensitivity}: ${base.reason}`];
  for (const s of raising) reasons.push(`raised to ${s.sensitivity} (${s.category}): ${s.reason}`);
  const readSide = decided.level === 'LIST' || decided.level === 'READ';
  const dataAccess = r.dataAccess.find((d) => d.regexp.test(ruleName));
  const result: ActionClassification = {
    cloud: 'gcp',
    action: name,
    service,
    accessLevels: [decided.rule],
    level: decided.level,
    levelRank: levelRank(decided.level),
    levelReason: decided.reason,
    sensitivity: raising[0]?.sensitivity ?? base.sensitivity,
    sensitivityReasons: reasons,
    // Reads (and the data writes of dataAccessRules) land in Data Access audit logs, off by
    // default; changes in Admin Activity logs, always on.
    observable: readSide || dataAccess ? 'data-event' : 'management',
    observableReason: dataAccess
      ? `Recorded in Data Access audit logs, which are off by default: ${dataAccess.reason}`
      : readSide
        ? 'Recorded in Data Access audit logs (ADMIN_READ or DATA_READ), which are off by default.'
        : 'Recorded in Admin Activity audit logs, which are always on.',
    resourceTypes: [resource],
    // GCP roles are granted on a resource (binding), so every permission can be scoped by where it is bound.
    resourceScopeable: true,
    dataVersion: r.dataVersion,
  };
  if (decided.category) result.levelCategory = decided.category;
  memo.set(name, result);
  return result;
}
