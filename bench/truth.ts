// `npm run bench -- truth [--scale small|medium]`: generate (or reuse) a fixture world, assess it
// end to end through the fixture cloud with the real SDK clients (ingestion, scoring,
// recommendations) and compare every principal and planted scenario with its truth.json.
// Prints the time of each phase, the throughput, and the differences (none when reproduced).
// The world is cached under $TRUTH_CACHE_DIR (default: the OS temp folder), keyed by the
// generator's source, so a second run measures the pipeline alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareWithTruth, formatMismatches } from '../test/e2e/truth-compare.ts';
import { assessWorld } from '../test/e2e/truth-world.ts';

export async function main(args: string[]): Promise<void> {
  const i = args.indexOf('--scale');
  const scale = (i >= 0 ? args[i + 1] : 'small') as 'small' | 'medium';
  if (scale !== 'small' && scale !== 'medium') {
    process.stderr.write('usage: npm run bench -- truth [--scale small|medium]\n');
    process.exitCode = 2;
    return;
  }
  const stage = mkdtempSync(join(tmpdir(), 'ad-bench-truth-'));
  const started = Date.now();
  const world = await assessWorld(scale, {
    stageDir: stage,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  try {
    const compareStarted = Date.now();
    const { mismatches, compared, scenarios } = await compareWithTruth(
      world.db,
      [world.assessments.aws, world.assessments.gcp],
      world.truth,
    );
    const compareMs = Date.now() - compareStarted;
    const totalMs = Date.now() - started;
    const m = world.manifest.counts;
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const lines = [
      `truth check, ${scale} world (seed 1, end 2026-11-21): ${m.awsPrincipals} AWS + ${m.gcpPrincipals} GCP principals, ${m.cloudTrailRecords.toLocaleString('en')} CloudTrail records (${m.cloudTrailObjects} objects), ${m.gcpAuditEntries.toLocaleString('en')} GCP audit entries`,
      `  generate      ${world.timings.generateMs > 0 ? s(world.timings.generateMs) : 'cached'}`,
      ...Object.entries(world.timings.assessMs).map(
        ([id, ms]) => `  assess ${id.padEnd(12)} ${s(ms)}`,
      ),
      `  compare       ${s(compareMs)}`,
      `  total         ${s(totalMs)}`,
      `  CloudTrail records per second of AWS assessment: ${Math.round(m.cloudTrailRecords / ((world.timings.assessMs['fixture-aws'] ?? 1) / 1000)).toLocaleString('en')}`,
      `  compared ${compared} principals and ${scenarios} scenarios: ${mismatches.length === 0 ? 'truth.json reproduced exactly' : `${mismatches.length} difference(s)`}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (mismatches.length > 0) process.stdout.write(`${formatMismatches(mismatches)}\n`);
  } finally {
    await world.close();
    rmSync(stage, { recursive: true, force: true });
  }
}
