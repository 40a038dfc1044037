import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { AccessDiscoveryError } from '../../lib/errors.ts';
import type { ActionExpander } from '../policy/expand.ts';
import { getAwsCatalog } from './aws.ts';
import { CLOUDTRAIL_MAP_FILE, dataFilePath, rulesHash } from './rules.ts';

/**
 * CloudTrail eventSource/eventName → IAM actions, driven by cloudtrail-event-map.json. Ingestion
 * aggregates raw events by (principal, eventSource, eventName, day) in DuckDB and calls the mapper
 * once per distinct pair, so results are cached per pair (and event type).
 */

export type MappingStatus = 'mapped' | 'no-permission' | 'unmapped';

export interface EventMapping {
  status: MappingStatus;
  /** Canonical catalog actions; empty unless mapped. */
  actions: string[];
  /** Why: the rule that mapped it, why no permission applies, or why it could not be mapped. */
  reason?: string;
}

export interface EventExtra {
  /** CloudTrail eventType (AwsApiCall, AwsServiceEvent, AwsConsoleSignIn, ...). */
  eventType?: string;
  /** True when the request named an object version (requestParameters.versionId). */
  versionId?: boolean;
}

const mapSchema = z.object({
  description: z.string(),
  version: z.string(),
  eventTypes: z.array(
    z.object({
      eventType: z.string(),
      status: z.enum(['no-permission']),
      reason: z.string().min(10),
    }),
  ),
  sourceRenames: z.array(
    z.object({ eventSource: z.string(), prefix: z.string(), reason: z.string().min(10) }),
  ),
  versionSuffixes: z.array(
    z.object({ eventSource: z.string(), regex: z.string(), reason: z.string().min(10) }),
  ),
  namePrefixRules: z.array(
    z.object({
      eventSource: z.string(),
      prefixes: z.array(z.string()).min(1),
      actions: z.array(z.string()).min(1),
      reason: z.string().min(10),
    }),
  ),
  events: z.array(
    z.union([
      z.object({
        eventSource: z.string(),
        eventName: z.string(),
        actions: z.array(z.string()).min(1),
        versionIdActions: z.array(z.string()).optional(),
        reason: z.string().min(10),
      }),
      z.object({
        eventSource: z.string(),
        eventName: z.string(),
        noPermission: z.literal(true),
        reason: z.string().min(10),
      }),
    ]),
  ),
});

export type CloudTrailEventMap = z.infer<typeof mapSchema>;

export function readCloudTrailEventMap(): CloudTrailEventMap {
  const path = dataFilePath(CLOUDTRAIL_MAP_FILE);
  const parsed = mapSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AccessDiscoveryError(
      `rule file scoring/data/${CLOUDTRAIL_MAP_FILE} is invalid at ${issue.path.join('.')}: ${issue.message}`,
      { issues: parsed.error.issues.slice(0, 10) },
    );
  }
  return parsed.data;
}

const AMAZONAWS = '.amazonaws.com';

/** A mapper over one catalog. Use {@link mapCloudTrailEvent} for the process-wide one. */
export class CloudTrailMapper {
  readonly dataVersion: string;
  /** Actions named by the table that the catalog lacks (a test keeps this empty). */
  readonly unknownActions: Array<{ where: string; action: string }> = [];
  private readonly expander: ActionExpander;
  private readonly eventTypes = new Map<string, string>();
  private readonly renames = new Map<string, string>();
  private readonly suffixes: Array<{ source: string; regexp: RegExp; reason: string }>;
  private readonly prefixRules: CloudTrailEventMap['namePrefixRules'];
  private readonly events = new Map<string, CloudTrailEventMap['events'][number]>();
  private readonly cache = new Map<string, EventMapping>();

  constructor(expander: ActionExpander, table: CloudTrailEventMap = readCloudTrailEventMap()) {
    this.expander = expander;
    this.dataVersion = `cloudtrail-map@${table.version}+rules.${rulesHash([CLOUDTRAIL_MAP_FILE])}`;
    for (const t of table.eventTypes) this.eventTypes.set(t.eventType, t.reason);
    for (const r of table.sourceRenames) this.renames.set(r.eventSource, r.prefix);
    this.suffixes = table.versionSuffixes.map((s) => ({
      source: s.eventSource,
      regexp: new RegExp(s.regex),
      reason: s.reason,
    }));
    this.prefixRules = table.namePrefixRules;
    for (const rule of table.namePrefixRules)
      this.checkActions(`namePrefixRules ${rule.eventSource}`, rule.actions);
    for (const e of table.events) {
      this.events.set(`${e.eventSource}\u0000${e.eventName}`, e);
      if ('actions' in e) {
        this.checkActions(`${e.eventSource} ${e.eventName}`, e.actions);
        this.checkActions(`${e.eventSource} ${e.eventName} (versionId)`, e.versionIdActions ?? []);
      }
    }
  }

  private checkActions(where: string, actions: string[]): void {
    for (const action of actions) {
      if (!this.expander.has(action)) this.unknownActions.push({ where, action });
    }
  }

  private canonical(actions: string[]): string[] | undefined {
    const out: string[] = [];
    for (const a of actions) {
      const c = this.expander.canonicalName(a);
      if (!c) return undefined;
      out.push(c);
    }
    return out;
  }

