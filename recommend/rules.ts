import { createHash } from 'node:crypto';
import type { Config, IntegrationConfig } from '../config/schema.ts';
import { errorMessage, PolicyError } from '../lib/errors.ts';
import { timeSlicer } from '../lib/event-loop.ts';
import type { Logger } from '../lib/log.ts';
import type { ActionExpander } from '../scoring/policy/expand.ts';
import { type ParsedPolicy, parsePolicyDocument } from '../scoring/policy/parse.ts';
import { wildcardToRegExp } from '../scoring/policy/wildcard.ts';
import {
  addPolicySteps,
  boundarySteps,
  type IamEntity,
  partitionOf,
  removePolicyStep,
} from './artifacts/aws-scripts.ts';
import {
  customQuarantineBoundary,
  denyForbidSet,
  QUARANTINE_DESCRIPTION,
  QUARANTINE_POLICY_NAME,
  quarantineBoundaryDocument,
} from './artifacts/boundary.ts';
import { deleteRolePlan, deleteUserPlan, renderAwsCli } from './artifacts/delete-script.ts';
import { denyRule } from './artifacts/deny-rule.ts';
import {
  customRoleId,
  customRolePlan,
  deleteServiceAccountPlan,
  disableServiceAccountStep,
  type GcpBinding,
  removeBindingStep,
  renderGcloud,
} from './artifacts/gcp.ts';
import { rightSizePolicy } from './artifacts/right-size.ts';
import { contentHash, documentText, isNorepo } from './artifacts/statements.ts';
import {
  type Attachment,
  currentPolicySet,
  isUnobservable,
  type PrincipalFacts,
  type RecommendationInputs,
  requiredCoverageDays,
  unreadablePolicies,
} from './inputs.ts';
import { ActionFacts } from './levels.ts';
import {
  inlineLimitKind,
  MANAGED_POLICIES_MAX,
  MANAGED_POLICIES_PER_ENTITY,
  POLICY_LIMITS,
  policyChars,
} from './limits.ts';
import {
  buildProof,
  type PolicyDoc,
  PolicyEvaluator,
  type PolicySet,
  type ProofSubject,
  statementContainment,
} from './proof.ts';
import {
  type Artifact,
  type NorepoKept,
  type OptionType,
  type PlanStep,
  type Proof,
  RECOMMENDATION_TITLES,
  type RecommendationKind,
  type RecommendationOption,
  type RecommendationProof,
  type Severity,
} from './types.ts';

/**
 * The recommendation rules: from what a principal may do, what it used and what the logs cannot
 * show, to ranked recommendations whose every option carries proven artifacts.
 *
 * - dormant-principal (status dormant): quarantine (deny-all boundary) or delete (AWS users and
 *   roles); disable or delete (GCP service accounts); binding removal (GCP users).
 * - unused-privileged-permissions (AWS users and roles with unused IAM/ADMIN actions): custom
 *   quarantine, a boundary that keeps today's permissions and denies those actions.
 * - overprivileged-policy (a policy with unused actions; for an AWS group, unused by every
 *   member): custom quarantine (a deny rule for the unused actions) or right-size (a new
 *   least-privilege policy); for GCP, binding removal or a smaller custom role (for a GCP group's
 *   binding, on the combined use of its members, nested groups expanded).
 *
 * An option whose proof fails is dropped and logged; a recommendation left with no option is not
 * emitted. Unobservable actions and NOREPO statements are always kept, and flagged for review.
 */

export interface IgnoreRuleRow {
  ignoreId: string;
  principalId: string;
  reason: string;
}

export interface RulesOptions {
  config: Config;
  integration: IntegrationConfig;
  expander: ActionExpander;
  logger: Logger;
  ignores: IgnoreRuleRow[];
}

export interface RecommendationDraft {
  recommendationId: string;
  integrationId: string;
  principalId: string;
  accountId: string;
  policyId: string | null;
  kind: RecommendationKind;
  title: string;
  severity: Severity;
  options: RecommendationOption[];
  proof: RecommendationProof;
  owner: string | null;
  ownerSource: 'tag' | 'integration' | 'none';
  riskReduction: number;
  /** A safety rail or an ignore rule keeps it from being open. */
  hold?: { state: 'suppressed' | 'ignored'; reason: string };
}

export interface DroppedOption {
  principalId: string;
  kind: RecommendationKind;
  policyId: string | null;
  option: OptionType;
  reason: string;
}

export interface RulesResult {
  drafts: RecommendationDraft[];
  dropped: DroppedOption[];
  /** Principals whose recommendations could not be computed (bad input); the rest went on. */
  errors: Array<{ principalId: string; accountId: string; message: string }>;
  /** Principals left out entirely (service-linked roles, service agents, Access Discovery's own roles). */
  untouchable: number;
}

/** Stable across assessments, so states (applied, ignored) carry over. */
export function recommendationId(
  integrationId: string,
  principalId: string,
  kind: RecommendationKind,
  policyId: string | null,
): string {
  const hash = createHash('sha256')
    .update([integrationId, principalId, kind, policyId ?? ''].join('\u0000'))
    .digest('hex')
    .slice(0, 24);
  return `rec_${hash}`;
}

const SEVERITY_STEPS: Severity[] = ['low', 'medium', 'high', 'critical'];

function raise(severity: Severity, accountRisk: string): Severity {
  const i = SEVERITY_STEPS.indexOf(severity);
  const up = accountRisk === 'high' || accountRisk === 'critical' ? 1 : 0;
  return SEVERITY_STEPS[Math.min(SEVERITY_STEPS.length - 1, i + up)]!;
}

function daysBetween(from: string, to: string): number {
  return Math.round(
    (Date.parse(`${to.slice(0, 10)}T00:00:00Z`) - Date.parse(`${from.slice(0, 10)}T00:00:00Z`)) /
      86_400_000,
  );
}

const LIST_CAP = 500;
function capped(actions: Iterable<string>): string[] {
  return [...actions].sort().slice(0, LIST_CAP);
}

interface PrincipalView {
  facts: PrincipalFacts;
  set: PolicySet;
  effective: ReadonlySet<string>;
  unobservable: Set<string>;
  /** Actions granted by NOREPO statements of the identity policies. */
  norepoActions: Set<string>;
  norepoKept: NorepoKept[];
  unreadable: string[];
}

/** Longest stretch the rules hold the thread before letting other work (API requests) run. */
const YIELD_AFTER_MS = 20;

export class RecommendationRules {
  private readonly evaluator: PolicyEvaluator;
  private readonly facts = new ActionFacts();
  private readonly dropped: DroppedOption[] = [];
  private readonly views = new Map<string, PrincipalView>();
  private readonly quarantineDoc = quarantineBoundaryDocument();
  private readonly quarantineParsed: ParsedPolicy = parsePolicyDocument(this.quarantineDoc);

  constructor(
    private readonly inputs: RecommendationInputs,
    private readonly options: RulesOptions,
  ) {
    this.evaluator = new PolicyEvaluator(options.expander);
  }

