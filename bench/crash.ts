/**
 * `npm run bench -- crash [--world DIR] [--scale medium] [--kills N] [--seed S] [--work DIR]`
 *
 * Crash and resume (issue 11): SIGKILL `access-discovery assess` at random moments of
 * ingestion and scoring of a fixture world, many times, restart it on the same database until
 * a run finishes, and compare everything it left (usage totals, ledger, scores, grants,
 * recommendations) with an uninterrupted reference run, row for row. Each finished round
 * starts again from an empty database so that kills keep landing in ingestion. Prints the
 * kills survived, where they landed, and any mismatch or failure.
 *
 * The world is generated once (about a minute for medium) and cached in
 * /work/bench-data/medium-crash/world (or --world).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readManifest } from '../fixtures/generate/index.ts';
import { BIN, formatCrashReport, runCrashCampaign } from './crash-harness.ts';

export async function main(args: string[]): Promise<void> {
  const option = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const scale = option('--scale') ?? 'medium';
  const world = option('--world') ?? `/work/bench-data/${scale}-crash/world`;
  const kills = Number(option('--kills') ?? 20);
  const seed = Number(option('--seed') ?? 1);
  const work = option('--work') ?? join(dirname(world), 'runs');
  if (!Number.isInteger(kills) || kills < 0) throw new Error('--kills must be a whole number');

  if (!existsSync(join(world, 'manifest.json'))) {
    process.stderr.write(`generating the ${scale} world in ${world} ...\n`);
    const generated = spawnSync(
      process.execPath,
      [BIN, 'fixtures', 'generate', '--scale', scale, '--seed', '1', '--out', world],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    if (generated.status !== 0) throw new Error(`fixtures generate failed (${generated.status})`);
  }

  const started = performance.now();
  const report = await runCrashCampaign({
    world,
    work,
    kills,
    seed,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const totalS = (performance.now() - started) / 1000;
  process.stdout.write(
    `crash and resume: ${readManifest(world).scale} world ${world}, seed ${seed}, ${kills} kills asked\n`,
  );
  for (const line of formatCrashReport(report)) process.stdout.write(`${line}\n`);
  const runs = report.completions.reduce((n, c) => n + c.runs, 0) + report.failures.length;
  process.stdout.write(
    `campaign                     ${totalS.toFixed(0)} s, ${runs} runs; ${(totalS / Math.max(1, report.completions.length) / (report.referenceMs / 1000)).toFixed(2)}x the reference run per completed round\n`,
  );
  const bad = report.failures.length > 0 || report.completions.some((c) => c.mismatches.length > 0);
  if (bad) process.exitCode = 1;
}
