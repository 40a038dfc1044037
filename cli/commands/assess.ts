import { mkdirSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import type { AssessmentResult } from '../../ingest/assessment.ts';
import { IngestError, UsageError } from '../../lib/errors.ts';
import { Db } from '../../model/db.ts';
import { runFullAssessment } from '../../recommend/pipeline.ts';
import { type ScoreSummary, STATUSES, summarizeScores, TIERS } from '../../scoring/engine/score.ts';
import { type GlobalOptions, loggerFor, requireConfig } from '../context.ts';

interface AssessOptions extends GlobalOptions {
  integration?: string;
  asOf?: string;
  import?: string;
  json?: boolean;
}

const DEFAULT_DB = './data/access-discovery.duckdb';

function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** An import integration id from a folder name: a lowercase slug, as the config requires. */
export function importIntegrationId(directory: string): string {
  const slug = basename(resolve(directory))
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `import-${slug || 'folder'}`.slice(0, 63).replace(/-+$/, '');
}

/** The principals-by-tier-and-status table and the top 10 risks. */
export function formatSummary(
  result: AssessmentResult,
  window: { start: string; end: string },
  summary: Pick<ScoreSummary, 'principals' | 'counts' | 'top'>,
): string[] {
  const lines: string[] = [];
  lines.push(
    `assessment ${result.assessmentId}: ${result.status}, window ${window.start}..${window.end}, ${summary.principals} principals`,
  );
  lines.push('');
  const header = ['tier', ...STATUSES, 'total'];
  const widths = header.map((h) => Math.max(h.length, 8));
  const row = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  lines.push(row(header));
  const totals = STATUSES.map(() => 0);
  for (const tier of TIERS) {
    const counts = STATUSES.map((s) => summary.counts[tier]?.[s] ?? 0);
    counts.forEach((n, i) => {
      totals[i]! += n;
    });
    lines.push(row([tier, ...counts.map(String), String(counts.reduce((a, b) => a + b, 0))]));
  }
  lines.push(row(['total', ...totals.map(String), String(summary.principals)]));
  lines.push('');
  lines.push('top risks');
  if (summary.top.length === 0) lines.push('  (no principals)');
  summary.top.forEach((t, i) => {
    lines.push(
      `${String(i + 1).padStart(3)}  ${String(t.riskScore).padStart(3)}  ${t.tier.padEnd(8)}  ${t.status.padEnd(11)}  ${t.principalId}`,
    );
    lines.push(`${' '.repeat(20)}${truncate(t.topReason, 110)}`);
  });
  return lines;
}

function importConfig(directory: string, db: string | undefined): Config {
  return parseConfig({
    database: db ?? DEFAULT_DB,
    integrations: [
      { id: importIntegrationId(directory), kind: 'import', directory: resolve(directory) },
    ],
  });
}

export function registerAssess(program: Command): void {
  program
    .command('assess')
    .description(
      'run an assessment: ingest inventory and logs, score every principal, print principals by tier and status and the top 10 risks',
    )
    .option('--integration <id>', 'assess one integration of the config (default: all of them)')
    .option('--as-of <date>', 'last day of the evidence window, YYYY-MM-DD (default: today, UTC)')
    .option(
      '--import <dir>',
      'assess a folder of exported authorization details and CloudTrail files, without a config file',
    )
    .option('--json', 'print the summary as one JSON line per assessment')
    .action(async (_opts: unknown, cmd: Command) => {
      const options = cmd.optsWithGlobals<AssessOptions>();
      if (options.asOf && !/^\d{4}-\d{2}-\d{2}$/.test(options.asOf))
        throw new UsageError(`--as-of must be a date YYYY-MM-DD, got "${options.asOf}"`);
      let config: Config;
      let dbPath: string;
      let baseDir: string;
      if (options.import) {
        if (options.integration)
          throw new UsageError('--import and --integration cannot be combined');
        config = importConfig(options.import, options.db);
        dbPath = options.db === ':memory:' ? ':memory:' : resolve(options.db ?? DEFAULT_DB);
        baseDir = process.cwd();
      } else {
        const loaded = requireConfig(options);
        config = loaded.config;
        dbPath = options.db
          ? options.db === ':memory:'
            ? ':memory:'
            : resolve(options.db)
          : loaded.databasePath;
        baseDir = dirname(loaded.path);
      }
      const ids = options.integration
        ? [options.integration]
        : config.integrations.map((i) => i.id);
      for (const id of ids) {
        if (!config.integrations.some((i) => i.id === id))
          throw new UsageError(
            `no integration "${id}" in the config (have: ${config.integrations.map((i) => i.id).join(', ')})`,
          );
      }
      if (dbPath !== ':memory:') mkdirSync(dirname(dbPath), { recursive: true });
      const db = await Db.open(dbPath);
      const logger = loggerFor(options);
      const failed: string[] = [];
      try {
        for (const id of ids) {
          const result = await runFullAssessment({
            db,
            config,
            integrationId: id,
            trigger: 'cli',
            logger,
            baseDir,
            ...(options.asOf ? { asOf: options.asOf } : {}),
          });
          const window = await db.one<{ start: string; end: string }>(
            'SELECT window_start::VARCHAR AS start, window_end::VARCHAR AS "end" FROM assessment WHERE assessment_id = $a',
            { a: result.assessmentId },
          );
          const summary = await summarizeScores(db, result.assessmentId);
          if (options.json) {
            out(JSON.stringify({ ...result, window, ...summary }));
          } else {
            for (const line of formatSummary(result, window ?? { start: '?', end: '?' }, summary))
              out(line);
            out();
          }
          if (result.status === 'partial') {
            process.stderr.write(
              `warning: assessment ${result.assessmentId} is partial: ${result.errors.length} errors (first: ${result.errors[0]?.message ?? '?'})\n`,
            );
          }
          if (result.status === 'failed') failed.push(`${id}: ${result.errors.at(-1)?.message}`);
        }
      } finally {
        db.closeAll();
      }
      if (failed.length > 0)
        throw new IngestError(`assessment failed for ${failed.join('; ')}`, { failed });
    });
}