  /**
   * Every principal's recommendations. Asynchronous only to let the event loop breathe: the
   * rules are CPU work, and the API serves requests from the same thread while an assessment
   * runs, so the loop yields whenever it has held the thread for YIELD_AFTER_MS.
   */
  async run(): Promise<RulesResult> {
    const drafts: RecommendationDraft[] = [];
    const errors: RulesResult['errors'] = [];
    let untouchable = 0;
    const ownRoles = productRoleNames(this.options.integration);
    const breathe = timeSlicer(YIELD_AFTER_MS);
    for (const facts of this.inputs.principals) {
      await breathe();
      if (facts.serviceLinked && this.options.config.exclusions.neverTouchServiceLinkedRoles) {
        untouchable++;
        continue;
      }
      // Quarantining the roles Access Discovery itself reads and remediates through would
      // blind it and remove the way back.
      if (facts.cloud === 'aws' && facts.kind === 'role' && ownRoles.has(facts.name)) {
        untouchable++;
        continue;
      }
      try {
        drafts.push(...(await this.forPrincipal(facts, breathe)));
      } catch (err) {
        // One principal's bad input must not stop the others; the stage records it.
        errors.push({
          principalId: facts.principalId,
          accountId: facts.accountId,
          message: `recommendations for ${facts.principalId} failed: ${errorMessage(err)}`,
        });
      }
    }
    return { drafts, dropped: this.dropped, errors, untouchable };
  }

  // ---------------------------------------------------------------------------------------------
  // Per principal

  /**
   * One principal's drafts. A principal with many large policies takes hundreds of
   * milliseconds, so `breathe` (the run's time slicer) may yield between its rules and policies.
   */
  private async forPrincipal(
    facts: PrincipalFacts,
    breathe: () => Promise<void> | undefined,
  ): Promise<RecommendationDraft[]> {
    const out: RecommendationDraft[] = [];
    if (facts.cloud === 'aws') {
      if (facts.kind === 'user' || facts.kind === 'role') {
        const view = this.view(facts);
        await breathe();
        out.push(...this.awsDormant(view));
        out.push(...this.awsUnusedPrivileged(view));
        for (const attachment of facts.attachments) {
          if (attachment.via !== 'direct' && attachment.via !== 'inline') continue;
          await breathe();
          out.push(...this.awsOverprivilegedPolicy(facts, attachment, [view]));
        }
      } else if (facts.kind === 'group') {
        const members = this.groupMembers(facts);
        if (members.length > 0) {
          for (const attachment of facts.attachments) {
            if (attachment.via !== 'direct' && attachment.via !== 'inline') continue;
            await breathe();
            out.push(...this.awsOverprivilegedPolicy(facts, attachment, members));
          }
        }
      }
    } else if (facts.kind === 'service-account' || facts.kind === 'user') {
      const view = this.view(facts);
      await breathe();
      out.push(...this.gcpDormant(view));
      out.push(...this.gcpOverprivilegedRoles(view));
    } else if (facts.kind === 'group') {
      out.push(...this.gcpGroupRoles(facts));
    }
    const rail = this.rails(facts);
    if (rail) {
      for (const draft of out) {
        draft.hold = { state: rail.state, reason: rail.reason };
        // Evidence that cannot be trusted yields no removal artifacts at all.
        if (rail.withdraw) {
          draft.options = [];
          draft.proof.options = [];
        }
      }
    }
    return out;
  }

  private view(facts: PrincipalFacts): PrincipalView {
    const cached = this.views.get(facts.principalId);
    if (cached) return cached;
    const set = currentPolicySet(facts);
    const effective = this.evaluator.effective(set);
    const unobservable = new Set<string>();
    for (const a of effective) {
      if (!facts.used.has(a) && isUnobservable(facts.cloud, a, facts.dataEvents))
        unobservable.add(a);
    }
    const norepoActions = new Set<string>();
    const norepoKept: NorepoKept[] = [];
    for (const attachment of facts.attachments) {
      const doc = attachment.policy.doc;
      if (doc?.cloud !== 'aws') continue;
      for (const st of doc.parsed.statements) {
        if (st.effect !== 'Allow' || !isNorepo(st)) continue;
        const actions = this.options.expander.expandStatement(st);
        for (const a of actions) norepoActions.add(a);
        norepoKept.push({
          policyId: attachment.policy.policyId,
          sid: st.sid ?? '',
          actions: actions.size,
        });
      }
    }
    const view: PrincipalView = {
      facts,
      set,
      effective,
      unobservable,
      norepoActions,
      norepoKept,
      unreadable: unreadablePolicies(facts).map(
        (p) => `${p.policyId}: ${p.problem ?? 'unreadable'}`,
      ),
    };
    this.views.set(facts.principalId, view);
    return view;
  }

  private groupMembers(group: PrincipalFacts): PrincipalView[] {
    const out: PrincipalView[] = [];
    for (const member of this.inputs.principals) {
      if (member.cloud !== 'aws' || member.kind !== 'user') continue;
      if (!member.attachments.some((a) => a.via === 'group' && a.viaRef === group.principalId))
        continue;
      out.push(this.view(member));
    }
    return out;
  }

  /** Safety rails, in order; the first that matches holds every recommendation of the principal. */
  private rails(
    facts: PrincipalFacts,
  ): { state: 'suppressed' | 'ignored'; reason: string; withdraw: boolean } | undefined {
    const { config } = this.options;
    const { context } = this.inputs;
    for (const pattern of config.exclusions.principals) {
      if (wildcardToRegExp(pattern).test(facts.principalId)) {
        return {
          state: 'suppressed',
          reason: `excluded by the config (exclusions.principals: ${pattern})`,
          withdraw: false,
        };
      }
    }
    const tag = config.breakGlassTag;
    const value = facts.tags[tag.key];
    if (value !== undefined && (tag.value === undefined || tag.value === value)) {
      return {
        state: 'suppressed',
        reason: `break-glass principal (tag ${tag.key}=${value}): never remediated`,
        withdraw: false,
      };
    }
    if (
      config.exclusions.skipYoungerThanWindow &&
      facts.createdAt &&
      facts.createdAt.slice(0, 10) > context.windowStart
    ) {
      return {
        state: 'suppressed',
        reason: `created ${facts.createdAt.slice(0, 10)}, younger than the ${context.windowDays}-day evidence window`,
        withdraw: false,
      };
    }
    const newest = this.inputs.newestUsageDay;
    if (!newest || daysBetween(newest, context.windowEnd) > config.staleUsageDays) {
      return {
        state: 'suppressed',
        reason: newest
          ? `usage data is stale: the newest day is ${newest}, ${daysBetween(newest, context.windowEnd)} days before ${context.windowEnd} (staleUsageDays ${config.staleUsageDays})`
          : 'no usage data for this integration: removals cannot be proven against real use',
        withdraw: true,
      };
    }
    const required = requiredCoverageDays(context);
    if (facts.coveredDays < required) {
      return {
        state: 'suppressed',
        reason: `the logs cover ${facts.cloud === 'gcp' && facts.kind !== 'service-account' ? 'the integration' : `account ${facts.accountId}`} on ${facts.coveredDays} of the ${required} days required: unused cannot be told from unseen`,
        withdraw: true,
      };
    }
    if (facts.evidenceGap) {
      return {
        state: 'suppressed',
        reason: `the logs cannot show all its activity (${facts.evidenceGap}): unused cannot be told from unseen`,
        withdraw: true,
      };
    }
    const ignore = this.options.ignores.find((i) => i.principalId === facts.principalId);
    if (ignore) {
      return {
        state: 'ignored',
        reason: `ignore ${ignore.ignoreId}: ${ignore.reason}`,
        withdraw: false,
      };
    }
    return undefined;
  }

