import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../lib/errors.ts';
import type { Db } from '../../model/db.ts';
import { dataEventSelection } from './score.ts';

/**
 * Per principal and action, the state the scoring engine counted (`used`, `unused`,
 * `unobservable`) and why an action is unobservable: the evidence behind
 * `principal_score.levels`, read back from the stored rows (effective_action, usage_daily,
 * log_coverage, the trails' data-event selectors). Used actions the principal is not granted
 * (resource policies; a group's members acting through other policies) come with
 * `granted: false`.
 */

export type ActionState = 'used' | 'unused' | 'unobservable';

export interface PrincipalActionState {
  principalId: string;
  action: string;
  granted: boolean;
  levelRank: number;
  state: ActionState;
  unobservableReason: string | null;
  resourceScope: 'all' | 'specific' | null;
  conditional: boolean | null;
  denyPartial: boolean | null;
  lastSeen: string | null;
}

export interface ActionStateFilter {
  /** Only these principals (default: all of the assessment). */
  principals?: string[];
  /** Only these actions (canonical case). */
  actions?: string[];
  /** Only these states. */
  states?: ActionState[];
}

const QUERY = readFileSync(join(import.meta.dirname, 'actions.sql'), 'utf8')
  .split('\n')
  .filter((line) => !line.trim().startsWith('--'))
  .join('\n');

async function unselectedDataEvents(db: Db, integrationId: string): Promise<string[]> {
  const { typeOf, selected } = await dataEventSelection(db, integrationId);
  if (selected.size === 0) return [];
  return [...typeOf].filter(([, type]) => !selected.has(type)).map(([a]) => a.toLowerCase());
}

export async function principalActionStates(
  db: Db,
  assessmentId: string,
  filter: ActionStateFilter = {},
): Promise<PrincipalActionState[]> {
  const integrationId = await db.scalar<string | null>(
    'SELECT integration_id FROM assessment WHERE assessment_id = $a',
    { a: assessmentId },
  );
  if (!integrationId) throw new UsageError(`no assessment ${assessmentId}`);
  const where: string[] = [];
  const params: Record<string, string | null> = {
    assessment_id: assessmentId,
    principals: filter.principals ? JSON.stringify(filter.principals) : null,
    unselected: JSON.stringify(await unselectedDataEvents(db, integrationId)),
  };
  if (filter.actions) {
    where.push(`list_contains(from_json($actions, '["VARCHAR"]'), action)`);
    params.actions = JSON.stringify(filter.actions);
  }
  if (filter.states) {
    where.push(`list_contains(from_json($states, '["VARCHAR"]'), state)`);
    params.states = JSON.stringify(filter.states);
  }
  const rows = await db.all<{
    principal_id: string;
    action: string;
    granted: boolean;
    level_rank: number;
    state: ActionState;
    unobservable_reason: string | null;
    resource_scope: 'all' | 'specific' | null;
    conditional: boolean | null;
    deny_partial: boolean | null;
    last_seen: string | null;
  }>(
    where.length === 0
      ? QUERY
      : `SELECT * FROM (${QUERY}) WHERE ${where.join(' AND ')} ORDER BY principal_id, action`,
    params,
  );
  return rows.map((r) => ({
    principalId: r.principal_id,
    action: r.action,
    granted: r.granted,
    levelRank: r.level_rank,
    state: r.state,
    unobservableReason: r.unobservable_reason,
    resourceScope: r.resource_scope,
    conditional: r.conditional,
    denyPartial: r.deny_partial,
    lastSeen: r.last_seen,
  }));
}

/** Per principal and level, the granted actions by state: must equal principal_score.levels. */
export async function principalActionCounts(
  db: Db,
  assessmentId: string,
): Promise<
  Array<{
    principalId: string;
    levelRank: number;
    used: number;
    unused: number;
    unobservable: number;
  }>
> {
  const integrationId = await db.scalar<string | null>(
    'SELECT integration_id FROM assessment WHERE assessment_id = $a',
    { a: assessmentId },
  );
  if (!integrationId) throw new UsageError(`no assessment ${assessmentId}`);
  const rows = await db.all<{
    principal_id: string;
    level_rank: number;
    used: number;
    unused: number;
    unobservable: number;
  }>(
    `SELECT principal_id, level_rank,
            count(*) FILTER (WHERE state = 'used')::INTEGER AS used,
            count(*) FILTER (WHERE state = 'unused')::INTEGER AS unused,
            count(*) FILTER (WHERE state = 'unobservable')::INTEGER AS unobservable
     FROM (${QUERY}) WHERE granted GROUP BY ALL ORDER BY ALL`,
    {
      assessment_id: assessmentId,
      principals: null,
      unselected: JSON.stringify(await unselectedDataEvents(db, integrationId)),
    },
  );
  return rows.map((r) => ({
    principalId: r.principal_id,
    levelRank: r.level_rank,
    used: r.used,
    unused: r.unused,
    unobservable: r.unobservable,
  }));
}
