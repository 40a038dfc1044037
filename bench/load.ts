/**
 * Load and soak (issue 11, point 5): the API with 100,000 principals under mixed traffic from a
 * second process (autocannon) while assessments of the fixture organization run back to back
 * through the real SDK clients against the fixture cloud (a third process). Reports requests,
 * errors, latency per kind of request, and the server's memory sampled through the run with a
 * verdict on its stability.
 *
 *   npm run bench -- load [--minutes M | --soak-minutes M] [--connections C] [--sample-seconds S]
 *                         [--principals N] [--world DIR] [--seed N]
 *
 * Defaults: 2 minutes, 8 connections, a sample every 10 s, 100,000 principals, a `small` world
 * generated into a temporary folder (or --world, an existing one). Every request must answer
 * 2xx: any other status, connection error or timeout counts as an error.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createToken } from '../api/auth/tokens.ts';
import { startServer } from '../api/server.ts';
import { parseConfig } from '../config/load.ts';
import { fixtureConfig, fixtureEnvironment } from '../fixtures/config.ts';
import { generateWorld, readManifest } from '../fixtures/generate/index.ts';
import { silentLogger } from '../lib/log.ts';
import { createAssessmentRunner } from '../recommend/pipeline.ts';
import { seed } from './api.ts';
import type {
  TrafficInterval,
  TrafficRequest,
  TrafficScenario,
  TrafficSummary,
} from './load-traffic.ts';

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} takes a positive number`);
  return value;
}

function textOption(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

const started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;
function phase(text: string): void {
  process.stderr.write(`[${elapsed().toFixed(1)} s] ${text}\n`);
}
const mb = (bytes: number) => bytes / 1048576;

/** Least-squares slope and intercept of y over x. */
export function linearFit(x: number[], y: number[]): { slope: number; intercept: number } {
  const n = x.length;
  if (n < 2) return { slope: 0, intercept: y[0] ?? 0 };
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

interface Sample {
  atSeconds: number;
  rss: number;
  heapUsed: number;
  external: number;
  duckdb: number;
  requests: number;
  errors: number;
  p95: number;
  running: string;
}

interface RunRecord {
  integrationId: string;
  assessmentId: string;
  status: string;
  seconds: number;
}

/** The fixture cloud in a process of its own (its memory is not the server's). */
async function startCloud(world: string): Promise<{ url: string; child: ChildProcess }> {
  const bin = resolve(import.meta.dirname, '..', 'bin', 'access-discovery');
  const child = spawn(process.execPath, [bin, 'fixtures', 'serve', '--dir', world, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((ok, fail) => {
    child.once('exit', (code) => fail(new Error(`fixture cloud exited with ${code}`)));
    lines.on('line', (line) => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (m) ok(m[1]!);
    });
  });
  child.removeAllListeners('exit');
  return { url, child };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((done) => {
    child.once('exit', () => done());
    child.kill('SIGTERM');
  });
}

export async function main(args: string[]): Promise<void> {
  const minutes = option(args, '--soak-minutes', option(args, '--minutes', 2));
  const connections = option(args, '--connections', 8);
  const sampleSeconds = option(args, '--sample-seconds', 10);
  const principals = option(args, '--principals', 100_000);
  const randomSeed = option(args, '--seed', 1);
  const dir = mkdtempSync(join(tmpdir(), 'ad-bench-load-'));
  const children: ChildProcess[] = [];
  try {
    let world = textOption(args, '--world');
    if (!world) {
      phase('generating the small fixture world');
      world = join(dir, 'world');
      await generateWorld({ out: world, seed: 1, scale: 'small', force: true });
    }
    const manifest = readManifest(world);
    const path = join(dir, 'load.duckdb');
    phase(`seeding ${principals.toLocaleString('en-US')} principals`);
    const seedSeconds = await seed(path, principals);

    const cloud = await startCloud(world);
    children.push(cloud.child);
    Object.assign(process.env, fixtureEnvironment(manifest));
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_SESSION_TOKEN;
    const raw = fixtureConfig(manifest, cloud.url, { database: path });
    (raw.integrations as Array<Record<string, unknown>>).push({
      kind: 'aws-account',
      id: 'bench',
      roleArn: 'arn:aws:iam::100000000000:role/AccessDiscoveryReadOnly',
      trail: { bucket: 'bench-trail' },
    });
    raw.server = { rateLimitPerMinute: 100_000_000 };
    const config = parseConfig(raw, 'load bench config');
    const fixtureIntegrations = config.integrations
      .map((i) => i.id)
      .filter((id) => id.startsWith('fixture-'));

    const server = await startServer({
      config,
      databasePath: path,
      port: 0,
      logger: false,
      schedule: false,
      services: (db) => ({
        runner: createAssessmentRunner({
          db,
          config,
          logger: silentLogger,
          asOf: () => manifest.endDate,
        }),
      }),
    });
    const runs: RunRecord[] = [];
    let running = '';
    let stopRuns = false;
    let runLoop: Promise<void> = Promise.resolve();
    try {
      const token = async (role: 'admin' | 'analyst' | 'auditor') =>
        (await createToken(server.db, { name: `load ${role}`, role, createdBy: 'bench' })).token;
      const admin = await token('admin');
      const analyst = await token('analyst');
      const auditor = await token('auditor');
      const call = async (method: 'GET' | 'POST', p: string, body?: unknown) => {
        const r = await fetch(`${server.url}${p}`, {
          method,
          headers: {
            authorization: `Bearer ${admin}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          body: body ? JSON.stringify(body) : undefined,
        });
        const text = await r.text();
        if (r.status >= 300) throw new Error(`${method} ${p} answered ${r.status}: ${text}`);
        return JSON.parse(text) as Record<string, unknown>;
      };
      /** One assessment through the API, polled to its end. */
      const assess = async (integrationId: string): Promise<RunRecord> => {
        const t0 = performance.now();
        running = integrationId;
        try {
          const { assessmentId } = (await call('POST', '/api/v1/assessments', {
            integrationId,
          })) as { assessmentId: string };
          for (;;) {
            const a = await call('GET', `/api/v1/assessments/${encodeURIComponent(assessmentId)}`);
            if (a.status !== 'running') {
              return {
                integrationId,
                assessmentId,
                status: String(a.status),
                seconds: (performance.now() - t0) / 1000,
              };
            }
            await new Promise((r) => setTimeout(r, 500));
          }
        } finally {
          running = '';
        }
      };

      phase('first assessment of each fixture integration (details and reports need one)');
      for (const id of fixtureIntegrations) {
        const r = await assess(id);
        runs.push(r);
        phase(`  ${id}: ${r.status} in ${r.seconds.toFixed(1)} s`);
      }

      // The request mix: ids come from the data the server holds.
      const benchIds = (
        await server.db.all(
          `SELECT principal_id FROM principal WHERE assessment_id = 'bench-current'
           ORDER BY hash(principal_id) LIMIT 40`,
        )
      ).map((r) => String(r.principal_id));
      const fixtureIds = (
        await server.db.all(
          `SELECT ps.integration_id, ps.principal_id FROM principal_score ps
           WHERE ps.assessment_id IN (SELECT max_by(assessment_id, started_at) FROM assessment
             WHERE status IN ('succeeded', 'partial') AND integration_id LIKE 'fixture-%' GROUP BY integration_id)
           ORDER BY hash(ps.principal_id) LIMIT 40`,
        )
      ).map((r) => ({ integrationId: String(r.integration_id), id: String(r.principal_id) }));
      const requests: TrafficRequest[] = [];
      const add = (category: string, p: string, weight: number, tok = analyst) =>
        requests.push({ category, path: p, token: tok, weight });
      const filters = [
        '',
        'tier >= "high" and last_used < "30d"',
        'overprivilege > 50 and type = "role"',
        'unused_level >= "IAM" and not ignored = true',
        'tag["env"] = "prod" and risk > 60',
        'status = "dormant" or (owner = "team-7" and overprivilege >= 20)',
        'principal contains "00042" or account in ("100000000003", "100000000017")',
        'last_used = "never" and cloud = "aws"',
        'high_risk_overprivilege > 30 and tag["team"] starts_with "team-1"',
      ];
      const sorts = ['risk', 'overprivilege', 'last_used', 'principal', 'tier', 'account'];
      for (const [i, f] of filters.entries()) {
        for (const k of [0, 1, 2]) {
          const q = `limit=50&offset=${k * 100}&sort=${sorts[(i + k) % sorts.length]}&order=${k % 2 ? 'asc' : 'desc'}${f ? `&filter=${encodeURIComponent(f)}` : ''}`;
          add('pages', `/api/v1/principals?${q}`, 2);
        }
      }
      for (const id of fixtureIntegrations) {
        add('pages', `/api/v1/principals?integrationId=${id}&limit=100&sort=risk`, 2);
        add('widgets', `/api/v1/widgets?integrationId=${id}`, 2);
      }
      add('widgets', '/api/v1/widgets', 10);
      add('widgets', '/api/v1/widgets?integrationId=bench', 4);
      const details = ['', '/recommendations', '/used-by', '/used-for'];
      for (const [i, id] of benchIds.entries()) {
        add(
          'details',
          `/api/v1/principals/${encodeURIComponent(id)}${details[i % details.length]}?integrationId=bench`,
          1,
        );
      }
      for (const [i, p] of fixtureIds.entries()) {
        add(
          'details',
          `/api/v1/principals/${encodeURIComponent(p.id)}${details[i % details.length]}?integrationId=${p.integrationId}`,
          1,
        );
      }
      add('lists', '/api/v1/integrations', 2);
      add('lists', '/api/v1/assessments?limit=20', 2);
      for (const id of fixtureIntegrations) {
        for (const format of ['csv', 'json', 'html', 'parquet', 'arrow']) {
          add('reports', `/api/v1/integrations/${id}/report?format=${format}`, 0.4, auditor);
        }
      }
      const byCategory = new Map<string, number>();
      for (const r of requests)
        byCategory.set(r.category, (byCategory.get(r.category) ?? 0) + r.weight);
      const totalWeight = [...byCategory.values()].reduce((a, b) => a + b, 0);

      const durationSeconds = Math.round(minutes * 60);
      const scenario: TrafficScenario = {
        url: server.url,
        connections,
        durationSeconds,
        intervalSeconds: sampleSeconds,
        timeoutSeconds: 30,
        requests,
        seed: randomSeed,
      };
      const scenarioPath = join(dir, 'scenario.json');
      writeFileSync(scenarioPath, JSON.stringify(scenario));

      // Assessments back to back for as long as the load lasts.
      runLoop = (async () => {
        for (let i = 0; !stopRuns; i++) {
          const r = await assess(fixtureIntegrations[i % fixtureIntegrations.length]!);
          runs.push(r);
          phase(
            `  assessment ${r.integrationId} ${r.assessmentId}: ${r.status} in ${r.seconds.toFixed(1)} s`,
          );
        }
      })();
      // Let the first run get going before the load starts.
      while (running === '') await new Promise((r) => setTimeout(r, 100));

      phase(
        `load: ${durationSeconds} s, ${connections} connections, ${requests.length} distinct requests`,
      );
      const samples: Sample[] = [];
      let last: TrafficInterval = {
        type: 'interval',
        atSeconds: 0,
        requests: 0,
        errors: 0,
        p95: 0,
      };
      let busySeconds = 0;
      const busyTimer = setInterval(() => {
        if (running !== '') busySeconds += 0.5;
      }, 500);
      const sample = async () => {
        const m = process.memoryUsage();
        const duck = Number(
          await server.db.scalar(
            'SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()',
          ),
        );
        const s: Sample = {
          atSeconds: last.atSeconds,
          rss: m.rss,
          heapUsed: m.heapUsed,
          external: m.external,
          duckdb: duck,
          requests: last.requests,
          errors: last.errors,
          p95: last.p95,
          running,
        };
        samples.push(s);
        phase(
          `  ${s.atSeconds.toFixed(0).padStart(5)} s  ${(s.requests / sampleSeconds).toFixed(0).padStart(5)} req/s  errors ${s.errors}  p95 ${s.p95.toFixed(1)} ms  RSS ${mb(s.rss).toFixed(0)} MB  heap ${mb(s.heapUsed).toFixed(0)} MB  DuckDB ${mb(s.duckdb).toFixed(0)} MB${s.running ? `  (assessing ${s.running})` : ''}`,
        );
      };
      const fileAtLoadStart = statSync(path).size;
      const memoryLimit = String(await server.db.scalar("SELECT current_setting('memory_limit')"));
      const cpuAtLoadStart = process.cpuUsage();
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, 'load-traffic.ts'), scenarioPath],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      children.push(child);
      const lines = createInterface({ input: child.stdout! });
      const summary = await new Promise<TrafficSummary>((ok, fail) => {
        let result: TrafficSummary | undefined;
        const pending: Promise<void>[] = [];
        lines.on('line', (line) => {
          const parsed = JSON.parse(line) as TrafficInterval | TrafficSummary;
          if (parsed.type === 'interval') {
            last = parsed;
            pending.push(sample());
          } else result = parsed;
        });
        child.on('exit', (code) => {
          void Promise.all(pending).then(() => {
            if (code !== 0 || !result) fail(new Error(`load generator exited with ${code}`));
            else ok(result);
          });
        });
      });
      clearInterval(busyTimer);
      const loadSeconds = summary.seconds;
      const cpu = process.cpuUsage(cpuAtLoadStart);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      const loadAverage = (await import('node:os')).loadavg()[0]!;
      stopRuns = true;
      phase('load done; waiting for the running assessment to end');
      await runLoop;

      // Report.
      const out = (line = '') => process.stdout.write(`${line}\n`);
      const cores = (await import('node:os')).cpus().length;
      out(
        `seeded ${principals.toLocaleString('en-US')} principals x 8 assessments in ${seedSeconds.toFixed(1)} s; fixture world ${world} (${manifest.scale ?? 'small'})`,
      );
      out(
        `load: ${loadSeconds.toFixed(0)} s from a second process (autocannon, ${connections} connections, 127.0.0.1), ${requests.length} distinct requests; machine: ${cores} cores`,
      );
      const during = runs.slice(fixtureIntegrations.length);
      out(
        `assessments during the load: ${during.length} (${[...new Set(during.map((r) => r.status))].map((s) => `${during.filter((r) => r.status === s).length} ${s}`).join(', ')}), one running ${((100 * busySeconds) / loadSeconds).toFixed(0)}% of the time; mean ${(during.reduce((a, r) => a + r.seconds, 0) / Math.max(1, during.length)).toFixed(1)} s each`,
      );
      out();
      out(
        `${'requests'.padEnd(10)}${'share'.padStart(7)}${'count'.padStart(9)}${'errors'.padStart(8)}${'p50'.padStart(10)}${'p95'.padStart(10)}${'p99'.padStart(10)}${'max'.padStart(10)}`,
      );
      const msCol = (v: number) => `${v.toFixed(1)} ms`.padStart(10);
      const row = (name: string, share: string, s: TrafficSummary['all']) =>
        out(
          `${name.padEnd(10)}${share.padStart(7)}${String(s.requests).padStart(9)}${String(s.errors).padStart(8)}${msCol(s.p50)}${msCol(s.p95)}${msCol(s.p99)}${msCol(s.max)}`,
        );
      for (const [name, s] of Object.entries(summary.categories)) {
        row(name, `${((100 * (byCategory.get(name) ?? 0)) / totalWeight).toFixed(0)}%`, s);
      }
      row('all', '100%', summary.all);
      out(
        `${(summary.all.requests / loadSeconds).toFixed(0)} req/s; errors: ${summary.all.errors} (non-2xx ${JSON.stringify(summary.non2xx)}, connection errors ${summary.connectionErrors} of which timeouts ${summary.timeouts})`,
      );
      for (const e of summary.examples) out(`  e.g. ${e.status} ${e.path}: ${e.body}`);

      // Memory: the trend over the last 80% of the samples (the first 20% is warm-up).
      out();
      out(`server memory, sampled every ${sampleSeconds} s (${samples.length} samples):`);
      const everyMinute = Math.max(1, Math.round(60 / sampleSeconds));
      out(
        `${'at'.padStart(8)}${'RSS'.padStart(9)}${'JS heap'.padStart(10)}${'DuckDB'.padStart(9)}${'req/s'.padStart(8)}`,
      );
      samples.forEach((s, i) => {
        if (i % everyMinute === everyMinute - 1 || i === samples.length - 1) {
          out(
            `${`${s.atSeconds.toFixed(0)} s`.padStart(8)}${`${mb(s.rss).toFixed(0)} MB`.padStart(9)}${`${mb(s.heapUsed).toFixed(0)} MB`.padStart(10)}${`${mb(s.duckdb).toFixed(0)} MB`.padStart(9)}${(s.requests / sampleSeconds).toFixed(0).padStart(8)}`,
          );
        }
      });
      // Assessments make RSS a sawtooth (hundreds of MB up and down per run), so besides the
      // raw trend the verdict looks at the floor (the lowest sample of each minute) and at the
      // memory outside DuckDB's buffer manager, which caches more of the file as each
      // assessment adds to it (up to its memory_limit).
      const tail = samples.slice(Math.floor(samples.length * 0.2));
      const minuteFloors = new Map<number, Sample>();
      for (const s of tail) {
        const minute = Math.floor(s.atSeconds / 60);
        const seen = minuteFloors.get(minute);
        if (!seen || s.rss < seen.rss) minuteFloors.set(minute, s);
      }
      const trend = (name: string, points: Sample[], pick: (s: Sample) => number) => {
        const x = points.map((s) => s.atSeconds / 60);
        const y = points.map((s) => mb(pick(s)));
        const fit = linearFit(x, y);
        const mean = y.reduce((a, b) => a + b, 0) / Math.max(1, y.length);
        const span = (x.at(-1) ?? 0) - (x[0] ?? 0);
        const rise = fit.slope * span;
        out(
          `  ${name.padEnd(22)} mean ${mean.toFixed(0).padStart(5)} MB, min ${Math.min(...y).toFixed(0)}, max ${Math.max(...y).toFixed(0)}; trend ${fit.slope >= 0 ? '+' : ''}${fit.slope.toFixed(2)} MB/min (${rise >= 0 ? '+' : ''}${rise.toFixed(1)} MB over ${span.toFixed(1)} min, ${((100 * rise) / Math.max(mean, 1)).toFixed(1)}% of the mean)`,
        );
        return rise < 0.05 * mean;
      };
      out('trends over the last 80% of the samples (the first 20% is warm-up):');
      trend('RSS', tail, (s) => s.rss);
      const floorStable = trend('RSS floor (per minute)', [...minuteFloors.values()], (s) => s.rss);
      const outsideStable = trend('RSS outside DuckDB', tail, (s) => s.rss - s.duckdb);
      trend('JS heap used', tail, (s) => s.heapUsed);
      trend('DuckDB (duckdb_memory)', tail, (s) => s.duckdb);
      const memoryStable = floorStable && outsideStable;
      out(
        `  database file ${mb(fileAtLoadStart).toFixed(0)} MB at the start of the load, ${mb(statSync(path).size).toFixed(0)} MB at the end; DuckDB memory_limit ${memoryLimit}`,
      );
      out(
        `  server process CPU during the load: ${cpuSeconds.toFixed(0)} s in ${loadSeconds.toFixed(0)} s (assessments included); machine load average ${loadAverage.toFixed(1)} at the end`,
      );
      out();
      const errorsTotal = summary.all.errors;
      const failedRuns = during.filter((r) => r.status !== 'succeeded').length;
      out(
        `verdict: ${errorsTotal === 0 ? 'zero errors' : `${errorsTotal} ERRORS`}; memory ${memoryStable ? 'stable' : 'GROWING'} (criterion: the RSS floor and the RSS outside DuckDB each rise less than 5% over the window); assessments during the load ${failedRuns === 0 ? 'all succeeded' : `${failedRuns} did not succeed`}`,
      );
    } finally {
      stopRuns = true;
      await runLoop.catch(() => undefined);
      phase('closing');
      await server.close();
    }
  } finally {
    for (const c of children) await stopChild(c);
    rmSync(dir, { recursive: true, force: true });
  }
}
