import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseConfig } from '../../config/load.ts';
import { type FixtureCloud, startFixtureCloud } from '../../fixtures/cloud/index.ts';
import { fixtureConfig, fixtureEnvironment } from '../../fixtures/config.ts';
import { generateWorld, readManifest, readTruth } from '../../fixtures/generate/index.ts';
import type { Manifest, Truth } from '../../fixtures/generate/types.ts';
import type { AssessmentResult } from '../../ingest/assessment.ts';
import { silentLogger } from '../../lib/log.ts';
import { Db } from '../../model/db.ts';
import { runFullAssessment } from '../../recommend/pipeline.ts';

/**
 * A generated fixture world assessed end to end: the generator's world (cached by scale, seed,
 * end date and a hash of the generator's source, so a generator change regenerates it), served
 * by the fixture cloud, ingested with the real AWS and GCP SDK clients, scored and given
 * recommendations by the same pipeline as `assess` and the demo.
 */

export const TRUTH_SEED = 1;
export const TRUTH_END_DATE = '2026-11-21';

const GENERATOR_DIR = join(import.meta.dirname, '../../fixtures/generate');

function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile())
    .sort();
}

/** Hash of the generator's source and data: the cache key of generated worlds. */
export function generatorHash(): string {
  const hash = createHash('sha256');
  for (const file of filesUnder(GENERATOR_DIR)) {
    hash.update(relative(GENERATOR_DIR, file));
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

/** The world of a scale, generated once per generator version and reused (the same bytes). */
export async function cachedWorld(
  scale: 'tiny' | 'small' | 'medium',
  log: (line: string) => void = () => {},
): Promise<{ dir: string; generated: boolean; ms: number }> {
  const root = process.env.TRUTH_CACHE_DIR ?? join(tmpdir(), 'access-discovery-truth');
  const dir = join(root, `${scale}-seed${TRUTH_SEED}-${TRUTH_END_DATE}-${generatorHash()}`);
  if (existsSync(join(dir, 'truth.json'))) return { dir, generated: false, ms: 0 };
  mkdirSync(root, { recursive: true });
  const staging = `${dir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  log(`generating the ${scale} world in ${dir} ...`);
  const started = Date.now();
  await generateWorld({
    out: staging,
    scale,
    seed: TRUTH_SEED,
    endDate: TRUTH_END_DATE,
    force: true,
  });
  // Another run may have finished the same world meanwhile: keep theirs (same bytes).
  if (existsSync(join(dir, 'truth.json'))) rmSync(staging, { recursive: true, force: true });
  else {
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  }
  return { dir, generated: true, ms: Date.now() - started };
}

export interface AssessedWorld {
  dir: string;
  manifest: Manifest;
  truth: Truth;
  db: Db;
  cloud: FixtureCloud;
  /** Assessment id per cloud. */
  assessments: { aws: string; gcp: string };
  results: AssessmentResult[];
  timings: { generateMs: number; assessMs: Record<string, number> };
  close(): Promise<void>;
}

/** Serve the world and assess both organizations through the full pipeline. */
export async function assessWorld(
  scale: 'tiny' | 'small' | 'medium',
  options: { stageDir: string; log?: (line: string) => void; database?: string },
): Promise<AssessedWorld> {
  const log = options.log ?? (() => {});
  const world = await cachedWorld(scale, log);
  const manifest = readManifest(world.dir);
  const truth = readTruth(world.dir);
  const cloud = await startFixtureCloud({ dir: world.dir });
  Object.assign(process.env, fixtureEnvironment(manifest));
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
  const config = parseConfig(
    fixtureConfig(manifest, cloud.url, { database: options.database ?? ':memory:' }),
    'fixture config',
  );
  const db = await Db.open(options.database ?? ':memory:');
  const results: AssessmentResult[] = [];
  const assessMs: Record<string, number> = {};
  const assessments: Record<string, string> = {};
  try {
    for (const integration of config.integrations) {
      const started = Date.now();
      log(`assessing ${integration.id} ...`);
      const result = await runFullAssessment({
        db,
        config,
        integrationId: integration.id,
        trigger: 'cli',
        logger: silentLogger,
        asOf: manifest.endDate,
        stageDir: options.stageDir,
      });
      assessMs[integration.id] = Date.now() - started;
      results.push(result);
      assessments[integration.kind === 'gcp-organization' ? 'gcp' : 'aws'] = result.assessmentId;
    }
  } catch (err) {
    db.closeAll();
    await cloud.close();
    throw err;
  }
  return {
    dir: world.dir,
    manifest,
    truth,
    db,
    cloud,
    assessments: { aws: assessments.aws!, gcp: assessments.gcp! },
    results,
    timings: { generateMs: world.ms, assessMs },
    close: async () => {
      db.closeAll();
      await cloud.close();
    },
  };
}
