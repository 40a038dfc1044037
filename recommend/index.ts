import type { Config, IntegrationConfig } from '../config/schema.ts';
import type { AssessmentRun, AssessmentStage } from '../ingest/assessment.ts';
import type { Logger } from '../lib/log.ts';
import type { Db } from '../model/db.ts';
import { getAwsCatalog } from '../scoring/catalog/aws.ts';
import { loadRecommendationInputs } from './inputs.ts';
import { buildRecommendations, type IgnoreRuleRow, type RulesResult } from './rules.ts';
import { type StoreSummary, storeRecommendations } from './store.ts';

/**
 * The recommendation stage of an assessment, run after scoring: load the snapshot's principals,
 * apply the rules, store the recommendations (stable ids, states carried over) and re-rank.
 */

export interface RecommendOptions {
  config: Config;
  integration: IntegrationConfig;
  logger: Logger;
  /** Called for each principal whose recommendations failed; the others are still stored. */
  onError?: (error: { accountId: string; message: string }) => Promise<void> | void;
}

export interface RecommendSummary extends StoreSummary {
  principals: number;
  dropped: RulesResult['dropped'];
  errors: RulesResult['errors'];
  untouchable: number;
  durationMs: number;
}

export async function activeIgnores(db: Db, integrationId: string): Promise<IgnoreRuleRow[]> {
  const rows = await db.all<{ ignore_id: string; principal_id: string; reason: string }>(
    `SELECT ignore_id, principal_id, reason FROM ignore_rule
     WHERE removed_at IS NULL AND (expires_at IS NULL OR expires_at > now())
       AND (integration_id IS NULL OR integration_id = $i)
     ORDER BY created_at`,
    { i: integrationId },
  );
  return rows.map((r) => ({
    ignoreId: r.ignore_id,
    principalId: r.principal_id,
    reason: r.reason,
  }));
}

export async function runRecommendations(
  db: Db,
  assessmentId: string,
  options: RecommendOptions,
): Promise<RecommendSummary> {
  const started = Date.now();
  const expander = getAwsCatalog().expander;
  const inputs = await loadRecommendationInputs(db, assessmentId, expander);
  const ignores = await activeIgnores(db, inputs.context.integrationId);
  const result = await buildRecommendations(inputs, {
    config: options.config,
    integration: options.integration,
    expander,
    logger: options.logger,
    ignores,
  });
  for (const error of result.errors) await options.onError?.(error);
  const stored = await storeRecommendations(db, inputs.context, result.drafts);
  const summary: RecommendSummary = {
    ...stored,
    principals: inputs.principals.length,
    dropped: result.dropped,
    errors: result.errors,
    untouchable: result.untouchable,
    durationMs: Date.now() - started,
  };
  options.logger.progress(
    `[${inputs.context.integrationId}] recommendations: ${summary.stored} for ${summary.principals} principals (${Object.entries(
      summary.byState,
    )
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')}), ${summary.dropped.length} options not offered, ${summary.durationMs} ms`,
  );
  return summary;
}

/** The `recommend` stage of runAssessment. */
export function recommendationStage(): AssessmentStage {
  return {
    name: 'recommend',
    async run(run: AssessmentRun): Promise<void> {
      await runRecommendations(run.db, run.assessmentId, {
        config: run.config,
        integration: run.integration,
        logger: run.logger,
        onError: (e) =>
          run.recordError({ accountId: e.accountId, service: 'recommend', message: e.message }),
      });
    },
  };
}

export type { RecommendationDraft } from './rules.ts';
export type * from './types.ts';
