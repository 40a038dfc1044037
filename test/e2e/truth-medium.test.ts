import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/db.ts';
import { compareWithTruth, formatMismatches } from './truth-compare.ts';
import { type AssessedWorld, assessWorld } from './truth-world.ts';

// The medium fixture world (951 AWS and 142 GCP principals, 1.5 M CloudTrail records) against
// its truth.json. Generating and assessing it takes several minutes on a 2-core machine, so it
// runs only with TRUTH_MEDIUM=1; `npm run bench -- truth --scale medium` runs the same check
// and prints its timings.
const enabled = process.env.TRUTH_MEDIUM === '1';
let world: AssessedWorld | undefined;
const stage = tempDir('ad-truth-medium-');

beforeAll(async () => {
  if (enabled) world = await assessWorld('medium', { stageDir: stage.dir });
}, 3_600_000);

afterAll(async () => {
  await world?.close();
  stage.cleanup();
});

describe.skipIf(!enabled)(
  'the medium fixture world against its truth.json (TRUTH_MEDIUM=1)',
  () => {
    it('assesses both organizations without errors', () => {
      for (const r of world!.results) expect(r.errors, r.assessmentId).toEqual([]);
    });

    it('reproduces every status, used-action set, unlogged action and planted scenario', async () => {
      const { mismatches, compared } = await compareWithTruth(
        world!.db,
        [world!.assessments.aws, world!.assessments.gcp],
        world!.truth,
      );
      expect(compared).toBeGreaterThan(1000);
      expect(formatMismatches(mismatches)).toBe('truth.json reproduced exactly');
    }, 600_000);
  },
);