  private owner(facts: PrincipalFacts): Pick<RecommendationDraft, 'owner' | 'ownerSource'> {
    const key = this.options.config.ownerTagKey;
    const tagged = (key ? facts.tags[key] : undefined) ?? facts.owner;
    if (tagged) return { owner: tagged, ownerSource: 'tag' };
    const fallback = this.inputs.integrationOwner ?? this.options.config.owner ?? null;
    return fallback
      ? { owner: fallback, ownerSource: 'integration' }
      : { owner: null, ownerSource: 'none' };
  }

  private applicableAws(): { applicable: boolean; notApplicableReason?: string } {
    const integration = this.options.integration;
    const hasRole =
      (integration.kind === 'aws-organization' || integration.kind === 'aws-account') &&
      integration.remediationRoleName !== undefined;
    return hasRole
      ? { applicable: true }
      : {
          applicable: false,
          notApplicableReason:
            'the integration has no remediationRoleName: preview only; apply the artifacts by hand',
        };
  }

  /** Keep the options whose proof passes; log the others. */
  private finish(
    facts: PrincipalFacts,
    kind: RecommendationKind,
    policyId: string | null,
    severity: Severity,
    candidates: Array<
      { option: RecommendationOption; proof: Proof } | { dropped: OptionType; reason: string }
    >,
    evidence: Record<string, unknown>,
  ): RecommendationDraft[] {
    const options: RecommendationOption[] = [];
    const proofs: Proof[] = [];
    for (const c of candidates) {
      if ('dropped' in c) {
        this.drop(facts, kind, policyId, c.dropped, c.reason);
        continue;
      }
      if (c.proof.result !== 'pass') {
        this.drop(
          facts,
          kind,
          policyId,
          c.option.type,
          `proof failed: ${c.proof.failures.join('; ')}`,
        );
        continue;
      }
      options.push(c.option);
      proofs.push(c.proof);
    }
    if (options.length === 0) return [];
    const riskReduction = Math.max(...options.map((o) => o.riskReduction));
    return [
      {
        recommendationId: recommendationId(facts.integrationId, facts.principalId, kind, policyId),
        integrationId: facts.integrationId,
        principalId: facts.principalId,
        accountId: facts.accountId,
        policyId,
        kind,
        title: RECOMMENDATION_TITLES[kind],
        severity,
        options,
        proof: {
          window: { start: this.inputs.context.windowStart, end: this.inputs.context.windowEnd },
          evidence,
          riskReduction,
          options: proofs,
        },
        ...this.owner(facts),
        riskReduction,
      },
    ];
  }

  private drop(
    facts: PrincipalFacts,
    kind: RecommendationKind,
    policyId: string | null,
    option: OptionType,
    reason: string,
  ): void {
    this.dropped.push({ principalId: facts.principalId, kind, policyId, option, reason });
    this.options.logger.warn(
      `${facts.principalId} ${kind}${policyId ? ` (${policyId})` : ''}: option ${option} not offered: ${reason}`,
    );
  }

  private attempt(
    option: OptionType,
    build: () => { option: RecommendationOption; proof: Proof },
  ): { option: RecommendationOption; proof: Proof } | { dropped: OptionType; reason: string } {
    try {
      return build();
    } catch (err) {
      return { dropped: option, reason: errorMessage(err) };
    }
  }

  // ---------------------------------------------------------------------------------------------
  // AWS

  private entity(facts: PrincipalFacts): IamEntity {
    return { kind: facts.kind as IamEntity['kind'], name: facts.name };
  }

  private awsDormant(view: PrincipalView): RecommendationDraft[] {
    const { facts } = view;
    if (facts.status !== 'dormant') return [];
    const entity = this.entity(facts);
    const partition = partitionOf(facts.principalId);
    const candidates: Array<
      { option: RecommendationOption; proof: Proof } | { dropped: OptionType; reason: string }
    > = [];
    const cloud = 'aws' as const;
    if (view.effective.size > 0) {
      candidates.push(
        this.attempt('quarantine', () => {
          const doc = this.quarantineDoc;
          const chars = policyChars(doc);
          const artifacts: Artifact[] = [
            {
              name: `${QUARANTINE_POLICY_NAME}.json`,
              format: 'json',
              content: documentText(doc),
              policy: {
                kind: 'boundary',
                name: QUARANTINE_POLICY_NAME,
                chars,
                limit: POLICY_LIMITS.managed,
              },
            },
            {
              name: `quarantine-${facts.kind}.sh`,
              format: 'shell',
              content: renderAwsCli(
                boundarySteps(entity, partition, facts.accountId, {
                  name: QUARANTINE_POLICY_NAME,
                  document: doc,
                  description: QUARANTINE_DESCRIPTION,
                }),
                { title: `Quarantine ${facts.kind} ${facts.name}`, accountId: facts.accountId },
              ),
            },
          ];
          const after: PolicySet = {
            ...view.set,
            boundary: { cloud, id: QUARANTINE_POLICY_NAME, parsed: this.quarantineParsed },
          };
          const proof = buildProof({
            option: 'quarantine',
            expectation: 'deny-all',
            evaluator: this.evaluator,
            subjects: [{ id: facts.principalId, before: view.set, after, used: facts.used }],
            artifacts,
          });
          const previous = facts.boundary
            ? ` The current boundary (${facts.boundary.policy.policyId}) is recorded and restored on rollback.`
            : '';
          return {
            proof,
            option: {
              type: 'quarantine',
              title: 'Quarantine Principal',
              description: `Put the ${QUARANTINE_POLICY_NAME} permissions boundary (deny every action) on ${facts.kind} ${facts.name}: it keeps existing but can do nothing until the boundary is removed.${previous}`,
              ...this.applicableAws(),
              artifacts,
              riskReduction: this.facts.weight(cloud, view.effective),
              reviewNotes: [],
            },
          };
        }),
      );
    }
    candidates.push(
      this.attempt('delete', () => {
        const plan =
          facts.kind === 'user' ? deleteUserPlan(facts.name) : deleteRolePlan(facts.name);
        const artifacts: Artifact[] = [
          {
            name: `delete-${facts.kind}.sh`,
            format: 'shell',
            content: renderAwsCli(plan, {
              title: `Delete ${facts.kind} ${facts.name}`,
              accountId: facts.accountId,
            }),
          },
        ];
        const proof = buildProof({
          option: 'delete',
          expectation: 'revoke',
          evaluator: this.evaluator,
          subjects: [
            { id: facts.principalId, before: view.set, after: { identity: [] }, used: facts.used },
          ],
          artifacts,
        });
        return {
          proof,
          option: {
            type: 'delete',
            title: 'Delete Principal',
            description:
              facts.kind === 'user'
                ? `Delete user ${facts.name}: login profile, access keys, signing certificates, SSH keys, service-specific credentials and MFA devices first, then group memberships, policies and boundary. Irreversible: quarantine first if unsure.`
                : `Delete role ${facts.name}: remove it from its instance profiles, detach and delete its policies, then delete it. Irreversible: quarantine first if unsure.`,
            applicable: false,
            notApplicableReason:
              'deletion cannot be rolled back, so it is never applied through the API: run the script',
            artifacts,
            plan,
            riskReduction: this.facts.weight(cloud, view.effective),
            reviewNotes: [],
          },
        };
      }),
    );
    const rank = this.facts.maxRank(cloud, view.effective);
    const base: Severity =
      rank >= 5 ? 'critical' : rank >= 4 ? 'high' : rank >= 3 ? 'medium' : 'low';
    return this.finish(
      facts,
      'dormant-principal',
      null,
      raise(base, facts.accountRisk),
      candidates,
      {
        status: facts.status,
        statusSource: facts.statusSource,
        lastUsedDay: facts.lastUsedDay,
        lastUsedAt: facts.lastUsedAt,
        createdAt: facts.createdAt,
        coveredDays: facts.coveredDays,
        effectiveActions: view.effective.size,
        privilegedActions: [...view.effective].filter((a) => this.facts.privileged(cloud, a))
          .length,
        unreadablePolicies: view.unreadable,
      },
    );
  }

