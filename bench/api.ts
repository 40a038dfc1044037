/**
 * API latency at scale: 100,000 principals (plus a week of nightly history), a filtered and
 * sorted principals page, the widgets call and one principal's pages (details, recommendations,
 * used-by, used-for), measured by autocannon from a second process.
 *
 *   npm run bench -- api [--principals N] [--connections C] [--seconds S] [--pool P] [--only TEXT]
 *
 * Goals (issue 8): p95 under 50 ms for the page, under 100 ms for widgets.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createToken } from '../api/auth/tokens.ts';
import { listPrincipals, type SortColumn } from '../api/principals.ts';
import { resolveScope } from '../api/scope.ts';
import { startServer } from '../api/server.ts';
import { computeWidgetsUncached } from '../api/widgets.ts';
import { parseConfig } from '../config/load.ts';
import { Db } from '../model/db.ts';

interface LoadResult {
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} takes a positive number`);
  return value;
}

const PAGE_FILTERS = [
  'tier >= "high" and last_used < "30d"',
  'overprivilege > 50 and type = "role"',
  'unused_level >= "IAM" and not ignored = true',
  'tag["env"] = "prod" and risk > 60',
  'status = "dormant" or (owner = "team-7" and overprivilege >= 20)',
  'principal contains "00042" or account in ("100000000003", "100000000017")',
  'last_used = "never" and cloud = "aws"',
  'high_risk_overprivilege > 30 and tag["team"] starts_with "team-1"',
];
const SORTS: SortColumn[] = [
  'risk',
  'overprivilege',
  'last_used',
  'principal',
  'tier',
  'high_risk_overprivilege',
];

export async function seed(path: string, principals: number): Promise<number> {
  const started = performance.now();
  const db = await Db.open(path);
  try {
    const statements = readFileSync(join(import.meta.dirname, 'api-seed.sql'), 'utf8')
      .split(/;\s*\n/)
      .map((s) => s.trim())
      .filter((s) => s.replace(/--.*$/gm, '').trim().length > 0);
    await db.exec(
      "INSERT INTO integration VALUES ('bench', 'aws-account', 'Bench', 'secops@example.com', '{}', now(), now())",
    );
    // A week of nightly history (for the trend), then the current assessment.
    for (let day = 7; day >= 0; day--) {
      const id = day === 0 ? 'bench-current' : `bench-d${day}`;
      await db.exec(
        `INSERT INTO assessment (assessment_id, integration_id, status, trigger, stage, started_at, finished_at,
           window_start, window_end, dormancy_days, principal_count, errors)
         VALUES ($id, 'bench', 'succeeded', 'schedule', 'done', now() - to_hours(CAST($h AS INTEGER)),
           now() - to_hours(CAST($h AS INTEGER)) + INTERVAL 20 MINUTE, current_date - 90, current_date - 1, 90, $n, '[]')`,
        { id, h: day * 24 + 1, n: principals },
      );
      const values: Record<string, string | number> = { assessment: id, n: principals, seed: day };
      for (const sql of statements) {
        // DuckDB refuses values for parameters a statement does not name.
        const used = Object.fromEntries(
          Object.entries(values).filter(([k]) => sql.includes(`$${k}`)),
        );
        await db.exec(sql, used);
      }
    }
    await db.exec(
      `INSERT INTO ignore_rule
       SELECT 'ign-' || i, 'arn:aws:iam::' || CAST(100000000000 + (i * 37 % 50) AS VARCHAR) || ':role/principal-' || lpad(CAST(i * 37 AS VARCHAR), 6, '0'),
         NULL, 'bench', 'bench', now(), NULL, NULL, NULL FROM range(500) t(i)`,
    );
    await db.checkpoint();
  } finally {
    db.closeAll();
  }
  return (performance.now() - started) / 1000;
}

function runLoad(scenario: Record<string, unknown>): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'api-load.ts'), JSON.stringify(scenario)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += String(chunk);
    });
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited with ${code}`));
      else resolve(JSON.parse(out) as LoadResult);
    });
  });
}

const ms = (v: number) => `${v.toFixed(1)} ms`.padStart(9);

function percentiles(samples: number[]): { p50: number; p95: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return { p50: at(50), p95: at(95), p99: at(99) };
}

const started = performance.now();
function phase(text: string): void {
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${text}\n`);
}

export async function main(args: string[]): Promise<void> {
  const principals = option(args, '--principals', 100_000);
  const connections = option(args, '--connections', 4);
  const seconds = option(args, '--seconds', 15);
  const poolSize = option(args, '--pool', 4);
  const threads = args.includes('--threads') ? option(args, '--threads', 0) : undefined;
  // --only TEXT: run the load scenarios whose name contains TEXT (e.g. "details").
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ad-bench-api-'));
  const path = join(dir, 'bench.duckdb');
  try {
    phase('seeding');
    const seedSeconds = await seed(path, principals);
    process.stdout.write(
      `seeded ${principals.toLocaleString('en-US')} principals x 8 assessments in ${seedSeconds.toFixed(1)} s (${(statSync(path).size / 1e6).toFixed(0)} MB)\n`,
    );
    const config = parseConfig({
      integrations: [
        {
          kind: 'aws-account',
          id: 'bench',
          roleArn: 'arn:aws:iam::100000000000:role/AccessDiscoveryReadOnly',
          trail: { bucket: 'bench-trail' },
        },
      ],
      server: { rateLimitPerMinute: 100_000_000 },
    });
    const server = await startServer({
      config,
      databasePath: path,
      port: 0,
      logger: false,
      poolSize,
    });
    try {
      const { token } = await createToken(server.db, {
        name: 'bench',
        role: 'analyst',
        createdBy: 'bench',
      });
      const pages = PAGE_FILTERS.flatMap((f, i) =>
        [0, 1].map(
          (k) =>
            `/api/v1/principals?limit=50&offset=${k * 50}&sort=${SORTS[(i + k) % SORTS.length]}&order=${k ? 'asc' : 'desc'}&filter=${encodeURIComponent(f)}`,
        ),
      );
      // One principal's pages: details, recommendations, used-by and used-for of sampled ids.
      const sampled = await server.db.all(
        `SELECT principal_id FROM principal WHERE assessment_id = 'bench-current'
         ORDER BY hash(principal_id) LIMIT 25`,
      );
      const details = sampled.flatMap((r) => {
        const base = `/api/v1/principals/${encodeURIComponent(String(r.principal_id))}`;
        return [base, `${base}/recommendations`, `${base}/used-by`, `${base}/used-for`];
      });
      phase('warming up (copies the current assessment into principal_list)');
      const warm = performance.now();
      for (const p of [...pages, '/api/v1/widgets', ...details.slice(0, 4)]) {
        const r = await fetch(`${server.url}${p}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        if (r.status !== 200) throw new Error(`${p} answered ${r.status}: ${await r.text()}`);
      }
      const firstRead = (performance.now() - warm) / 1000;
      const loadAverage = (await import('node:os')).loadavg()[0]!;
      // Widgets are cached per scope and ignore set; measure the computation itself too.
      phase('widgets without cache');
      const scope = await resolveScope(server.db, {}, new Set(['bench']));
      const today = new Date().toISOString().slice(0, 10);
      // The page path without HTTP: scope, copy check and the three page queries.
      phase('principals page in process');
      const inProcess: number[] = [];
      for (let round = 0; round < 3; round++) {
        for (const [i, f] of PAGE_FILTERS.entries()) {
          const t0 = performance.now();
          const current = await resolveScope(server.db, {}, new Set(['bench']));
          await listPrincipals(server.db, current, {
            filter: f,
            sort: SORTS[i % SORTS.length],
            limit: 50,
          });
          inProcess.push(performance.now() - t0);
        }
      }
      const cold: number[] = [];
      for (let i = 0; i < 15; i++) {
        const t0 = performance.now();
        await computeWidgetsUncached(server.db, scope, today);
        cold.push(performance.now() - t0);
      }
      const scenarios: Array<[string, string[], number]> = [
        ['principals page, 1 connection', pages, 1],
        [`principals page, ${connections} connections`, pages, connections],
        ['widgets, 1 connection', ['/api/v1/widgets'], 1],
        [`widgets, ${connections} connections`, ['/api/v1/widgets'], connections],
        ['principal details, 1 connection', details, 1],
        [`principal details, ${connections} connections`, details, connections],
      ];
      process.stdout.write(
        `server pool ${poolSize} connections, DuckDB threads ${threads ?? 'default'}; load from a second process (autocannon), ${seconds} s each; machine: ${(await import('node:os')).cpus().length} cores, load average ${loadAverage.toFixed(1)} before the run\n\n`,
      );
      process.stdout.write(
        `${'scenario'.padEnd(34)}${'req/s'.padStart(8)}${'p50'.padStart(9)}${'p95'.padStart(9)}${'p99'.padStart(9)}${'non-2xx'.padStart(9)}${'server CPU/req'.padStart(16)}\n`,
      );
      const results: Record<string, LoadResult> = {};
      for (const [name, paths, c] of scenarios) {
        if (only && !name.includes(only)) continue;
        phase(name);
        // CPU the server process (JS and DuckDB threads) spends per request: what latency would
        // be on a machine where nothing else competes for the cores.
        const cpuBefore = process.cpuUsage();
        const r = await runLoad({
          url: server.url,
          token,
          paths,
          connections: c,
          durationSeconds: seconds,
        });
        const cpu = process.cpuUsage(cpuBefore);
        results[name] = r;
        const cpuPerRequest = (cpu.user + cpu.system) / 1000 / Math.max(1, r.requests);
        process.stdout.write(
          `${name.padEnd(34)}${r.rps.toFixed(0).padStart(8)}${ms(r.p50)}${ms(r.p95)}${ms(r.p99)}${String(r.non2xx + r.errors).padStart(9)}${ms(cpuPerRequest).padStart(16)}\n`,
        );
      }
      const q = percentiles(inProcess);
      process.stdout.write(
        `${'principals page, no HTTP'.padEnd(34)}${'-'.padStart(8)}${ms(q.p50)}${ms(q.p95)}${ms(q.p99)}${'-'.padStart(9)}  (in-process, sequential, ${inProcess.length} runs)\n`,
      );
      const c = percentiles(cold);
      process.stdout.write(
        `${'widgets computed without cache'.padEnd(34)}${'-'.padStart(8)}${ms(c.p50)}${ms(c.p95)}${ms(c.p99)}${'-'.padStart(9)}  (in-process, sequential, 15 runs)\n`,
      );
      process.stdout.write(
        `first reads after start (copy of the current assessment + warm-up of ${pages.length + 1} requests): ${firstRead.toFixed(1)} s\n`,
      );
      const page = results[`principals page, ${connections} connections`];
      const widgets = results[`widgets, ${connections} connections`];
      if (page && widgets) {
        process.stdout.write(
          `\ngoal p95 page < 50 ms: ${page.p95.toFixed(1)} ms (${(page.p95 / 50).toFixed(2)}x of goal); ` +
            `widgets < 100 ms: ${widgets.p95.toFixed(1)} ms (${(widgets.p95 / 100).toFixed(2)}x of goal)\n`,
        );
      }
    } finally {
      phase('closing');
      await server.close();
      phase('closed');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