  /** The IAM service prefix for an event source, or undefined when none applies. */
  prefixFor(eventSource: string): string | undefined {
    const renamed = this.renames.get(eventSource);
    if (renamed) return renamed;
    if (!eventSource.endsWith(AMAZONAWS)) return undefined;
    return eventSource.slice(0, -AMAZONAWS.length);
  }

  map(eventSource: string, eventName: string, extra: EventExtra = {}): EventMapping {
    const key = `${eventSource}\u0000${eventName}\u0000${extra.eventType ?? ''}\u0000${extra.versionId ? 1 : 0}`;
    let result = this.cache.get(key);
    if (!result) {
      result = this.compute(eventSource, eventName, extra);
      this.cache.set(key, result);
    }
    return result;
  }

  private fromEntry(entry: CloudTrailEventMap['events'][number], versionId: boolean): EventMapping {
    if ('noPermission' in entry)
      return { status: 'no-permission', actions: [], reason: entry.reason };
    const wanted = versionId && entry.versionIdActions ? entry.versionIdActions : entry.actions;
    const actions = this.canonical(wanted);
    if (!actions) {
      return {
        status: 'unmapped',
        actions: [],
        reason: `the mapping table names actions missing from the catalog: ${wanted.join(', ')}`,
      };
    }
    return { status: 'mapped', actions, reason: entry.reason };
  }

  private compute(eventSource: string, eventName: string, extra: EventExtra): EventMapping {
    if (!eventSource || !eventName) {
      return {
        status: 'unmapped',
        actions: [],
        reason: 'the record has no eventSource or eventName',
      };
    }
    const typeReason = extra.eventType ? this.eventTypes.get(extra.eventType) : undefined;
    if (typeReason) return { status: 'no-permission', actions: [], reason: typeReason };

    const versionId = extra.versionId === true;
    const exact = this.events.get(`${eventSource}\u0000${eventName}`);
    if (exact) return this.fromEntry(exact, versionId);

    const prefix = this.prefixFor(eventSource);
    const known = prefix !== undefined && this.expander.hasService(prefix);
    // The event name as written first: only a name the catalog lacks loses a version suffix.
    const asWritten = known ? this.expander.canonicalName(`${prefix}:${eventName}`) : undefined;
    if (asWritten)
      return { status: 'mapped', actions: [asWritten], reason: 'event name equals the IAM action' };

    let name = eventName;
    let suffixReason: string | undefined;
    for (const s of this.suffixes) {
      if (s.source !== '*' && s.source !== eventSource) continue;
      const stripped = name.replace(s.regexp, '');
      if (stripped !== name && stripped.length > 0) {
        name = stripped;
        suffixReason = s.reason;
        break;
      }
    }
    if (name !== eventName) {
      const entry = this.events.get(`${eventSource}\u0000${name}`);
      if (entry) return this.fromEntry(entry, versionId);
    }

    if (!known) {
      return {
        status: 'unmapped',
        actions: [],
        reason: `event source ${eventSource} has no IAM service prefix in the catalog${prefix ? ` (tried "${prefix}")` : ''}`,
      };
    }
    const direct =
      name !== eventName ? this.expander.canonicalName(`${prefix}:${name}`) : undefined;
    if (direct) {
      return {
        status: 'mapped',
        actions: [direct],
        reason: `version suffix removed; ${suffixReason}`,
      };
    }
    for (const rule of this.prefixRules) {
      if (rule.eventSource !== eventSource) continue;
      if (!rule.prefixes.some((p) => name.startsWith(p))) continue;
      const actions = this.canonical(rule.actions);
      if (actions) return { status: 'mapped', actions, reason: rule.reason };
    }
    return {
      status: 'unmapped',
      actions: [],
      reason: `no IAM action ${prefix}:${name} in the catalog and no mapping rule for ${eventSource} ${eventName}`,
    };
  }

  /** Every action the table itself names (explicit events and prefix rules), canonical. */
  tableActions(): string[] {
    const out = new Set<string>();
    for (const e of this.events.values()) {
      if (!('actions' in e)) continue;
      for (const a of [...e.actions, ...(e.versionIdActions ?? [])]) {
        const c = this.expander.canonicalName(a);
        if (c) out.add(c);
      }
    }
    for (const r of this.prefixRules)
      for (const a of r.actions) {
        const c = this.expander.canonicalName(a);
        if (c) out.add(c);
      }
    return [...out];
  }

  /** Explicit (eventSource, eventName) pairs of the table, for tests and docs. */
  tableEvents(): Array<{ eventSource: string; eventName: string }> {
    return [...this.events.values()].map((e) => ({
      eventSource: e.eventSource,
      eventName: e.eventName,
    }));
  }
}

let shared: CloudTrailMapper | undefined;

export function getCloudTrailMapper(): CloudTrailMapper {
  shared ??= new CloudTrailMapper(getAwsCatalog().expander);
  return shared;
}

/** Map one CloudTrail event to the IAM actions it used; cached per distinct input. */
export function mapCloudTrailEvent(
  eventSource: string,
  eventName: string,
  extra?: EventExtra,
): EventMapping {
  return getCloudTrailMapper().map(eventSource, eventName, extra);
}
