import type { Db } from '../model/db.ts';
import { insertRows } from '../model/insert.ts';
import type { AssessmentContext } from './inputs.ts';
import type { RecommendationDraft } from './rules.ts';
import { sql } from './sql.ts';

/**
 * Persisting recommendations. One row per stable id (integration, principal, kind, policy): each
 * assessment updates the row it finds again (an applied one stays applied, an ignored one stays
 * ignored while its rule is in force), resolves the rows it no longer finds, and re-ranks.
 */

export interface StoreSummary {
  stored: number;
  byState: Record<string, number>;
}

export async function storeRecommendations(
  db: Db,
  context: AssessmentContext,
  drafts: RecommendationDraft[],
): Promise<StoreSummary> {
  const now = new Date().toISOString();
  const rows = drafts.map((d) => ({
    recommendation_id: d.recommendationId,
    assessment_id: context.assessmentId,
    integration_id: d.integrationId,
    principal_id: d.principalId,
    policy_id: d.policyId,
    kind: d.kind,
    title: d.title,
    severity: d.severity,
    rank: 0,
    options: d.options,
    proof: d.proof,
    owner: d.owner,
    owner_source: d.ownerSource,
    state: d.hold?.state ?? 'open',
    state_reason: d.hold?.reason ?? null,
    created_at: now,
  }));
  await db.transaction(async (tx) => {
    await tx.exec('CREATE OR REPLACE TEMP TABLE rec_stage AS SELECT * FROM recommendation LIMIT 0');
    try {
      await insertRows(tx, 'rec_stage', rows);
      await tx.exec(sql('upsert_recommendations'));
      await tx.exec(sql('resolve_missing'), {
        assessment_id: context.assessmentId,
        integration_id: context.integrationId,
      });
    } finally {
      await tx.exec('DROP TABLE IF EXISTS rec_stage');
    }
    await rerankRecommendations(tx, context.integrationId);
  });
  const states = await db.all<{ state: string; n: number }>(
    `SELECT state, count(*)::INTEGER AS n FROM recommendation
     WHERE integration_id = $i AND assessment_id = $a GROUP BY state ORDER BY state`,
    { i: context.integrationId, a: context.assessmentId },
  );
  return {
    stored: rows.length,
    byState: Object.fromEntries(states.map((s) => [s.state, s.n])),
  };
}

/**
 * Re-rank open recommendations (of one principal, or of the whole integration): run after every
 * state change so that when one is applied, resolved or ignored the next moves up.
 */
export async function rerankRecommendations(
  db: Db,
  integrationId: string,
  principalId?: string,
): Promise<void> {
  await db.exec(sql('rerank'), {
    integration_id: integrationId,
    principal_id: principalId ?? null,
  });
}

/** Set a recommendation's state (applied, open again after a rollback) and re-rank its principal. */
export async function setRecommendationState(
  db: Db,
  recommendationId: string,
  state: 'open' | 'applied' | 'resolved',
  reason: string | null,
): Promise<void> {
  await db.transaction(async (tx) => {
    const row = await tx.one<{ integration_id: string; principal_id: string }>(
      `UPDATE recommendation SET state = $state, state_reason = $reason
       WHERE recommendation_id = $id RETURNING integration_id, principal_id`,
      { id: recommendationId, state, reason },
    );
    if (row) await rerankRecommendations(tx, row.integration_id, row.principal_id);
  });
}
