/**
 * Shapes shared by the recommendation rules, the artifact builders, the proof and the
 * remediation service. `PreviewResult`, `RemediationRecord` and `PlannedCall` mirror the API's
 * `api/services.ts` field for field, so the routes can hand them out unchanged.
 */

export type RecommendationKind =
  | 'dormant-principal'
  | 'unused-privileged-permissions'
  | 'overprivileged-policy';

export const RECOMMENDATION_TITLES: Readonly<Record<RecommendationKind, string>> = {
  'dormant-principal': 'Dormant Principal Detected',
  'unused-privileged-permissions': 'Unused Privileged Permissions Detected',
  'overprivileged-policy': 'Overprivileged Policy Detected',
};

export type OptionType =
  | 'quarantine'
  | 'delete'
  | 'custom-quarantine'
  | 'right-size'
  | 'gcp-disable'
  | 'gcp-delete'
  | 'gcp-remove-binding'
  | 'gcp-custom-role';

export type Severity = 'critical' | 'high' | 'medium' | 'low';
export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low'];

export type RecommendationState = 'open' | 'applied' | 'resolved' | 'ignored' | 'suppressed';

export interface Artifact {
  /** File name: `AccessDiscoveryQuarantine.json`, `delete-user.sh`; scripts refer to JSON artifacts by it. */
  name: string;
  format: 'json' | 'shell' | 'text';
  content: string;
  /** For policy documents: what kind of policy it becomes and its size against the AWS quota. */
  policy?: {
    kind: 'managed' | 'inline-user' | 'inline-role' | 'inline-group' | 'boundary' | 'gcp-role';
    /** Name to create it under. */
    name: string;
    /** Characters, whitespace excluded (how IAM counts). */
    chars: number;
    limit: number;
  };
}

/** One cloud call a remediation makes (or would make, in a preview). */
export interface PlannedCall {
  service: string;
  operation: string;
  accountId: string;
  parameters: Record<string, unknown>;
  /** When the call is made only under a condition (e.g. "when the policy does not exist yet"). */
  condition?: string;
}

/**
 * One step of an executable plan (delete scripts, GCP commands): a fixed call, or a listing
 * whose every item feeds a call. The same steps render as CLI text and run through the SDKs,
 * so what the user copies is what the tests execute.
 */
export type PlanStep =
  | {
      kind: 'call';
      service: string;
      operation: string;
      parameters: Record<string, unknown>;
      /** Error names that mean "already done" (NoSuchEntity for an absent login profile). */
      tolerate?: string[];
      /**
       * Parameters whose value is also an artifact file (a policy document): the CLI text reads
       * the file beside the script (`file://`) instead of repeating the document inline.
       */
      files?: Record<string, string>;
      /** Why the step is there, shown in the script. */
      comment: string;
    }
  | {
      kind: 'for-each';
      service: string;
      list: {
        operation: string;
        parameters: Record<string, unknown>;
        /** Result field holding the list (`AccessKeyMetadata`). */
        itemsKey: string;
      };
      /** One call per listed item; `from` maps call parameters to item fields. */
      calls: Array<{
        operation: string;
        parameters: Record<string, unknown>;
        from: Record<string, string>;
        /** Only for items whose field matches the pattern (virtual MFA devices: `^arn:`). */
        when?: { field: string; pattern: string };
      }>;
      comment: string;
    };

export interface OptionProofSummary {
  result: 'pass' | 'fail';
}

export interface RecommendationOption {
  type: OptionType;
  title: string;
  description: string;
  /** True when the remediation service can apply it (and roll it back) through the cloud API. */
  applicable: boolean;
  /** Why it cannot be applied through the API; absent when applicable. */
  notApplicableReason?: string;
  artifacts: Artifact[];
  /** Executable steps (delete scripts, GCP commands); absent for policy-only options. */
  plan?: PlanStep[];
  /** Sum of the catalog sensitivity of the actions the option takes away (0–10 each). */
  riskReduction: number;
  /** Things a reviewer must look at: unobservable actions kept, NOREPO statements kept. */
  reviewNotes: string[];
}

/** A flagged statement kept verbatim because its Sid starts with NOREPO. */
export interface NorepoKept {
  policyId: string;
  sid: string;
  actions: number;
}

/**
 * The replay proof of one option: every action the principal used in the window is evaluated
 * against the policy set after the change, with our own evaluator.
 */
export interface Proof {
  option: OptionType;
  /**
   * preserve-usage: every used action stays allowed; deny-all: nothing stays allowed; revoke:
   * access is taken away on purpose (delete, a dormant member's bindings): the used actions it
   * refuses are listed in `denied`, and only widening or an invalid artifact fails it.
   */
  expectation: 'preserve-usage' | 'deny-all' | 'revoke';
  /** Actions used in the window (successful calls), each evaluated after the change. */
  checkedActions: string[];
  /** How many of them stay allowed. */
  allowed: number;
  /** Used actions the change would refuse (must be empty for preserve-usage). */
  denied: string[];
  /** Used actions that were not allowed before either (resource policies, denied calls); not counted. */
  notGrantedBefore: string[];
  /** Effective actions before and after the change. */
  grantedBefore: number;
  grantedAfter: number;
  /** The change allows nothing that was not allowed before. */
  neverWider: boolean;
  /** Actions allowed after but not before (must be empty). */
  widened: string[];
  unobservableKept: string[];
  norepoKept: NorepoKept[];
  /** Action patterns that match no catalog action, kept as written. */
  unknownPatternsKept: string[];
  /** Each policy artifact: parsed by our parser, size within the IAM quota. */
  artifacts: Array<{ name: string; valid: boolean; chars: number; limit: number }>;
  result: 'pass' | 'fail';
  /** Why the proof failed; empty on pass. */
  failures: string[];
}

/** What `recommendation.proof` holds: the evidence and one proof per option. */
export interface RecommendationProof {
  window: { start: string; end: string };
  /** The facts the recommendation stands on. */
  evidence: Record<string, unknown>;
  riskReduction: number;
  options: Proof[];
}

export interface PreviewResult {
  recommendationId: string;
  optionType: string;
  principalId: string;
  accountId: string;
  /** The calls apply would make, in order. */
  calls: PlannedCall[];
  /** The state that rollback would restore (current boundary, disabled flag, ...). */
  currentState: Record<string, unknown>;
  /** Reasons to hesitate (safety rails that matched, unobservable actions). */
  warnings: string[];
}

export type RemediationStatus = 'applied' | 'failed' | 'rolled-back' | 'rollback-failed';

/** A row of the `remediation` table, as the API returns it. */
export interface RemediationRecord {
  remediationId: string;
  recommendationId: string;
  integrationId: string;
  principalId: string;
  accountId: string;
  optionType: string;
  status: RemediationStatus;
  calls: unknown[];
  previousState: Record<string, unknown>;
  rollbackCalls: unknown[] | null;
  actor: string;
  appliedAt: string;
  rolledBackAt: string | null;
  rolledBackBy: string | null;
  error: string | null;
}

export interface RemediationService {
  /** Dry run: what apply would do, with no change made (and no cloud call). */
  preview(recommendationId: string, optionType: string): Promise<PreviewResult>;
  /** Apply the option; records a `remediation` row with the previous state. */
  apply(recommendationId: string, optionType: string, actor: string): Promise<RemediationRecord>;
  /** Restore the previous state recorded by apply. */
  rollback(remediationId: string, actor: string): Promise<RemediationRecord>;
}
