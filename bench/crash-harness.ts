import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { startFixtureCloud } from '../fixtures/cloud/index.ts';
import { fixtureConfig, fixtureEnvironment } from '../fixtures/config.ts';
import { readManifest } from '../fixtures/generate/index.ts';
import type { Manifest } from '../fixtures/generate/types.ts';
import { Db, quoteLiteral } from '../model/db.ts';

/**
 * Crash and resume: run `access-discovery assess` over a fixture world in a child process,
 * SIGKILL it at chosen moments, start it again on the same database, and once a run finishes
 * compare what it left with an uninterrupted reference run — usage, identities, the ledger,
 * scores, grants and recommendations, row for row. The fixture cloud lives in this process,
 * so it outlives every killed run. Used by `npm run bench -- crash` and test/ingest/crash.test.ts.
 */

export const BIN = join(import.meta.dirname, '..', 'bin', 'access-discovery');

export interface CrashCampaignOptions {
  /** A world written by `fixtures generate` (manifest.json inside). */
  world: string;
  /** Working folder (emptied): reference and crash databases, the config file. */
  work: string;
  /** SIGKILLs to deliver in all. */
  kills: number;
  /** Seed of the kill delays. */
  seed: number;
  /** Shortest delay after start (ms); default 300 (some kills land while the file opens). */
  minDelayMs?: number;
  /** Longest delay (ms); default the reference run's duration. */
  maxDelayMs?: number;
  /** Delays as fractions of the reference duration, used in order instead of random ones. */
  killFractions?: number[];
  /** Per-run timeout (ms); default 30 minutes. */
  runTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface KillRecord {
  round: number;
  run: number;
  delayMs: number;
  /** Last stage the run reported before it was killed ("start" when none yet). */
  stage: string;
}

export interface Mismatch {
  check: string;
  referenceRows: number;
  crashRows: number;
  differing: number;
  examples: string[];
}

export interface Completion {
  round: number;
  /** Runs on this database, the finishing one included. */
  runs: number;
  kills: number;
  /** Duration of the finishing run (ms). */
  finalRunMs: number;
  mismatches: Mismatch[];
}

export interface CrashReport {
  referenceMs: number;
  checks: Array<{ check: string; rows: number }>;
  usageTotals: { rows: number; calls: number; errors: number };
  kills: KillRecord[];
  completions: Completion[];
  /** Runs that failed other than by our SIGKILL (a file that would not open, a crash). */
  failures: Array<{ round: number; run: number; code: number | null; stderr: string }>;
  /** Files set aside by a WAL recovery (each is also in a run's stderr). */
  walWarnings: string[];
}

interface RunOutcome {
  killed: boolean;
  code: number | null;
  ms: number;
  stage: string;
  stderrTail: string;
}

/** mulberry32: a small seeded generator, so a campaign's delays repeat for one seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One `assess` run; SIGKILLed after `killAfterMs` when given and still running. */
function runAssess(
  args: string[],
  env: Record<string, string>,
  killAfterMs: number | undefined,
  timeoutMs: number,
): Promise<RunOutcome> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let tail = '';
    let stage = 'start';
    let killed = false;
    child.stderr.on('data', (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-8000);
      for (const m of chunk.toString().matchAll(/^\[([a-z0-9-]+)\] ([a-z-]+)\b/gm)) {
        stage = `${m[1]} ${m[2]}`;
      }
    });
    const killer =
      killAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            killed = child.kill('SIGKILL');
          }, killAfterMs);
    const timeout = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`assess did not finish within ${timeoutMs} ms: ${tail.slice(-2000)}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (killer) clearTimeout(killer);
      clearTimeout(timeout);
      resolvePromise({
        killed: killed && signal === 'SIGKILL',
        code,
        ms: performance.now() - started,
        stage,
        stderrTail: tail,
      });
    });
  });
}

const LATEST = `(SELECT arg_max(assessment_id, started_at) FROM {s}.assessment
  WHERE status IN ('succeeded', 'partial') GROUP BY integration_id)`;

/**
 * What must be identical after any number of kills: each query reads one database ({s}) and
 * its rows are compared as multisets. Snapshot tables are read from each integration's newest
 * finished assessment, without the assessment id (which differs from run to run).
 */
export const CHECKS: Array<{ check: string; sql: string }> = [
  { check: 'usage_daily', sql: 'SELECT * FROM {s}.usage_daily' },
  { check: 'identity_usage', sql: 'SELECT * FROM {s}.identity_usage' },
  { check: 'identity_login', sql: 'SELECT * FROM {s}.identity_login' },
  { check: 'log_coverage', sql: 'SELECT * FROM {s}.log_coverage' },
  { check: 'unmapped_event', sql: 'SELECT * FROM {s}.unmapped_event' },
  {
    check: 'ingest_object',
    sql: 'SELECT * EXCLUDE (assessment_id, ingested_at) FROM {s}.ingest_object',
  },
  {
    check: 'assessment (newest finished)',
    sql: `SELECT integration_id, status, stage, window_start, window_end, account_count, principal_count
          FROM {s}.assessment WHERE assessment_id IN ${LATEST}`,
  },
  ...[
    'principal',
    'policy',
    'principal_policy',
    'grant',
    'principal_score',
    'policy_usage',
    'scoring_fingerprint',
  ].map((table) => ({
    check: table,
    sql: `SELECT * EXCLUDE (assessment_id) FROM {s}."${table}" WHERE assessment_id IN ${LATEST}`,
  })),
  {
    // The order of the actions list carries no meaning: compare its entries.
    check: 'effective_action',
    sql: `SELECT fingerprint, unnest(actions, recursive := true) FROM {s}.effective_action WHERE assessment_id IN ${LATEST}`,
  },
  {
    check: 'recommendation',
    sql: `SELECT * EXCLUDE (assessment_id, created_at) FROM {s}.recommendation WHERE assessment_id IN ${LATEST}`,
  },
];

/** Compare a crash database with the reference, check by check. */
export async function compareDatabases(
  referencePath: string,
  crashPath: string,
): Promise<{ mismatches: Mismatch[]; rows: Array<{ check: string; rows: number }> }> {
  const db = await Db.open(':memory:', { migrate: false });
  try {
    await db.exec(`ATTACH ${quoteLiteral(referencePath)} AS ref (READ_ONLY)`);
    await db.exec(`ATTACH ${quoteLiteral(crashPath)} AS crash (READ_ONLY)`);
    const mismatches: Mismatch[] = [];
    const rows: Array<{ check: string; rows: number }> = [];
    for (const { check, sql } of CHECKS) {
      const ref = sql.replaceAll('{s}', 'ref');
      const crash = sql.replaceAll('{s}', 'crash');
      const counts = await db.one<{ r: number; c: number }>(
        `SELECT (SELECT count(*) FROM (${ref})) AS r, (SELECT count(*) FROM (${crash})) AS c`,
      );
      const diff = `(SELECT 'missing' AS side, * FROM ((${ref}) EXCEPT ALL (${crash})))
        UNION ALL (SELECT 'extra' AS side, * FROM ((${crash}) EXCEPT ALL (${ref})))`;
      const differing = (await db.scalar<number>(`SELECT count(*) FROM (${diff})`)) ?? 0;
      rows.push({ check, rows: counts?.r ?? 0 });
      if (differing > 0 || counts?.r !== counts?.c) {
        const examples = await db.all(`SELECT * FROM (${diff}) LIMIT 3`);
        mismatches.push({
          check,
          referenceRows: counts?.r ?? 0,
          crashRows: counts?.c ?? 0,
          differing,
          examples: examples.map((e) => JSON.stringify(e).slice(0, 400)),
        });
      }
    }
    return { mismatches, rows };
  } finally {
    db.closeAll();
  }
}

async function usageTotals(path: string): Promise<CrashReport['usageTotals']> {
  const db = await Db.open(path, { readOnly: true });
  try {
    const row = await db.one<{ rows: number; calls: number; errors: number }>(
      'SELECT count(*) AS rows, sum(calls)::BIGINT AS calls, sum(errors)::BIGINT AS errors FROM usage_daily',
    );
    return { rows: row?.rows ?? 0, calls: row?.calls ?? 0, errors: row?.errors ?? 0 };
  } finally {
    db.closeAll();
  }
}

function writeConfig(manifest: Manifest, cloudUrl: string, work: string): string {
  const path = join(work, 'access-discovery.yaml');
  const raw = fixtureConfig(manifest, cloudUrl, { database: join(work, 'unused.duckdb') });
  writeFileSync(path, stringify(raw));
  return path;
}

export async function runCrashCampaign(options: CrashCampaignOptions): Promise<CrashReport> {
  const log = options.log ?? (() => {});
  const work = resolve(options.work);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const manifest = readManifest(options.world);
  const cloud = await startFixtureCloud({ dir: resolve(options.world) });
  try {
    const config = writeConfig(manifest, cloud.url, work);
    const env = fixtureEnvironment(manifest);
    const timeoutMs = options.runTimeoutMs ?? 30 * 60_000;
    // Each database in its own folder: the staging folder sits beside the file.
    const argsFor = (dir: string) => {
      mkdirSync(dir, { recursive: true });
      return [
        '--config',
        config,
        '--db',
        join(dir, 'access-discovery.duckdb'),
        'assess',
        '--as-of',
        manifest.endDate,
        '--json',
      ];
    };

    const refDir = join(work, 'reference');
    const reference = await runAssess(argsFor(refDir), env, undefined, timeoutMs);
    if (reference.code !== 0) {
      throw new Error(
        `the reference run failed (exit ${reference.code}): ${reference.stderrTail.slice(-2000)}`,
      );
    }
    const referencePath = join(refDir, 'access-discovery.duckdb');
    log(`reference run: ${(reference.ms / 1000).toFixed(1)} s`);

    const rand = random(options.seed);
    const minDelay = options.minDelayMs ?? 300;
    const maxDelay = Math.max(minDelay + 1, options.maxDelayMs ?? reference.ms);
    const report: CrashReport = {
      referenceMs: reference.ms,
      checks: [],
      usageTotals: await usageTotals(referencePath),
      kills: [],
      completions: [],
      failures: [],
      walWarnings: [],
    };
    let round = 0;
    let fraction = 0;
    while (report.kills.length < options.kills && report.failures.length < 5) {
      round += 1;
      const dir = join(work, `round-${round}`);
      let runs = 0;
      let roundKills = 0;
      for (;;) {
        runs += 1;
        const wantKill = report.kills.length < options.kills;
        const delay = !wantKill
          ? undefined
          : options.killFractions
            ? reference.ms * (options.killFractions[fraction++ % options.killFractions.length] ?? 0)
            : minDelay + rand() * (maxDelay - minDelay);
        const outcome = await runAssess(argsFor(dir), env, delay, timeoutMs);
        for (const m of outcome.stderrTail.matchAll(/^warning: database .*write-ahead log.*$/gm)) {
          report.walWarnings.push(m[0]);
        }
        if (outcome.killed) {
          roundKills += 1;
          report.kills.push({
            round,
            run: runs,
            delayMs: Math.round(delay ?? 0),
            stage: outcome.stage,
          });
          log(
            `round ${round} run ${runs}: killed after ${((delay ?? 0) / 1000).toFixed(1)} s in ${outcome.stage} (${report.kills.length}/${options.kills})`,
          );
          continue;
        }
        if (outcome.code !== 0) {
          report.failures.push({
            round,
            run: runs,
            code: outcome.code,
            stderr: outcome.stderrTail.slice(-3000),
          });
          log(`round ${round} run ${runs}: FAILED with exit ${outcome.code}`);
          break;
        }
        const { mismatches, rows } = await compareDatabases(
          referencePath,
          join(dir, 'access-discovery.duckdb'),
        );
        report.checks = rows;
        report.completions.push({
          round,
          runs,
          kills: roundKills,
          finalRunMs: outcome.ms,
          mismatches,
        });
        log(
          `round ${round}: finished after ${roundKills} kills (last run ${(outcome.ms / 1000).toFixed(1)} s): ${mismatches.length === 0 ? 'identical to the reference' : `${mismatches.length} checks DIFFER`}`,
        );
        // The reference database is compared again by later rounds; this one is done.
        if (mismatches.length === 0 && report.failures.length === 0) {
          rmSync(dir, { recursive: true, force: true });
        }
        break;
      }
    }
    if (existsSync(join(work, 'unused.duckdb'))) rmSync(join(work, 'unused.duckdb'));
    return report;
  } finally {
    await cloud.close();
  }
}

/** The report as lines for a terminal. */
export function formatCrashReport(report: CrashReport): string[] {
  const lines: string[] = [];
  const mismatched = report.completions.filter((c) => c.mismatches.length > 0);
  const byStage = new Map<string, number>();
  for (const k of report.kills) byStage.set(k.stage, (byStage.get(k.stage) ?? 0) + 1);
  lines.push(`reference run                ${(report.referenceMs / 1000).toFixed(1)} s`);
  lines.push(
    `usage totals (reference)     ${report.usageTotals.rows} usage_daily rows, ${report.usageTotals.calls} calls, ${report.usageTotals.errors} errors`,
  );
  lines.push(`kills survived               ${report.kills.length}`);
  lines.push(
    `kills by stage               ${[...byStage.entries()].map(([s, n]) => `${s}: ${n}`).join(', ')}`,
  );
  lines.push(
    `completed rounds             ${report.completions.length} (${report.completions.map((c) => c.kills).join('+')} kills)`,
  );
  lines.push(
    `rounds identical             ${report.completions.length - mismatched.length}/${report.completions.length}`,
  );
  lines.push(`runs failed (not killed)     ${report.failures.length}`);
  lines.push(`WAL recoveries               ${report.walWarnings.length}`);
  lines.push(
    `checks compared              ${report.checks.map((c) => `${c.check} ${c.rows}`).join(', ')}`,
  );
  for (const c of mismatched) {
    for (const m of c.mismatches) {
      lines.push(
        `MISMATCH round ${c.round} ${m.check}: reference ${m.referenceRows} rows, crash ${m.crashRows} rows, ${m.differing} differ`,
      );
      for (const e of m.examples) lines.push(`    ${e}`);
    }
  }
  for (const f of report.failures) {
    lines.push(`FAILURE round ${f.round} run ${f.run} exit ${f.code}: ${f.stderr.slice(-600)}`);
  }
  for (const w of report.walWarnings) lines.push(`  ${w}`);
  return lines;
}
