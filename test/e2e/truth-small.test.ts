import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { principalActionCounts } from '../../scoring/engine/actions.ts';
import { tempDir } from '../helpers/db.ts';
import { compareWithTruth, formatMismatches, LEVELS } from './truth-compare.ts';
import { type AssessedWorld, assessWorld } from './truth-world.ts';
import { readWorkedExample } from './worked-example.ts';

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

  it('reports every difference from an altered truth, readably', async () => {
    const truth = structuredClone(world.truth);
    const role = 'arn:aws:iam::100000000002:role/ci/lambda-deployer';
    const p = truth.principals[role]!;
    p.status = 'dormant';
    p.usedActions = [...p.usedActions, 'ec2:TerminateInstances'].sort();
    const scenario = truth.scenarios.find((x) => x.id === 'passrole-unobservable')!;
    scenario.expect = { ...scenario.expect, somethingNew: true };
    const { mismatches } = await compareWithTruth(
      world.db,
      [world.assessments.aws, world.assessments.gcp],
      truth,
    );
    expect(mismatches.map((m) => `${m.principal} ${m.scenario ?? ''} ${m.what}`)).toEqual([
      `${role}  status`,
      `${role}  used actions`,
      `${role} passrole-unobservable expect.somethingNew`,
    ]);
    const text = formatMismatches(mismatches);
    expect(text).toContain('3 difference(s) from truth.json:');
    expect(text).toContain('status: expected dormant, got active (successful logged call on');
    expect(text).toContain('used actions: expected also ["ec2:TerminateInstances"], got also []');
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

  it('recommends nothing for principals whose logs miss part of their activity', async () => {
    const rows = await world.db.all<{ principal_id: string; open: number }>(
      `SELECT s.principal_id,
              (SELECT count(*) FROM recommendation r WHERE r.assessment_id = s.assessment_id
                 AND r.principal_id = s.principal_id AND r.state = 'open')::INTEGER AS open
       FROM principal_score s WHERE s.assessment_id = $a AND s.evidence_gap IS NOT NULL`,
      { a: world.assessments.aws },
    );
    // the late joiner's principals and the role that works only in the unlogged region
    expect(rows.map((r) => r.principal_id)).toContain(
      'arn:aws:iam::100000000002:role/reporting-batch-apse2',
    );
    expect(rows.filter((r) => r.open > 0)).toEqual([]);
  });

  it('matches the worked example of docs/scoring.md, number for number', async () => {
    const doc = readWorkedExample();
    const row = await world.db.one<{
      status: string;
      granted_count: number;
      used_count: number;
      unused_count: number;
      unobservable_count: number;
      levels: string;
      overprivilege_pct: number;
      high_risk_overprivilege_pct: number;
      privileged_share: number;
      risk_score: number;
      risk_breakdown: string;
      tier: string;
    }>(
      `SELECT status, granted_count, used_count, unused_count, unobservable_count,
              levels::VARCHAR AS levels, overprivilege_pct, high_risk_overprivilege_pct,
              privileged_share, risk_score, risk_breakdown::VARCHAR AS risk_breakdown, tier
       FROM principal_score WHERE assessment_id = $a AND principal_id = $p`,
      { a: world.assessments.aws, p: doc.principalId },
    );
    expect(row, doc.principalId).toBeDefined();
    const levels = JSON.parse(row!.levels) as Record<string, unknown>;
    for (const [level, counts] of Object.entries(doc.levels))
      expect(levels[level], level).toEqual(counts);
    expect(doc.total).toEqual({
      granted: row!.granted_count,
      used: row!.used_count,
      unused: row!.unused_count,
      unobservable: row!.unobservable_count,
    });
    expect(doc.overprivilegePct).toBe(row!.overprivilege_pct);
    expect(doc.highRiskOverprivilegePct).toBe(row!.high_risk_overprivilege_pct);
    expect(doc.privilegedShare).toBe(Number(row!.privileged_share.toFixed(4)));
    const components = Object.fromEntries(
      (JSON.parse(row!.risk_breakdown) as Array<{ component: string; points: number }>).map((c) => [
        c.component,
        c.points,
      ]),
    );
    expect(doc.components).toEqual(components);
    expect(doc.sumLine).toEqual(Object.values(components));
    expect(doc.sumLine.reduce((a, b) => a + b, 0)).toBe(doc.riskScore);
    expect(doc.riskScore).toBe(row!.risk_score);
    expect(doc.tier).toBe(row!.tier);
    expect(doc.status).toBe(row!.status);
  });
});