  private awsUnusedPrivileged(view: PrincipalView): RecommendationDraft[] {
    const { facts } = view;
    const cloud = 'aws' as const;
    if (view.unreadable.length > 0) return [];
    const deny = new Set<string>();
    const unobservableKept: string[] = [];
    for (const a of view.effective) {
      if (!this.facts.privileged(cloud, a) || facts.used.has(a)) continue;
      if (view.unobservable.has(a)) {
        unobservableKept.push(a);
        continue;
      }
      if (view.norepoActions.has(a)) continue;
      deny.add(a);
    }
    if (deny.size === 0) return [];
    const entity = this.entity(facts);
    const partition = partitionOf(facts.principalId);
    const candidate = this.attempt('custom-quarantine', () => {
      const forbid = denyForbidSet(deny, view.effective, (a) => this.facts.rank(cloud, a));
      const existing = facts.boundary
        ? { policyId: facts.boundary.policy.policyId, document: facts.boundary.policy.document }
        : undefined;
      let boundary: ReturnType<typeof customQuarantineBoundary>;
      try {
        boundary = customQuarantineBoundary({
          expander: this.options.expander,
          deny,
          forbid,
          existingBoundary: existing,
          principalName: facts.name,
        });
      } catch (err) {
        if (!(err instanceof PolicyError)) throw err;
        // One boundary policy cannot hold the deny list: deny through identity policies instead,
        // which refuse just as surely (an explicit deny wins wherever it is).
        const built = this.denyRuleOption(facts, [view], deny, {
          policyName: 'UnusedPrivileged',
          key: 'unused-privileged-permissions',
          unobservableKept,
          norepoKept: view.norepoKept,
        });
        built.option.description = `Attach a deny rule to ${facts.kind} ${facts.name} for its ${deny.size} unused privileged actions (${built.patterns} patterns, too many for one boundary policy), keeping everything else it may do today.`;
        built.option.reviewNotes.push(
          `${errorMessage(err)}: the deny is attached as identity policies instead`,
        );
        return built;
      }
      const description = `Access Discovery custom quarantine of ${facts.kind} ${facts.name}: keeps today's permissions${existing ? ` (within ${existing.policyId})` : ''}, denies ${deny.size} unused privileged actions.`;
      const artifacts: Artifact[] = [
        {
          name: `${boundary.policyName}.json`,
          format: 'json',
          content: documentText(boundary.document),
          policy: {
            kind: 'boundary',
            name: boundary.policyName,
            chars: boundary.chars,
            limit: POLICY_LIMITS.managed,
          },
        },
        {
          name: `custom-quarantine-${facts.kind}.sh`,
          format: 'shell',
          content: renderAwsCli(
            boundarySteps(entity, partition, facts.accountId, {
              name: boundary.policyName,
              document: boundary.document,
              description: description.slice(0, 1000),
            }),
            {
              title: `Custom quarantine of ${facts.kind} ${facts.name}`,
              accountId: facts.accountId,
            },
          ),
        },
      ];
      const after: PolicySet = {
        ...view.set,
        boundary: {
          cloud,
          id: boundary.policyName,
          parsed: parsePolicyDocument(boundary.document),
        },
      };
      const failures = this.exactRemoval([{ before: view.set, after }], deny);
      const proof = buildProof({
        option: 'custom-quarantine',
        expectation: 'preserve-usage',
        evaluator: this.evaluator,
        subjects: [{ id: facts.principalId, before: view.set, after, used: facts.used }],
        artifacts,
        unobservableKept,
        norepoKept: view.norepoKept,
        failures,
      });
      return {
        proof,
        option: {
          type: 'custom-quarantine',
          title: 'Custom Quarantine',
          description: `Put a permissions boundary on ${facts.kind} ${facts.name} that keeps everything it may do today${existing ? ` (including the limits of its current boundary ${existing.policyId})` : ''} and denies its ${deny.size} unused privileged actions (${boundary.denyPatterns.length} patterns).`,
          ...this.applicableAws(),
          artifacts,
          riskReduction: this.facts.weight(cloud, deny),
          reviewNotes: this.reviewNotes(unobservableKept, view.norepoKept),
        },
      };
    });
    const rank = this.facts.maxRank(cloud, deny);
    const base: Severity = rank >= 5 ? 'high' : 'medium';
    return this.finish(
      facts,
      'unused-privileged-permissions',
      null,
      raise(base, facts.accountRisk),
      [candidate],
      {
        unusedPrivileged: capped(deny),
        unusedPrivilegedCount: deny.size,
        unobservablePrivilegedKept: capped(unobservableKept),
        norepoKept: view.norepoKept,
        usedPrivileged: capped(
          [...facts.used].filter((a) => view.effective.has(a) && this.facts.privileged(cloud, a)),
        ),
        effectiveActions: view.effective.size,
      },
    );
  }

