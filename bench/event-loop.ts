/**
 * Event-loop stalls during an assessment run inside the API server's process: the small
 * fixture world is assessed (every fixture integration, through the real SDK clients against
 * the fixture cloud in a second process) while a 10 ms timer measures how late it fires.
 * Prints the longest stalls with the assessment stage they fell in, and the delay histogram
 * of perf_hooks.monitorEventLoopDelay. An API request waits behind any such stall.
 *
 *   npm run bench -- event-loop [--world DIR] [--top N]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseConfig } from '../config/load.ts';
import { fixtureConfig, fixtureEnvironment } from '../fixtures/config.ts';
import { generateWorld, readManifest } from '../fixtures/generate/index.ts';
import type { Logger } from '../lib/log.ts';
import { Db } from '../model/db.ts';
import { createAssessmentRunner } from '../recommend/pipeline.ts';
import { getAwsCatalog } from '../scoring/catalog/aws.ts';

const started = performance.now();
function phase(text: string): void {
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${text}\n`);
}

async function startCloud(world: string): Promise<ChildProcess & { url: string }> {
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
  return Object.assign(child, { url });
}

interface Stall {
  ms: number;
  stage: string;
}

export async function main(args: string[]): Promise<void> {
  const top = args.includes('--top') ? Number(args[args.indexOf('--top') + 1]) : 10;
  const dir = mkdtempSync(join(tmpdir(), 'ad-bench-event-loop-'));
  let cloud: (ChildProcess & { url: string }) | undefined;
  try {
    let world = args.includes('--world') ? args[args.indexOf('--world') + 1] : undefined;
    if (!world) {
      phase('generating the small fixture world');
      world = join(dir, 'world');
      await generateWorld({ out: world, seed: 1, scale: 'small', force: true });
    }
    const manifest = readManifest(world);
    cloud = await startCloud(world);
    Object.assign(process.env, fixtureEnvironment(manifest));
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_SESSION_TOKEN;
    const path = join(dir, 'event-loop.duckdb');
    const config = parseConfig(fixtureConfig(manifest, cloud.url, { database: path }), 'bench');
    const db = await Db.open(path);
    // The stage is the last progress line the assessment wrote.
    let stage = 'start';
    const note = (m: string) => {
      stage = m.length > 90 ? `${m.slice(0, 87)}...` : m;
    };
    const logger: Logger = { info: note, progress: note, warn: note, debug: () => undefined };
    const runner = createAssessmentRunner({ db, config, logger, asOf: () => manifest.endDate });

    // As startServer does before listening when it runs assessments (not counted).
    getAwsCatalog();
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    const stalls: Stall[] = [];
    const TICK = 10;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      const late = now - last - TICK;
      if (late > 50) stalls.push({ ms: late, stage });
      last = now;
    }, TICK);
    histogram.enable();
    const runs: string[] = [];
    try {
      for (const integration of config.integrations) {
        const t0 = performance.now();
        stage = `${integration.id}: start`;
        await runner.run(integration.id, 'api');
        runs.push(`${integration.id} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        phase(`assessed ${integration.id}`);
      }
    } finally {
      clearInterval(timer);
      histogram.disable();
      db.closeAll();
    }
    const loadAverage = (await import('node:os')).loadavg()[0]!;
    process.stdout.write(
      `assessed ${runs.join(', ')}; load average ${loadAverage.toFixed(1)}\n` +
        `event-loop delay (monitorEventLoopDelay, 10 ms resolution): p50 ${(histogram.percentile(50) / 1e6).toFixed(1)} ms, ` +
        `p99 ${(histogram.percentile(99) / 1e6).toFixed(1)} ms, max ${(histogram.max / 1e6).toFixed(1)} ms\n` +
        `stalls over 50 ms: ${stalls.length}, over 200 ms: ${stalls.filter((s) => s.ms > 200).length}; longest:\n`,
    );
    for (const s of [...stalls].sort((a, b) => b.ms - a.ms).slice(0, top)) {
      process.stdout.write(`${s.ms.toFixed(0).padStart(7)} ms  during: ${s.stage}\n`);
    }
  } finally {
    if (cloud && cloud.exitCode === null) {
      const c = cloud;
      await new Promise<void>((done) => {
        c.once('exit', () => done());
        c.kill('SIGTERM');
      });
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
