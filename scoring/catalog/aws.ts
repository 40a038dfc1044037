import { UsageError } from '../../lib/errors.ts';
import { ActionExpander } from '../policy/expand.ts';
import { readAwsIamData } from './iam-data.ts';
import {
  AWS_ACCESS_LEVEL_TO_PRIVILEGE,
  levelRank,
  maxLevel,
  type PrivilegeLevel,
} from './levels.ts';
import {
  AWS_OVERRIDES_FILE,
  awsOverrides,
  OBSERVABILITY_FILE,
  observabilityRules,
  rulesHash,
  SENSITIVITY_FILE,
  type SensitivityRule,
  sensitivityRules,
} from './rules.ts';
import type { ActionClassification, Observability } from './types.ts';

/**
 * The published access level field may hold a qualifier next to "Write" ("Permissions
 * management, Write", "Tagging, Write"). The qualifier is the informative part: in the bundled
 * data every tagging action is published as "Tagging, Write", so taking the plain maximum would
 * leave TAGGING empty. Permissions management is also the higher of its pair, so for it the
 * rule and "the higher wins" agree.
 */
export function levelFromAccessLevels(accessLevels: string[]): {
  level: PrivilegeLevel;
  reason: string;
} {
  const published = accessLevels.join(', ');
  if (accessLevels.includes('Permissions management')) {
    return {
      level: 'IAM',
      reason: `published access level "${published}" (permissions management)`,
    };
  }
  if (accessLevels.includes('Tagging')) {
    return { level: 'TAGGING', reason: `published access level "${published}" (a tagging action)` };
  }
  const mapped = accessLevels
    .map((a) => AWS_ACCESS_LEVEL_TO_PRIVILEGE[a])
    .filter((l) => l !== undefined);
  const level = maxLevel(mapped);
  if (!level) {
    // Unknown published level: fail safe upward rather than under-rate the action.
    return {
      level: 'WRITE',
      reason: `unrecognized published access level "${published}", treated as Write`,
    };
  }
  return { level, reason: `published access level "${published}"` };
}

function applySensitivity(
  base: { sensitivity: number; reason: string },
  matching: SensitivityRule[],
): { sensitivity: number; reasons: string[] } {
  const raising = matching
    .filter((r) => r.sensitivity > base.sensitivity)
    .sort((a, b) => b.sensitivity - a.sensitivity);
  const reasons = [`level base ${base.sensitivity}: ${base.reason}`];
  for (const r of raising) reasons.push(`raised to ${r.sensitivity} (${r.category}): ${r.reason}`);
  return { sensitivity: raising[0]?.sensitivity ?? base.sensitivity, reasons };
}

/** The AWS half of the catalog: every action of the bundled iam-data, classified. */
export class AwsCatalog {
  readonly dataVersion: string;
  readonly expander: ActionExpander;
  /** Override, sensitivity and observability patterns that match no action (typos, retired actions). */
  readonly unmatchedPatterns: Array<{ file: string; pattern: string }> = [];
  private readonly byLower = new Map<string, ActionClassification>();

  constructor() {
    const data = readAwsIamData();
    // The rule-file hash is part of the version: changing a rule must show as a new catalog.
    this.dataVersion = `iam-data@${data.version}+rules.${rulesHash([AWS_OVERRIDES_FILE, SENSITIVITY_FILE, OBSERVABILITY_FILE])}`;
    this.expander = new ActionExpander(data.actions.map((a) => a.action));

    const overrideFor = new Map<
      string,
      { level: PrivilegeLevel; reason: string; category: string }
    >();
    const published = new Map(
      data.actions.map((a) => [a.action, levelFromAccessLevels(a.accessLevels)]),
    );
    for (const o of awsOverrides().overrides) {
      const matched = this.expander.expand(o.pattern);
      if (matched.length === 0)
        this.unmatchedPatterns.push({ file: AWS_OVERRIDES_FILE, pattern: o.pattern });
      for (const action of matched) {
        if (overrideFor.has(action)) continue;
        if (o.fromLevels && !o.fromLevels.includes(published.get(action)!.level)) continue;
        overrideFor.set(action, { level: o.level, reason: o.reason, category: o.category });
      }
    }

    const sens = sensitivityRules();
    const sensitivityFor = new Map<string, SensitivityRule[]>();
    for (const rule of sens.aws) {
      const matched = this.expander.expand(rule.pattern);
      if (matched.length === 0)
        this.unmatchedPatterns.push({ file: SENSITIVITY_FILE, pattern: rule.pattern });
      for (const action of matched) {
        const list = sensitivityFor.get(action) ?? [];
        list.push(rule);
        sensitivityFor.set(action, list);
      }
    }

    const observableFor = new Map<string, { observable: Observability; reason: string }>();
    for (const entry of observabilityRules().entries) {
      const matched = this.expander.expand(entry.pattern);
      if (matched.length === 0)
        this.unmatchedPatterns.push({ file: OBSERVABILITY_FILE, pattern: entry.pattern });
      for (const action of matched) {
        if (!observableFor.has(action))
          observableFor.set(action, { observable: entry.observable, reason: entry.reason });
      }
    }

    for (const record of data.actions) {
      const pub = published.get(record.action)!;
      const override = overrideFor.get(record.action);
      const level = override?.level ?? pub.level;
      const levelReason = override ? `${override.reason} (override; ${pub.reason})` : pub.reason;
      const base = sens.levelBase[level]!;
      const { sensitivity, reasons } = applySensitivity(
        base,
        sensitivityFor.get(record.action) ?? [],
      );
      const obs = observableFor.get(record.action) ?? {
        observable: 'management' as const,
        reason: 'An API call recorded as a management event by every trail.',
      };
      const entry: ActionClassification = {
        cloud: 'aws',
        action: record.action,
        service: record.service,
        accessLevels: record.accessLevels,
        level,
        levelRank: levelRank(level),
        levelReason,
        sensitivity,
        sensitivityReasons: reasons,
        observable: obs.observable,
        observableReason: obs.reason,
        resourceTypes: record.resourceTypes,
        resourceScopeable: record.resourceTypes.length > 0,
        dataVersion: this.dataVersion,
      };
      if (override) entry.levelCategory = override.category;
      this.byLower.set(record.action.toLowerCase(), entry);
    }
  }

  get size(): number {
    return this.byLower.size;
  }

  entries(): IterableIterator<ActionClassification> {
    return this.byLower.values();
  }

  /** The classification of an exact action name (any case), or undefined when not in the catalog. */
  find(action: string): ActionClassification | undefined {
    return this.byLower.get(action.toLowerCase());
  }
}

let shared: AwsCatalog | undefined;

/**
 * AWS actions whose use CloudTrail shows only in a given way: `never` lists the unobservable
 * actions (iam:PassRole...) that scoring must not call unused; `data-event` those that need data
 * event selectors on the trail.
 */
export function awsActionsByObservability(kind: Observability): string[] {
  return [...getAwsCatalog().entries()].filter((c) => c.observable === kind).map((c) => c.action);
}

/** The process-wide AWS catalog, built on first use (about 0.3 s). */
export function getAwsCatalog(): AwsCatalog {
  shared ??= new AwsCatalog();
  return shared;
}

/** Level, sensitivity and reasons of an AWS action; throws UsageError when the catalog lacks it. */
export function classifyAwsAction(name: string): ActionClassification {
  const found = getAwsCatalog().find(name);
  if (!found) {
    throw new UsageError(
      `unknown AWS action "${name}": not in the catalog (iam-data ${readAwsIamData().version})`,
      {
        action: name,
      },
    );
  }
  return found;
}