  /**
   * A deny rule attached to the principal (inline when it fits, else managed policies): the
   * custom quarantine of one policy, and of unused privileged actions too many for a boundary.
   */
  private denyRuleOption(
    owner: PrincipalFacts,
    subjects: PrincipalView[],
    deny: ReadonlySet<string>,
    context: {
      policyName: string;
      key: string;
      unobservableKept: string[];
      norepoKept: NorepoKept[];
    },
  ): { option: RecommendationOption; proof: Proof; patterns: number } {
    const cloud = 'aws' as const;
    const entity = this.entity(owner);
    const partition = partitionOf(owner.principalId);
    const effectiveUnion = new Set<string>();
    for (const s of subjects) for (const a of s.effective) effectiveUnion.add(a);
    const forbid = denyForbidSet(deny, effectiveUnion, (a) => this.facts.rank(cloud, a));
    const rule = denyRule({
      expander: this.options.expander,
      policyName: context.policyName,
      key: context.key,
      deny,
      forbid,
      inlineBudget: this.inlineBudget(owner),
    });
    const quotaNotes = this.attachmentQuota(
      owner,
      rule.policies.filter((p) => p.kind === 'managed').length,
      0,
    );
    const added = rule.policies.map((p) => ({ ...p, parsed: parsePolicyDocument(p.document) }));
    const artifacts: Artifact[] = added.map((p) => ({
      name: `${p.name}.json`,
      format: 'json',
      content: documentText(p.document),
      policy: { kind: p.kind, name: p.name, chars: p.chars, limit: p.limit },
    }));
    artifacts.push({
      name: `deny-unused-${owner.kind}.sh`,
      format: 'shell',
      content: renderAwsCli(
        addPolicySteps(
          entity,
          partition,
          owner.accountId,
          added.map((p) => ({
            name: p.name,
            kind: p.kind,
            document: p.document,
            description: `Access Discovery: denies unused actions (${context.policyName})`,
          })),
        ),
        {
          title: `Deny unused actions (${context.policyName}) for ${owner.kind} ${owner.name}`,
          accountId: owner.accountId,
        },
      ),
    });
    const withDeny = (set: PolicySet): PolicySet => ({
      ...set,
      identity: [...set.identity, ...added.map((p) => ({ cloud, id: p.name, parsed: p.parsed }))],
    });
    const proofSubjects: ProofSubject[] = subjects.map((s) => ({
      id: s.facts.principalId,
      before: s.set,
      after: withDeny(s.set),
      used: s.facts.used,
    }));
    const proof = buildProof({
      option: 'custom-quarantine',
      expectation: 'preserve-usage',
      evaluator: this.evaluator,
      subjects: proofSubjects,
      artifacts,
      unobservableKept: context.unobservableKept,
      norepoKept: context.norepoKept,
      failures: this.exactRemoval(proofSubjects, deny),
    });
    return {
      proof,
      patterns: rule.patterns.length,
      option: {
        type: 'custom-quarantine',
        title: 'Custom Quarantine',
        description: '',
        ...this.applicableAws(),
        artifacts,
        riskReduction: this.facts.weight(cloud, deny),
        reviewNotes: [
          ...this.reviewNotes(context.unobservableKept, context.norepoKept),
          ...quotaNotes,
        ],
      },
    };
  }

  /**
   * IAM attaches at most 10 managed policies to a user, role or group by default, 20 after a
   * quota increase: past 20 an option cannot be carried out at all (thrown, so it is dropped);
   * past 10 it needs the increase (a review note).
   */
  private attachmentQuota(owner: PrincipalFacts, adding: number, removing: number): string[] {
    const total = owner.attachments.filter((a) => a.via === 'direct').length - removing + adding;
    if (total > MANAGED_POLICIES_MAX) {
      throw new Error(
        `it needs ${adding} managed policies, so ${owner.kind} ${owner.name} would have ${total} attached: more than IAM's maximum of ${MANAGED_POLICIES_MAX}`,
      );
    }
    return total > MANAGED_POLICIES_PER_ENTITY
      ? [
          `${owner.kind} ${owner.name} would have ${total} managed policies attached: more than IAM's default quota of ${MANAGED_POLICIES_PER_ENTITY} (raise it to up to ${MANAGED_POLICIES_MAX} first)`,
        ]
      : [];
  }

  /** Removed (before − after) must be exactly the actions meant to go, for every subject. */
  private exactRemoval(
    pairs: Array<{ before: PolicySet; after: PolicySet }>,
    meant: ReadonlySet<string>,
  ): string[] {
    const failures: string[] = [];
    for (const { before, after } of pairs) {
      const b = this.evaluator.effective(before);
      const a = this.evaluator.effective(after);
      for (const x of b) {
        if (!a.has(x) && !meant.has(x)) {
          failures.push(`the change would also remove ${x}, which must stay`);
          break;
        }
      }
      for (const x of meant) {
        if (b.has(x) && a.has(x)) {
          failures.push(`the change leaves ${x} allowed`);
          break;
        }
      }
    }
    return failures;
  }

  private reviewNotes(unobservable: Iterable<string>, norepo: NorepoKept[]): string[] {
    const notes: string[] = [];
    const u = [...new Set(unobservable)].sort();
    if (u.length > 0) {
      notes.push(
        `${u.length} actions the logs cannot show are kept: ${u.slice(0, 20).join(', ')}${u.length > 20 ? ', ...' : ''}. Review whether they are needed.`,
      );
    }
    for (const n of norepo) {
      notes.push(
        `statement ${n.sid} of ${n.policyId} (${n.actions} actions) is kept as written: its Sid starts with NOREPO.`,
      );
    }
    return notes;
  }

  private inlineBudget(
    owner: PrincipalFacts,
    replacing?: string,
  ): { kind: 'inline-user' | 'inline-role' | 'inline-group'; chars: number } {
    const kind = inlineLimitKind(owner.kind);
    let used = 0;
    for (const a of owner.attachments) {
      if (a.via === 'inline' && a.policy.policyId !== replacing)
        used += policyChars(a.policy.document);
    }
    return { kind, chars: POLICY_LIMITS[kind] - used };
  }

