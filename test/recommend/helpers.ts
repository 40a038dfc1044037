import type { Config } from '../../config/schema.ts';
import { silentLogger } from '../../lib/log.ts';
import type { Db } from '../../model/db.ts';
import { type RecommendSummary, runRecommendations } from '../../recommend/index.ts';
import type {
  RecommendationOption,
  RecommendationProof,
  RecommendationState,
} from '../../recommend/types.ts';
import type { Snapshot } from './snapshot.ts';
import { testConfig } from './snapshot.ts';

export interface StoredRecommendation {
  recommendationId: string;
  assessmentId: string;
  principalId: string;
  policyId: string | null;
  kind: string;
  title: string;
  severity: string;
  rank: number;
  options: RecommendationOption[];
  proof: RecommendationProof;
  owner: string | null;
  ownerSource: string;
  state: RecommendationState;
  stateReason: string | null;
}

export async function storedRecommendations(db: Db): Promise<StoredRecommendation[]> {
  const rows = await db.all(
    `SELECT recommendation_id, assessment_id, principal_id, policy_id, kind, title, severity, rank,
            options, proof, owner, owner_source, state, state_reason
     FROM recommendation ORDER BY principal_id, rank, kind, policy_id`,
  );
  return rows.map((r) => ({
    recommendationId: String(r.recommendation_id),
    assessmentId: String(r.assessment_id),
    principalId: String(r.principal_id),
    policyId: r.policy_id === null ? null : String(r.policy_id),
    kind: String(r.kind),
    title: String(r.title),
    severity: String(r.severity),
    rank: Number(r.rank),
    options: JSON.parse(String(r.options)) as RecommendationOption[],
    proof: JSON.parse(String(r.proof)) as RecommendationProof,
    owner: r.owner === null ? null : String(r.owner),
    ownerSource: String(r.owner_source),
    state: String(r.state) as RecommendationState,
    stateReason: r.state_reason === null ? null : String(r.state_reason),
  }));
}

/** Write the snapshot, run the recommendation stage over it, and read back what it stored. */
export async function recommend(
  db: Db,
  snapshot: Snapshot,
  config: Config = testConfig(),
): Promise<{ summary: RecommendSummary; recs: StoredRecommendation[] }> {
  const { assessmentId } = await snapshot.write(db);
  const summary = await runRecommendations(db, assessmentId, {
    config,
    integration: config.integrations[0]!,
    logger: silentLogger,
  });
  return { summary, recs: await storedRecommendations(db) };
}

export function find(
  recs: StoredRecommendation[],
  principalId: string,
  kind: string,
  policyId?: string,
): StoredRecommendation {
  const found = recs.find(
    (r) =>
      r.principalId === principalId &&
      r.kind === kind &&
      (policyId === undefined || r.policyId === policyId),
  );
  if (!found) {
    throw new Error(
      `no ${kind} recommendation for ${principalId}; have: ${recs.map((r) => `${r.principalId} ${r.kind} ${r.policyId ?? ''}`).join('; ')}`,
    );
  }
  return found;
}

export function option(rec: StoredRecommendation, type: string): RecommendationOption {
  const found = rec.options.find((o) => o.type === type);
  if (!found) throw new Error(`${rec.kind} of ${rec.principalId} has no option ${type}`);
  return found;
}

export function proofOf(rec: StoredRecommendation, type: string) {
  const found = rec.proof.options.find((p) => p.option === type);
  if (!found) throw new Error(`${rec.kind} of ${rec.principalId} has no proof for ${type}`);
  return found;
}

export function policyJson(opt: RecommendationOption): unknown[] {
  return opt.artifacts.filter((a) => a.policy).map((a) => JSON.parse(a.content) as unknown);
}
