import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCrashCampaign } from '../../bench/crash-harness.ts';
import { generateWorld } from '../../fixtures/generate/index.ts';
import { tempDir } from '../helpers/db.ts';

/**
 * Crash and resume on the tiny world: the CLI's `assess` is SIGKILLed at fixed fractions of
 * an uninterrupted run (early: opening and inventory; later: usage, scoring or
 * recommendations), restarted on the same file, and what the finishing run leaves must equal
 * the reference row for row. `npm run bench -- crash` does the same with many random kills on
 * the medium world.
 */
describe('crash and resume', () => {
  let world: { dir: string; cleanup: () => void };
  beforeAll(async () => {
    world = tempDir('ad-crash-');
    await generateWorld({ out: join(world.dir, 'world'), scale: 'tiny', seed: 7, force: true });
  }, 60_000);
  afterAll(() => world?.cleanup());

  it('survives SIGKILL during an assessment and finishes with the uninterrupted results', async () => {
    const report = await runCrashCampaign({
      world: join(world.dir, 'world'),
      work: join(world.dir, 'runs'),
      kills: 3,
      seed: 1,
      killFractions: [0.08, 0.3, 0.6],
      runTimeoutMs: 120_000,
    });
    expect(report.failures).toEqual([]);
    expect(report.kills).toHaveLength(3);
    // The comparison had something to compare.
    expect(report.usageTotals.calls).toBeGreaterThan(0);
    expect(report.checks.find((c) => c.check === 'principal_score')?.rows).toBeGreaterThan(0);
    expect(report.completions.length).toBeGreaterThan(0);
    for (const c of report.completions) expect(c.mismatches).toEqual([]);
  }, 240_000);
});