  /**
   * One policy attached to a user, role or group. For a group, `subjects` are its members: an
   * action counts as used when any member used it, and every member's usage is replayed.
   */
  private awsOverprivilegedPolicy(
    owner: PrincipalFacts,
    attachment: Attachment,
    subjects: PrincipalView[],
  ): RecommendationDraft[] {
    const cloud = 'aws' as const;
    const policy = attachment.policy;
    const doc = policy.doc;
    if (doc?.cloud !== 'aws') return [];
    if (subjects.some((s) => s.unreadable.length > 0)) return [];
    const allows = this.evaluator.allows(doc);
    const norepo = new Set<string>();
    const norepoKept: NorepoKept[] = [];
    for (const st of doc.parsed.statements) {
      if (st.effect === 'Allow' && isNorepo(st)) {
        const actions = this.options.expander.expandStatement(st);
        for (const a of actions) norepo.add(a);
        norepoKept.push({ policyId: policy.policyId, sid: st.sid ?? '', actions: actions.size });
      }
    }
    const granted = new Set<string>();
    const used = new Set<string>();
    const unobservable = new Set<string>();
    for (const s of subjects) {
      for (const a of allows) if (s.effective.has(a)) granted.add(a);
      for (const a of s.facts.used) if (allows.has(a)) used.add(a);
      for (const a of s.unobservable) if (allows.has(a)) unobservable.add(a);
    }
    for (const a of used) unobservable.delete(a);
    const unused = new Set<string>();
    for (const a of granted)
      if (!used.has(a) && !unobservable.has(a) && !norepo.has(a)) unused.add(a);
    if (unused.size === 0) return [];

    const entity = this.entity(owner);
    const partition = partitionOf(owner.principalId);
    const isInline = attachment.via === 'inline';
    const unobservableKept = [...unobservable].filter((a) => granted.has(a));
    const replaceIn = (set: PolicySet, replacement: PolicyDoc[]): PolicySet => ({
      ...set,
      identity: [...set.identity.filter((d) => d !== doc), ...replacement],
    });
    const candidates: Array<
      { option: RecommendationOption; proof: Proof } | { dropped: OptionType; reason: string }
    > = [];

    candidates.push(
      this.attempt('custom-quarantine', () => {
        const built = this.denyRuleOption(owner, subjects, unused, {
          policyName: policy.name,
          key: policy.policyId,
          unobservableKept,
          norepoKept,
        });
        built.option.description = `Attach a deny rule to ${owner.kind} ${owner.name} for the ${unused.size} actions of ${policy.name} it never used (${built.patterns} patterns), leaving ${policy.name} itself unchanged for anything else that uses it.`;
        return built;
      }),
    );

    candidates.push(
      this.attempt('right-size', () => {
        const keep = new Set<string>();
        for (const a of allows) if (used.has(a) || unobservable.has(a)) keep.add(a);
        const result = rightSizePolicy({
          expander: this.options.expander,
          policyId: policy.policyId,
          policyName: policy.name,
          document: policy.document,
          parsed: doc.parsed,
          keep,
          inlineBudget: isInline ? this.inlineBudget(owner, policy.policyId) : undefined,
        });
        const parsedNew = result.policies.map((p) => ({
          ...p,
          parsed: parsePolicyDocument(p.document),
        }));
        const artifacts: Artifact[] = parsedNew.map((p) => ({
          name: `${p.name}.json`,
          format: 'json',
          content: documentText(p.document),
          policy: { kind: p.kind, name: p.name, chars: p.chars, limit: p.limit },
        }));
        const steps: PlanStep[] = [
          ...addPolicySteps(
            entity,
            partition,
            owner.accountId,
            parsedNew.map((p) => ({
              name: p.name,
              kind: p.kind,
              document: p.document,
              description: `Access Discovery: right-sized ${policy.name}`,
            })),
          ),
          removePolicyStep(entity, {
            policyId: policy.policyId,
            name: policy.name,
            inline: isInline,
          }),
        ];
        artifacts.push({
          name: `right-size-${owner.kind}.sh`,
          format: 'shell',
          content: renderAwsCli(steps, {
            title: `Right-size ${policy.name} of ${owner.kind} ${owner.name}`,
            accountId: owner.accountId,
          }),
        });
        const replacement: PolicyDoc[] = parsedNew.map((p) => ({
          cloud,
          id: p.name,
          parsed: p.parsed,
        }));
        const proofSubjects: ProofSubject[] = subjects.map((s) => ({
          id: s.facts.principalId,
          before: s.set,
          after: replaceIn(s.set, replacement),
          used: s.facts.used,
        }));
        const combined: ParsedPolicy = {
          statements: parsedNew
            .flatMap((p) => p.parsed.statements)
            .map((st, index) => ({ ...st, index })),
        };
        const failures = statementContainment(this.options.expander, doc.parsed, combined);
        const proof = buildProof({
          option: 'right-size',
          expectation: 'preserve-usage',
          evaluator: this.evaluator,
          subjects: proofSubjects,
          artifacts,
          unobservableKept,
          norepoKept: result.norepoKept,
          unknownPatternsKept: result.unknownPatternsKept,
          failures,
        });
        const notes = this.reviewNotes(unobservableKept, result.norepoKept);
        if (result.unknownPatternsKept.length > 0) {
          notes.push(
            `patterns the catalog does not know are kept as written: ${result.unknownPatternsKept.join(', ')}`,
          );
        }
        if (result.movedToManaged) {
          notes.push(
            `the right-sized policy does not fit in the ${owner.kind}'s remaining inline quota, so it becomes ${parsedNew.length} managed policies`,
          );
        }
        notes.push(
          ...this.attachmentQuota(
            owner,
            parsedNew.filter((p) => p.kind === 'managed').length,
            isInline ? 0 : 1,
          ),
        );
        const removedCount = granted.size - [...granted].filter((a) => keep.has(a)).length;
        return {
          proof,
          option: {
            type: 'right-size',
            title: 'Right-size',
            description:
              parsedNew.length === 0
                ? `Remove ${policy.name} from ${owner.kind} ${owner.name}: none of its actions was used in the window.`
                : `Replace ${policy.name} with ${parsedNew.length === 1 ? 'a least-privilege policy' : `${parsedNew.length} least-privilege policies`} that keep the ${keep.size} actions used or not observable in the window and drop the other ${removedCount}.`,
            applicable: false,
            notApplicableReason:
              'replacing a policy is left to its owner: review and run the script',
            artifacts,
            riskReduction: this.facts.weight(cloud, unused),
            reviewNotes: notes,
          },
        };
      }),
    );

    const rank = this.facts.maxRank(cloud, unused);
    const base: Severity = rank >= 5 ? 'high' : rank >= 3 ? 'medium' : 'low';
    return this.finish(
      owner,
      'overprivileged-policy',
      policy.policyId,
      raise(base, owner.accountRisk),
      candidates,
      {
        policyId: policy.policyId,
        policyName: policy.name,
        policyKind: policy.kind,
        via: attachment.via,
        members: owner.kind === 'group' ? subjects.map((s) => s.facts.principalId) : undefined,
        granted: granted.size,
        used: capped([...used].filter((a) => granted.has(a))),
        unused: capped(unused),
        unusedCount: unused.size,
        unobservableKept: capped(unobservableKept),
        norepoKept,
      },
    );
  }

  // ---------------------------------------------------------------------------------------------
  // GCP

  private directBindings(facts: PrincipalFacts): GcpBinding[] {
    return facts.attachments
      .filter((a) => a.via === 'binding')
      .map((a) => ({
        resource: a.viaRef,
        role: a.policy.policyId,
        member: facts.principalId,
        condition: a.condition,
      }));
  }

