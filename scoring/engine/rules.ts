import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError } from '../../lib/errors.ts';

/** The scoring rule files: risk weights and tiers, privilege-escalation paths. */

export const RISK_WEIGHTS_FILE = fileURLToPath(
  new URL('../data/risk-weights.json', import.meta.url),
);
export const DATA_EVENT_RESOURCES_FILE = fileURLToPath(
  new URL('../data/data-event-resources.json', import.meta.url),
);
export const ESCALATION_PATHS_FILE = fileURLToPath(
  new URL('../data/escalation-paths.json', import.meta.url),
);

const reason = z.string().min(10);
const points = z.number().int().min(0).max(100);

const riskWeightsSchema = z.strictObject({
  description: z.string(),
  components: z.strictObject({
    'principal-risk': z.strictObject({
      max: points,
      scopedPenalty: z.number().min(0).max(10),
      conditionalPenalty: z.number().min(0).max(10),
      partialDenyPenalty: z.number().min(0).max(10),
      reason,
    }),
    'account-risk': z.strictObject({
      max: points,
      levels: z.strictObject({ low: points, medium: points, high: points, critical: points }),
      reason,
    }),
    'data-sensitivity': z.strictObject({
      max: points,
      pointsPerAction: points,
      maxLevelRank: z.number().int().min(0).max(5),
      minSensitivity: z.number().int().min(0).max(10),
      categories: z.array(z.string().min(1)).min(1),
      reason,
    }),
    exposure: z.strictObject({
      max: points,
      public: points,
      publicConditional: points,
      externalAccount: points,
      federation: points,
      gcpAllUsers: points,
      gcpAllAuthenticatedUsers: points,
      gcpDomain: points,
      reason,
    }),
    escalation: z.strictObject({ max: points, unconditional: points, limited: points, reason }),
    'unused-high-risk': z.strictObject({ max: points, reason }),
  }),
  tiers: z
    .array(
      z.strictObject({
        tier: z.enum(['Critical', 'High', 'Medium', 'Low']),
        adminEquivalent: z.literal(true).optional(),
        minRisk: z.number().min(0).max(100).optional(),
        minOverprivilege: z.number().min(0).max(100).optional(),
        minPrivilegedShare: z.number().min(0).max(1).optional(),
        reason,
      }),
    )
    .min(1),
  adminEquivalentShare: z.number().gt(0).max(1),
});

export type RiskWeights = z.infer<typeof riskWeightsSchema>;
export type ComponentName = keyof RiskWeights['components'];

const escalationSchema = z.strictObject({
  description: z.string(),
  paths: z
    .array(
      z.strictObject({
        id: z.string().regex(/^(aws|gcp)-[a-z0-9-]+$/),
        cloud: z.enum(['aws', 'gcp']),
        requires: z.array(z.array(z.string().min(3)).min(1)).min(1),
        reason,
        source: z.string().min(3),
      }),
    )
    .min(1),
});

export type EscalationPath = z.infer<typeof escalationSchema>['paths'][number];

function readJson<T>(file: string, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(JSON.parse(readFileSync(file, 'utf8')) as unknown);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ConfigError(
      `rule file ${file} is invalid at ${first?.path.join('.') ?? '?'}: ${first?.message ?? ''}`,
      { file, issues: parsed.error.issues },
    );
  }
  return parsed.data;
}

const dataEventSchema = z.strictObject({
  description: z.string(),
  entries: z
    .array(
      z.strictObject({
        pattern: z.string().min(3),
        type: z.string().regex(/^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$/),
        reason,
      }),
    )
    .min(1),
});

export type DataEventResource = z.infer<typeof dataEventSchema>['entries'][number];

let dataEvents: DataEventResource[] | undefined;

/** Data-event action patterns and the CloudTrail resource type that records them. */
export function dataEventResources(): DataEventResource[] {
  dataEvents ??= readJson(DATA_EVENT_RESOURCES_FILE, dataEventSchema).entries;
  return dataEvents;
}

/**
 * The data resource types a trail's selectors record: basic DataResources[].Type and advanced
 * FieldSelectors on resources.type (Equals); empty when the shape names none.
 */
export function selectedDataResourceTypes(selectors: unknown): string[] {
  const out = new Set<string>();
  if (typeof selectors !== 'object' || selectors === null) return [];
  const s = selectors as {
    EventSelectors?: Array<{ DataResources?: Array<{ Type?: string }> }> | null;
    AdvancedEventSelectors?: Array<{
      FieldSelectors?: Array<{ Field?: string; Equals?: string[] }>;
    }> | null;
  };
  for (const sel of s.EventSelectors ?? []) {
    for (const r of sel.DataResources ?? []) if (r.Type) out.add(r.Type);
  }
  for (const sel of s.AdvancedEventSelectors ?? []) {
    for (const f of sel.FieldSelectors ?? []) {
      if (f.Field === 'resources.type') for (const t of f.Equals ?? []) out.add(t);
    }
  }
  return [...out].sort();
}

let weights: RiskWeights | undefined;
let escalation: EscalationPath[] | undefined;

export function riskWeights(): RiskWeights {
  if (!weights) {
    const w = readJson(RISK_WEIGHTS_FILE, riskWeightsSchema);
    const last = w.tiers[w.tiers.length - 1]!;
    if (
      last.adminEquivalent ||
      last.minRisk !== undefined ||
      last.minOverprivilege !== undefined ||
      last.minPrivilegedShare !== undefined
    ) {
      throw new ConfigError(
        `rule file ${RISK_WEIGHTS_FILE}: the last tier rule must have no conditions (the default)`,
      );
    }
    weights = w;
  }
  return weights;
}

export function escalationPaths(): EscalationPath[] {
  if (!escalation) {
    const paths = readJson(ESCALATION_PATHS_FILE, escalationSchema).paths;
    const ids = new Set<string>();
    for (const p of paths) {
      if (ids.has(p.id))
        throw new ConfigError(`rule file ${ESCALATION_PATHS_FILE}: duplicate path id ${p.id}`);
      ids.add(p.id);
      if (!p.id.startsWith(`${p.cloud}-`))
        throw new ConfigError(
          `rule file ${ESCALATION_PATHS_FILE}: path ${p.id} does not start with its cloud`,
        );
    }
    escalation = paths;
  }
  return escalation;
}
