import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { createToken } from '../api/auth/tokens.ts';
import { type RunningServer, startServer } from '../api/server.ts';
import { parseConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { type FixtureCloud, startFixtureCloud } from '../fixtures/cloud/index.ts';
import { fixtureConfig, fixtureEnvironment } from '../fixtures/config.ts';
import { generateWorld, readManifest } from '../fixtures/generate/index.ts';
import type { Manifest } from '../fixtures/generate/types.ts';
import type { AssessmentResult } from '../ingest/assessment.ts';
import type { Logger } from '../lib/log.ts';
import { Db } from '../model/db.ts';
import {
  createAssessmentRunner,
  createRemediation,
  runFullAssessment,
} from '../recommend/pipeline.ts';

/**
 * The demo: the bundled synthetic organization (AWS and GCP), served by the fixture cloud
 * through the real wire protocols, assessed end to end with the real SDK clients, then the
 * API and dashboard. Everything lives in one folder (default ./.demo).
 */

export interface DemoOptions {
  dir: string;
  port: number;
  host?: string;
  seed?: number;
  logger: Logger;
  /** Generate the world again even when one exists. */
  regenerate?: boolean;
  /** World size (default `small`; browser tests use `tiny`). */
  scale?: 'tiny' | 'small';
}

export interface Demo {
  manifest: Manifest;
  config: Config;
  configPath: string;
  cloud: FixtureCloud;
  db: Db;
  results: AssessmentResult[];
  server?: RunningServer;
  adminToken?: string;
  close(): Promise<void>;
}

/** Generate (if absent), serve and assess the demo world. The database stays open in `db`. */
export async function prepareDemo(options: Omit<DemoOptions, 'port'>): Promise<Demo> {
  const dir = resolve(options.dir);
  const worldDir = join(dir, 'world');
  mkdirSync(dir, { recursive: true });
  if (options.regenerate || !existsSync(join(worldDir, 'manifest.json'))) {
    const scale = options.scale ?? 'small';
    options.logger.info(`generating the ${scale} synthetic organization in ${worldDir} ...`);
    const summary = await generateWorld({
      out: worldDir,
      seed: options.seed ?? 1,
      scale,
      force: true,
    });
    options.logger.info(
      `  ${summary.counts.awsPrincipals} AWS and ${summary.counts.gcpPrincipals} GCP principals, ${summary.counts.cloudTrailRecords} CloudTrail records, ${summary.counts.gcpAuditEntries} GCP audit entries (${(summary.elapsedMs / 1000).toFixed(1)} s)`,
    );
  }
  const manifest = readManifest(worldDir);
  const cloud = await startFixtureCloud({ dir: worldDir });
  options.logger.info(`fixture cloud listening on ${cloud.url}`);
  Object.assign(process.env, fixtureEnvironment(manifest));
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;

  const database = join(dir, 'access-discovery.duckdb');
  const raw = fixtureConfig(manifest, cloud.url, { database });
  const configPath = join(dir, 'access-discovery.yaml');
  writeFileSync(
    configPath,
    `# Written by the demo for the fixture cloud at ${cloud.url}; credentials come from the environment.\n${stringify(raw)}`,
  );
  const config = parseConfig(raw, `config ${configPath}`);
  let db: Db | undefined;
  try {
    db = await Db.open(database);
    const results: AssessmentResult[] = [];
    for (const integration of config.integrations) {
      const started = Date.now();
      const result = await runFullAssessment({
        db,
        config,
        integrationId: integration.id,
        trigger: 'demo',
        logger: options.logger,
        asOf: manifest.endDate,
      });
      options.logger.info(
        `assessed ${integration.id}: ${result.status} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      results.push(result);
    }
    const opened = db;
    return {
      manifest,
      config,
      configPath,
      cloud,
      db: opened,
      results,
      close: async () => {
        opened.closeAll();
        await cloud.close();
      },
    };
  } catch (err) {
    db?.closeAll();
    await cloud.close();
    throw err;
  }
}

/** Prepare the demo, then serve the API and dashboard with an admin token. */
export async function startDemo(options: DemoOptions): Promise<Demo> {
  const demo = await prepareDemo(options);
  try {
    const { token } = await createToken(demo.db, {
      name: `demo admin ${new Date().toISOString()}`,
      role: 'admin',
      createdBy: 'demo',
    });
    const server = await startServer({
      config: demo.config,
      databasePath: demo.db.path,
      db: demo.db,
      host: options.host ?? '127.0.0.1',
      port: options.port,
      services: (db) => ({
        runner: createAssessmentRunner({ db, config: demo.config, logger: options.logger }),
        remediation: createRemediation(db, demo.config, options.logger),
      }),
      logger: { stream: process.stderr, level: 'warn' },
    });
    return {
      ...demo,
      server,
      adminToken: token,
      close: async () => {
        await server.close();
        await demo.cloud.close();
      },
    };
  } catch (err) {
    await demo.close();
    throw err;
  }
}