  private gcpDormant(view: PrincipalView): RecommendationDraft[] {
    const { facts } = view;
    if (facts.status !== 'dormant') return [];
    const cloud = 'gcp' as const;
    const bindings = this.directBindings(facts);
    const candidates: Array<
      { option: RecommendationOption; proof: Proof } | { dropped: OptionType; reason: string }
    > = [];
    const weight = this.facts.weight(cloud, view.effective);
    const inherited = facts.attachments.filter((a) => a.via === 'group').length;
    if (facts.kind === 'service-account') {
      const email = facts.name;
      const project = facts.accountId;
      if (facts.attributes.disabled !== true) {
        candidates.push(
          this.attempt('gcp-disable', () => {
            const plan = [disableServiceAccountStep(project, email)];
            const artifacts: Artifact[] = [
              {
                name: 'disable-service-account.sh',
                format: 'shell',
                content: renderGcloud(plan, `Disable ${email}`),
              },
            ];
            const proof = buildProof({
              option: 'gcp-disable',
              expectation: 'deny-all',
              evaluator: this.evaluator,
              subjects: [
                {
                  id: facts.principalId,
                  before: view.set,
                  after: { identity: [] },
                  used: facts.used,
                },
              ],
              artifacts,
            });
            return {
              proof,
              option: {
                type: 'gcp-disable',
                title: 'Disable Service Account',
                description: `Disable ${email}: its keys and tokens stop working at once; enabling it restores everything (rollback).`,
                applicable: true,
                artifacts,
                plan,
                riskReduction: weight,
                reviewNotes: [],
              },
            };
          }),
        );
      }
      candidates.push(
        this.attempt('gcp-delete', () => {
          const plan = deleteServiceAccountPlan(project, email, bindings);
          const artifacts: Artifact[] = [
            {
              name: 'delete-service-account.sh',
              format: 'shell',
              content: renderGcloud(plan, `Delete ${email}`),
            },
          ];
          const proof = buildProof({
            option: 'gcp-delete',
            expectation: 'revoke',
            evaluator: this.evaluator,
            subjects: [
              {
                id: facts.principalId,
                before: view.set,
                after: { identity: [] },
                used: facts.used,
              },
            ],
            artifacts,
          });
          return {
            proof,
            option: {
              type: 'gcp-delete',
              title: 'Delete Service Account',
              description: `Remove the ${bindings.length} role bindings of ${email}, then delete it (Google keeps it undeletable for 30 days).`,
              applicable: false,
              notApplicableReason: 'deletion is not applied through the API: run the commands',
              artifacts,
              plan,
              riskReduction: weight,
              reviewNotes:
                inherited > 0
                  ? [
                      `${inherited} roles come through groups; deleting the account ends those grants too`,
                    ]
                  : [],
            },
          };
        }),
      );
    } else if (bindings.length > 0) {
      candidates.push(
        this.attempt('gcp-remove-binding', () => {
          const plan = bindings.map(removeBindingStep);
          const artifacts: Artifact[] = [
            {
              name: 'remove-bindings.sh',
              format: 'shell',
              content: renderGcloud(plan, `Remove the role bindings of ${facts.principalId}`),
            },
          ];
          const remaining = facts.attachments
            .filter((a) => a.via !== 'binding')
            .map((a) => a.policy.doc)
            .filter((d): d is PolicyDoc => !!d);
          const proof = buildProof({
            option: 'gcp-remove-binding',
            expectation: remaining.length > 0 ? 'revoke' : 'deny-all',
            evaluator: this.evaluator,
            subjects: [
              {
                id: facts.principalId,
                before: view.set,
                after: { identity: remaining },
                used: facts.used,
              },
            ],
            artifacts,
          });
          return {
            proof,
            option: {
              type: 'gcp-remove-binding',
              title: 'Remove Role Bindings',
              description: `Remove the ${bindings.length} role bindings that name ${facts.principalId} directly.`,
              applicable: false,
              notApplicableReason:
                'binding changes are not applied through the API: run the commands',
              artifacts,
              plan,
              riskReduction: this.facts.weight(
                cloud,
                [...view.effective].filter(
                  (a) => !remaining.some((d) => this.evaluator.allows(d).has(a)),
                ),
              ),
              reviewNotes:
                inherited > 0
                  ? [
                      `${inherited} roles come through groups and stay: remove the member from those groups in your identity provider`,
                    ]
                  : [],
            },
          };
        }),
      );
    }
    const rank = this.facts.maxRank(cloud, view.effective);
    const base: Severity =
      rank >= 5 ? 'critical' : rank >= 4 ? 'high' : rank >= 3 ? 'medium' : 'low';
    return this.finish(
      facts,
      'dormant-principal',
      null,
      raise(base, facts.accountRisk),
      candidates,
      {
        status: facts.status,
        statusSource: facts.statusSource,
        lastUsedDay: facts.lastUsedDay,
        lastUsedAt: facts.lastUsedAt,
        coveredDays: facts.coveredDays,
        effectiveActions: view.effective.size,
        bindings: bindings.length,
        inheritedRoles: inherited,
        unreadablePolicies: view.unreadable,
      },
    );
  }

  private gcpOverprivilegedRoles(view: PrincipalView): RecommendationDraft[] {
    const { facts } = view;
    if (view.unreadable.length > 0) return [];
    const byRole = new Map<string, { attachment: Attachment; bindings: GcpBinding[] }>();
    for (const a of facts.attachments) {
      if (a.via !== 'binding') continue;
      const entry = byRole.get(a.policy.policyId) ?? { attachment: a, bindings: [] };
      entry.bindings.push({
        resource: a.viaRef,
        role: a.policy.policyId,
        member: facts.principalId,
        condition: a.condition,
      });
      byRole.set(a.policy.policyId, entry);
    }
    const out: RecommendationDraft[] = [];
    for (const [role, { attachment, bindings }] of byRole) {
      const doc = attachment.policy.doc;
      if (doc?.cloud !== 'gcp') continue;
      const others = view.set.identity.filter((d) => d !== doc);
      out.push(
        ...this.gcpShrinkRole(facts, role, doc, bindings, [view], (replacement) => [
          {
            id: facts.principalId,
            before: view.set,
            after: { identity: replacement ? [...others, replacement] : others },
            used: facts.used,
          },
        ]),
      );
    }
    return out;
  }

  /**
   * Roles bound to a GCP group: what its members (users and service accounts, nested groups
   * expanded by the ingestion) used through them. As for AWS groups, a permission counts as
   * used when any member used it; the smaller role or the removal is proven for every member.
   */
  private gcpGroupRoles(facts: PrincipalFacts): RecommendationDraft[] {
    const own = this.view(facts);
    if (own.unreadable.length > 0) return [];
    const byRole = new Map<string, { doc: PolicyDoc | undefined; bindings: GcpBinding[] }>();
    for (const a of facts.attachments) {
      if (a.via !== 'binding') continue;
      const entry = byRole.get(a.policy.policyId) ?? { doc: a.policy.doc, bindings: [] };
      entry.bindings.push({
        resource: a.viaRef,
        role: a.policy.policyId,
        member: facts.principalId,
        condition: a.condition,
      });
      byRole.set(a.policy.policyId, entry);
    }
    const out: RecommendationDraft[] = [];
    for (const [role, { doc, bindings }] of byRole) {
      if (doc?.cloud !== 'gcp') continue;
      const throughGroup = (a: Attachment) =>
        a.via === 'group' && a.viaRef === facts.principalId && a.policy.policyId === role;
      const members: PrincipalView[] = [];
      for (const member of this.inputs.principals) {
        if (member.cloud !== 'gcp' || member.kind === 'group') continue;
        if (member.attachments.some(throughGroup)) members.push(this.view(member));
      }
      if (members.length === 0 || members.some((m) => m.unreadable.length > 0)) continue;
      out.push(
        ...this.gcpShrinkRole(
          facts,
          role,
          doc,
          bindings,
          members,
          (replacement) =>
            members.map((m) => {
              const kept = m.facts.attachments
                .filter((a) => !throughGroup(a))
                .map((a) => a.policy.doc)
                .filter((d): d is PolicyDoc => !!d);
              return {
                id: m.facts.principalId,
                before: m.set,
                after: { identity: replacement ? [...kept, replacement] : kept },
                used: m.facts.used,
              };
            }),
          members.length,
        ),
      );
    }
    return out;
  }

