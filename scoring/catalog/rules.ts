import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { AccessDiscoveryError } from '../../lib/errors.ts';
import { PRIVILEGE_LEVELS } from './levels.ts';

/**
 * The rule files under scoring/data/, parsed once with zod. Every entry must carry a reason: a
 * level or sensitivity nobody can explain is worse than none.
 */

const level = z.enum(PRIVILEGE_LEVELS);
const reason = z.string().min(10);

const awsOverridesSchema = z.object({
  description: z.string(),
  sources: z.array(z.string()),
  overrides: z.array(
    z.object({
      pattern: z.string().regex(/^[a-z0-9*?-]+:[A-Za-z0-9*?]+$/i),
      level,
      fromLevels: z.array(level).optional(),
      category: z.string(),
      reason,
    }),
  ),
});

const sensitivityRule = z.object({
  pattern: z.string().min(1),
  sensitivity: z.number().int().min(0).max(10),
  category: z.string(),
  reason,
});

const sensitivitySchema = z.object({
  description: z.string(),
  levelBase: z.record(level, z.object({ sensitivity: z.number().int().min(0).max(10), reason })),
  aws: z.array(sensitivityRule),
  gcp: z.array(sensitivityRule),
});

const observabilitySchema = z.object({
  description: z.string(),
  entries: z.array(
    z.object({
      pattern: z.string().regex(/^[a-z0-9*?-]+:[A-Za-z0-9*?]+$/i),
      observable: z.enum(['management', 'data-event', 'never']),
      reason,
    }),
  ),
});

const gcpRulesSchema = z.object({
  description: z.string(),
  version: z.string().min(1),
  permissionRules: z.array(
    z.object({
      pattern: z.string().min(1),
      level,
      reason,
      category: z.string().optional(),
      writesOnly: z.boolean().optional(),
    }),
  ),
  verbRules: z.array(
    z.object({
      match: z.enum(['exact', 'prefix', 'suffix']),
      verbs: z.array(z.string().min(1)).min(1),
      level,
      reason,
    }),
  ),
  default: z.object({ level, reason }),
  dataAccessRules: z.array(z.object({ pattern: z.string().min(1), reason })).optional(),
});

export type AwsOverrides = z.infer<typeof awsOverridesSchema>;
export type SensitivityRules = z.infer<typeof sensitivitySchema>;
export type SensitivityRule = z.infer<typeof sensitivityRule>;
export type ObservabilityRules = z.infer<typeof observabilitySchema>;
export type GcpRules = z.infer<typeof gcpRulesSchema>;

/** Absolute path of a file under scoring/data/. */
export function dataFilePath(name: string): string {
  return fileURLToPath(new URL(`../data/${name}`, import.meta.url));
}

const rawCache = new Map<string, string>();

function readDataFile(name: string): string {
  let text = rawCache.get(name);
  if (text === undefined) {
    try {
      text = readFileSync(dataFilePath(name), 'utf8');
    } catch (err) {
      throw new AccessDiscoveryError(
        `cannot read rule file scoring/data/${name}`,
        { name },
        { cause: err },
      );
    }
    rawCache.set(name, text);
  }
  return text;
}

function loadDataFile<T>(name: string, schema: z.ZodType<T>): T {
  let json: unknown;
  try {
    json = JSON.parse(readDataFile(name));
  } catch (err) {
    throw new AccessDiscoveryError(
      `rule file scoring/data/${name} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
      { name },
      { cause: err },
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AccessDiscoveryError(
      `rule file scoring/data/${name} is invalid at ${issue.path.join('.')}: ${issue.message}`,
      { name, issues: parsed.error.issues.slice(0, 10) },
    );
  }
  return parsed.data;
}

const cache = new Map<string, unknown>();

function cached<T>(name: string, schema: z.ZodType<T>): T {
  if (!cache.has(name)) cache.set(name, loadDataFile(name, schema));
  return cache.get(name) as T;
}

export const AWS_OVERRIDES_FILE = 'aws-privilege-overrides.json';
export const SENSITIVITY_FILE = 'sensitivity.json';
export const OBSERVABILITY_FILE = 'aws-observability.json';
export const GCP_RULES_FILE = 'gcp-rules.json';
export const CLOUDTRAIL_MAP_FILE = 'cloudtrail-event-map.json';

export function awsOverrides(): AwsOverrides {
  return cached(AWS_OVERRIDES_FILE, awsOverridesSchema);
}

export function sensitivityRules(): SensitivityRules {
  return cached(SENSITIVITY_FILE, sensitivitySchema);
}

export function observabilityRules(): ObservabilityRules {
  return cached(OBSERVABILITY_FILE, observabilitySchema);
}

export function gcpRules(): GcpRules {
  return cached(GCP_RULES_FILE, gcpRulesSchema);
}

/** Short content hash of rule files, so a data_version changes whenever a rule does. */
export function rulesHash(names: string[]): string {
  const hash = createHash('sha256');
  for (const name of names) hash.update(name).update('\0').update(readDataFile(name));
  return hash.digest('hex').slice(0, 12);
}
