import type { Command } from 'commander';
import { generateWorld, SCALE_NAMES } from '../../fixtures/generate/index.ts';
import type { Scale, WorldKnobs } from '../../fixtures/generate/types.ts';
import { UsageError } from '../../lib/errors.ts';
import { type GlobalOptions, loggerFor } from '../context.ts';
import { registerFixturesServe } from './fixtures-serve.ts';

/**
 * `fixtures` command group: synthetic worlds for tests, the demo and benchmarks. Each
 * subcommand registers itself from its own function so the group stays easy to extend.
 */
export function registerFixtures(program: Command): Command {
  const fixtures = program
    .command('fixtures')
    .description('synthetic fixture worlds: generate them, serve them as a local cloud');
  registerFixturesGenerate(fixtures);
  registerFixturesServe(fixtures);
  return fixtures;
}

function integer(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value))
      throw new UsageError(`${flag} must be a whole number, got "${value}"`);
    return Number(value);
  };
}

/** CLI flag -> knob. */
const KNOB_FLAGS: ReadonlyArray<[string, keyof WorldKnobs, string]> = [
  [
    '--accounts <n>',
    'accounts',
    'member accounts (management, excluded and suspended accounts are extra)',
  ],
  [
    '--principals-per-account <n>',
    'principalsPerAccount',
    'IAM users, roles and groups per member account',
  ],
  ['--days <n>', 'days', 'days in the window'],
  ['--events-per-day <n>', 'eventsPerDay', 'CloudTrail records per day, organization-wide'],
  ['--regions <n>', 'regions', 'AWS regions the trail logs (1-4)'],
  ['--gcp-projects <n>', 'gcpProjects', 'GCP workload projects'],
  [
    '--gcp-service-accounts-per-project <n>',
    'gcpServiceAccountsPerProject',
    'service accounts per GCP project',
  ],
  ['--gcp-users <n>', 'gcpUsers', 'directory users in the GCP organization'],
  ['--gcp-entries-per-day <n>', 'gcpEntriesPerDay', 'GCP audit entries per day, organization-wide'],
  ['--records-per-object <n>', 'recordsPerObject', 'largest CloudTrail object, in records'],
  ['--gzip-level <n>', 'gzipLevel', 'gzip level of the .gz files (1-9)'],
];

interface GenerateFlags extends Partial<Record<keyof WorldKnobs, number>> {
  scale: string;
  seed: number;
  out: string;
  endDate?: string;
  workers?: number;
  force?: boolean;
}

function registerFixturesGenerate(fixtures: Command): void {
  const cmd = fixtures
    .command('generate')
    .description('write a deterministic synthetic AWS + GCP organization, its logs and truth.json')
    .requiredOption('--out <dir>', 'output directory (created; must be empty unless --force)')
    .option('--scale <scale>', `preset: ${SCALE_NAMES.join(', ')}`, 'small')
    .option('--seed <n>', 'random seed', integer('--seed'), 1)
    .option('--end-date <YYYY-MM-DD>', 'last day of the window (default: yesterday, UTC)');
  for (const [flag, , help] of KNOB_FLAGS) cmd.option(flag, help, integer(flag.split(' ')[0]!));
  cmd
    .option(
      '--workers <n>',
      'CloudTrail worker threads (same output for any count)',
      integer('--workers'),
    )
    .option('--force', 'replace the world already in --out')
    .action(async (flags: GenerateFlags, command: Command) => {
      const log = loggerFor(command.optsWithGlobals<GlobalOptions>());
      if (!SCALE_NAMES.includes(flags.scale as Scale)) {
        throw new UsageError(
          `unknown scale "${flags.scale}": use one of ${SCALE_NAMES.join(', ')}`,
        );
      }
      const knobs: Partial<WorldKnobs> = {};
      for (const [, key] of KNOB_FLAGS) if (flags[key] !== undefined) knobs[key] = flags[key];
      const summary = await generateWorld({
        out: flags.out,
        scale: flags.scale as Scale,
        seed: flags.seed,
        knobs,
        ...(flags.endDate ? { endDate: flags.endDate } : {}),
        ...(flags.workers ? { workers: flags.workers } : {}),
        force: flags.force ?? false,
        onProgress: (m) => log.progress(m),
      });
      const c = summary.counts;
      log.info(
        `world ${summary.out}: ${c.awsPrincipals} AWS principals, ${c.cloudTrailRecords} CloudTrail records in ${c.cloudTrailObjects} objects, ` +
          `${c.gcpPrincipals} GCP principals, ${c.gcpAuditEntries} audit entries; ${(summary.bytesOnDisk / 1e6).toFixed(1)} MB in ${(summary.elapsedMs / 1000).toFixed(1)} s`,
      );
      process.stdout.write(
        `${JSON.stringify({
          out: summary.out,
          scale: summary.manifest.scale,
          seed: summary.manifest.seed,
          startDate: summary.manifest.startDate,
          endDate: summary.manifest.endDate,
          counts: c,
          bytesOnDisk: summary.bytesOnDisk,
          elapsedMs: summary.elapsedMs,
          eventsPerSecond: summary.eventsPerSecond,
        })}\n`,
      );
    });
}
