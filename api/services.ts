/**
 * What the API needs from the engines, kept narrow so the API can be built and tested before
 * they exist. The lead implements these over the ingestion, scoring and recommendation code;
 * a route whose service is absent answers 503 `{error: 'not-configured'}`.
 */

export type RunTrigger = 'api' | 'schedule' | 'catch-up';

export interface AssessmentRunner {
  /**
   * Run one assessment of the integration to its end (any final status: succeeded, partial or
   * failed) and resolve with its id. `onStarted` is called as soon as the `assessment` row
   * exists (status running), so the API can answer 202 with the id without waiting for the end.
   * Rejects only when the run could not start at all.
   */
  run(
    integrationId: string,
    trigger: RunTrigger,
    onStarted?: (assessmentId: string) => void,
  ): Promise<{ assessmentId: string }>;
  /** True while a run of this integration is in progress in this process. */
  isRunning(integrationId: string): boolean;
}

/** One cloud call a remediation makes (or would make, in a preview). */
export interface PlannedCall {
  service: string;
  operation: string;
  accountId: string;
  parameters: Record<string, unknown>;
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

/** A row of the `remediation` table, as the API returns it. */
export interface RemediationRecord {
  remediationId: string;
  recommendationId: string;
  integrationId: string;
  principalId: string;
  accountId: string;
  optionType: string;
  status: 'applied' | 'failed' | 'rolled-back' | 'rollback-failed';
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
  /** Dry run: what apply would do, with no change made. */
  preview(recommendationId: string, optionType: string): Promise<PreviewResult>;
  /** Apply the option; records a `remediation` row with the previous state. */
  apply(recommendationId: string, optionType: string, actor: string): Promise<RemediationRecord>;
  /** Restore the previous state recorded by apply. */
  rollback(remediationId: string, actor: string): Promise<RemediationRecord>;
}

export interface ApiServices {
  runner?: AssessmentRunner;
  remediation?: RemediationService;
}
