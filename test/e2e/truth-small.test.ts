import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { principalActionCounts } from '../../scoring/engine/actions.ts';
import { tempDir } from '../helpers/db.ts';
import { compareWithTruth, formatMismatches, LEVELS } from './truth-compare.ts';
import { type AssessedWorld, assessWorld } from './truth-world.ts';

// Issue 6 point 6 and issue 10 point 5: the small fixture world (seed 1), generated once per
// generator version, served by the fixture cloud and assessed end to end (real SDK clients,
// ingestion, scoring, recommendations) reproduces truth.json exactly.
let world: AssessedWorld;
const stage = tempDir('ad-truth-stage-');

beforeAll(async () => {
  world = await assessWorld('small', { stageDir: stage.dir });
}, 600_000);

afterAll(async () => {
  await world?.close();
  stage.cleanup();
});

describe('the small fixture world against its truth.json', () => {
  it('assesses both organizations without errors', () => {
    for (const r of world.results) expect(r.errors, r.assessmentId).toEqual([]);
  });

  it('reproduces every status, used-action set, unlogged action and planted scenario', async () => {
    const { mismatches, compared, scenarios } = await compareWithTruth(
      world.db,
      [world.assessments.aws, world.assessments.gcp],
      world.truth,
    );
    expect(compared).toBeGreaterThan(150);
    expect(scenarios).toBeGreaterThan(25);
    expect(formatMismatches(mismatches)).toBe('truth.json reproduced exactly');
  });

  it('lists per action exactly what principal_score counted per level', async () => {
    for (const assessmentId of [world.assessments.aws, world.assessments.gcp]) {
      const counted = await principalActionCounts(world.db, assessmentId);
      const stored = await world.db.all<{ principal_id: string; levels: string }>(
        'SELECT principal_id, levels::VARCHAR AS levels FROM principal_score WHERE assessment_id = $a',
        { a: assessmentId },
      );
      expect(stored.length).toBeGreaterThan(0);
      const byPrincipal = new Map<
        string,
        Record<string, { used: number; unused: number; unobservable: number }>
      >();
      for (const c of counted) {
        const levels = byPrincipal.get(c.principalId) ?? {};
        levels[LEVELS[c.levelRank]!] = {
          used: c.used,
          unused: c.unused,
          unobservable: c.unobservable,
        };
        byPrincipal.set(c.principalId, levels);
      }
      for (const s of stored) {
        const levels = JSON.parse(s.levels) as Record<
          string,
          { used: number; unused: number; unobservable: number }
        >;
        const expected = Object.fromEntries(
          Object.entries(levels)
            .filter(([, v]) => v.used + v.unused + v.unobservable > 0)
            .map(([k, v]) => [k, { used: v.used, unused: v.unused, unobservable: v.unobservable }]),
        );
        expect(byPrincipal.get(s.principal_id) ?? {}, s.principal_id).toEqual(expected);
      }
    }
  });
});