  /**
   * One overprivileged GCP role on `bindings`: remove the bindings when nothing of it was used
   * by `users`, else a custom role with the permissions used or not observable. `subjects`
   * gives the proof subjects once the role is replaced (or removed, `undefined`).
   */
  private gcpShrinkRole(
    facts: PrincipalFacts,
    role: string,
    doc: PolicyDoc,
    bindings: GcpBinding[],
    users: PrincipalView[],
    subjects: (replacement: PolicyDoc | undefined) => ProofSubject[],
    members?: number,
  ): RecommendationDraft[] {
    const cloud = 'gcp' as const;
    const perms = this.evaluator.allows(doc);
    const keep = new Set<string>();
    const used = new Set<string>();
    const unused = new Set<string>();
    const unobservableKept: string[] = [];
    for (const p of perms) {
      if (users.some((u) => u.facts.used.has(p))) {
        keep.add(p);
        used.add(p);
      } else if (users.some((u) => u.unobservable.has(p))) {
        keep.add(p);
        unobservableKept.push(p);
      } else unused.add(p);
    }
    if (unused.size === 0) return [];
    const who =
      members === undefined ? facts.principalId : `the ${members} members of ${facts.principalId}`;
    const candidates: Array<
      { option: RecommendationOption; proof: Proof } | { dropped: OptionType; reason: string }
    > = [];
    if (keep.size === 0) {
      candidates.push(
        this.attempt('gcp-remove-binding', () => {
          const plan = bindings.map(removeBindingStep);
          const artifacts: Artifact[] = [
            {
              name: 'remove-bindings.sh',
              format: 'shell',
              content: renderGcloud(plan, `Remove ${role} from ${facts.principalId}`),
            },
          ];
          const proof = buildProof({
            option: 'gcp-remove-binding',
            expectation: 'preserve-usage',
            evaluator: this.evaluator,
            subjects: subjects(undefined),
            artifacts,
          });
          return {
            proof,
            option: {
              type: 'gcp-remove-binding',
              title: 'Remove Role Binding',
              description: `Remove ${role} from ${facts.principalId} (${bindings.length} bindings): none of its ${perms.size} permissions was used by ${who} in the window.`,
              applicable: false,
              notApplicableReason:
                'binding changes are not applied through the API: run the commands',
              artifacts,
              plan,
              riskReduction: this.facts.weight(cloud, unused),
              reviewNotes: [],
            },
          };
        }),
      );
    } else {
      candidates.push(
        this.attempt('gcp-custom-role', () => {
          const parent = this.customRoleParent(bindings[0]!.resource);
          if (!parent)
            throw new Error(
              `no place to create a custom role for a binding on ${bindings[0]!.resource}`,
            );
          if (bindings.some((b) => this.customRoleParent(b.resource) !== parent)) {
            throw new Error(
              `${role} is bound on resources under different parents; one custom role cannot replace every binding`,
            );
          }
          const permissions = [...keep].sort();
          const roleId = customRoleId(`ad_${role.split('/').at(-1)}`, contentHash(permissions));
          const roleDoc = { includedPermissions: permissions };
          const plan = customRolePlan({
            parent,
            roleId,
            title: `${role.split('/').at(-1)} (right-sized)`.slice(0, 100),
            description: `Access Discovery: the permissions of ${role} used by ${who}`.slice(
              0,
              256,
            ),
            permissions,
            replaces: bindings,
          });
          const artifacts: Artifact[] = [
            {
              name: `${roleId}.json`,
              format: 'json',
              content: documentText(roleDoc),
              policy: {
                kind: 'gcp-role',
                name: `${parent}/roles/${roleId}`,
                chars: permissions.length,
                limit: 3000,
              },
            },
            {
              name: 'custom-role.sh',
              format: 'shell',
              content: renderGcloud(
                plan,
                `Replace ${role} by a smaller custom role for ${facts.principalId}`,
              ),
            },
          ];
          const customDoc: PolicyDoc = { cloud, id: `${parent}/roles/${roleId}`, permissions };
          const proof = buildProof({
            option: 'gcp-custom-role',
            expectation: 'preserve-usage',
            evaluator: this.evaluator,
            subjects: subjects(customDoc),
            artifacts,
            unobservableKept,
          });
          const notes = this.reviewNotes(unobservableKept, []);
          notes.push(
            'some permissions cannot be used in custom roles (support level NOT_SUPPORTED); gcloud names them if so',
          );
          return {
            proof,
            option: {
              type: 'gcp-custom-role',
              title: 'Smaller Custom Role',
              description: `Replace ${role} (${perms.size} permissions) on ${bindings.length} bindings by a custom role with the ${permissions.length} permissions used or not observable in the window.`,
              applicable: false,
              notApplicableReason: 'role changes are not applied through the API: run the commands',
              artifacts,
              plan,
              riskReduction: this.facts.weight(cloud, unused),
              reviewNotes: notes,
            },
          };
        }),
      );
    }
    const rank = this.facts.maxRank(cloud, unused);
    const base: Severity = rank >= 5 ? 'high' : rank >= 3 ? 'medium' : 'low';
    return this.finish(
      facts,
      'overprivileged-policy',
      role,
      raise(base, facts.accountRisk),
      candidates,
      {
        policyId: role,
        bindings: bindings.map((b) => b.resource),
        ...(members === undefined ? {} : { members }),
        granted: perms.size,
        used: capped(used),
        unused: capped(unused),
        unusedCount: unused.size,
        unobservableKept: capped(unobservableKept),
      },
    );
  }

  /** Where a custom role replacing a binding on `resource` is created. */
  private customRoleParent(resource: string): string | undefined {
    if (resource.startsWith('projects/') || resource.startsWith('organizations/')) {
      return resource.split('/').slice(0, 2).join('/');
    }
    const integration = this.options.integration;
    if (resource.startsWith('folders/') && integration.kind === 'gcp-organization') {
      return `organizations/${integration.organizationId.replace(/^organizations\//, '')}`;
    }
    return undefined;
  }
}

/** Role names Access Discovery assumes for an AWS integration. */
export function productRoleNames(integration: IntegrationConfig): Set<string> {
  const names = new Set<string>();
  const roleName = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);
  if (integration.kind === 'aws-organization') {
    names.add(integration.memberRoleName).add(roleName(integration.managementRoleArn));
  } else if (integration.kind === 'aws-account') {
    names.add(roleName(integration.roleArn));
  }
  if (
    (integration.kind === 'aws-organization' || integration.kind === 'aws-account') &&
    integration.remediationRoleName
  ) {
    names.add(integration.remediationRoleName);
  }
  if (
    (integration.kind === 'aws-organization' || integration.kind === 'aws-account') &&
    integration.trail?.bucketRoleArn
  ) {
    names.add(roleName(integration.trail.bucketRoleArn));
  }
  return names;
}

export function buildRecommendations(
  inputs: RecommendationInputs,
  options: RulesOptions,
): Promise<RulesResult> {
  return new RecommendationRules(inputs, options).run();
}
