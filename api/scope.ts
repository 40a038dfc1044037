import type { Db } from '../model/db.ts';
import { ApiError, notFound } from './errors.ts';
import { loadSql } from './sql.ts';

export interface ScopeQuery {
  assessmentId?: string;
  integrationId?: string;
}

export interface ScopeEntry {
  assessmentId: string;
  integrationId: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
}

const CURRENT_TTL_MS = 2_000;
const currentCache = new WeakMap<object, { entries: ScopeEntry[]; validUntil: number }>();

/**
 * The latest finished assessment of each integration. Kept for 2 s per database; a finished
 * run resets it at once (RunCoordinator listener), the 2 s bound covers any other writer.
 */
export async function currentAssessments(db: Db): Promise<ScopeEntry[]> {
  const hit = currentCache.get(db.instance);
  const now = Date.now();
  if (hit && now < hit.validUntil) return hit.entries.map((e) => ({ ...e }));
  const entries = (await db.all(loadSql('current-assessments'))).map((r) => ({
    assessmentId: String(r.assessment_id),
    integrationId: String(r.integration_id),
    status: String(r.status),
    startedAt: String(r.started_at),
    finishedAt: r.finished_at === null ? null : String(r.finished_at),
  }));
  currentCache.set(db.instance, { entries, validUntil: now + CURRENT_TTL_MS });
  return entries.map((e) => ({ ...e }));
}

export function invalidateCurrentAssessments(db: Db): void {
  currentCache.delete(db.instance);
}

/**
 * Which assessments a read uses: the one named, the current one of the integration named, or
 * the current one of every integration. A running assessment is refused: its rows are not
 * complete.
 */
export async function resolveScope(
  db: Db,
  query: ScopeQuery,
  configuredIntegrations: ReadonlySet<string>,
): Promise<ScopeEntry[]> {
  if (query.assessmentId !== undefined) {
    const row = await db.one(
      `SELECT assessment_id AS "assessmentId", integration_id AS "integrationId", status,
         started_at AS "startedAt", finished_at AS "finishedAt"
       FROM assessment WHERE assessment_id = $id`,
      { id: query.assessmentId },
    );
    if (!row) throw notFound('assessment', query.assessmentId);
    const entry = row as unknown as ScopeEntry;
    if (query.integrationId !== undefined && entry.integrationId !== query.integrationId) {
      throw new ApiError(
        400,
        'invalid-request',
        `assessment ${query.assessmentId} belongs to integration ${entry.integrationId}, not ${query.integrationId}`,
      );
    }
    if (entry.status === 'running') {
      throw new ApiError(
        409,
        'assessment-running',
        `assessment ${query.assessmentId} is still running; its results are not complete yet`,
      );
    }
    return [entry];
  }
  const current = await currentAssessments(db);
  if (query.integrationId === undefined) return current;
  const mine = current.filter((c) => c.integrationId === query.integrationId);
  if (mine.length > 0) return mine;
  const known =
    configuredIntegrations.has(query.integrationId) ||
    (await db.scalar<number>(
      'SELECT count(*) FROM (SELECT integration_id FROM integration WHERE integration_id = $id UNION ALL SELECT integration_id FROM assessment WHERE integration_id = $id)',
      { id: query.integrationId },
    ))! > 0;
  if (!known) throw notFound('integration', query.integrationId);
  throw new ApiError(
    404,
    'no-assessment',
    `integration ${query.integrationId} has no finished assessment yet`,
    { integrationId: query.integrationId },
  );
}
