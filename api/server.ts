import { cpus } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.ts';
import { Db, quoteLiteral } from '../model/db.ts';
import { getAwsCatalog } from '../scoring/catalog/aws.ts';
import { buildApp, type LoggerSettings } from './app.ts';
import { RunCoordinator } from './runs.ts';
import { Scheduler } from './schedule.ts';
import type { ApiServices } from './services.ts';
import { warmCurrentReads } from './warm.ts';

export interface ServerOptions {
  config: Config;
  databasePath: string;
  host?: string;
  port?: number;
  /** The engines, or a factory given the server's database (one DuckDB instance per file per process). */
  services?: ApiServices | ((db: Db) => ApiServices | Promise<ApiServices>);
  /** An already open database to serve (the demo assesses first, then serves the same file). */
  db?: Db;
  logger?: boolean | LoggerSettings;
  poolSize?: number;
  /** Run the schedule (default: when an assessment runner is configured). */
  schedule?: boolean;
  /** DuckDB worker threads (default: server.duckdb.threads from the config, else one per core). */
  threads?: number;
}

export interface RunningServer {
  app: FastifyInstance;
  db: Db;
  scheduler: Scheduler | null;
  url: string;
  close: () => Promise<void>;
}

/**
 * Cap DuckDB's memory for a long-running server (DuckDB's own default is 80% of the machine's
 * memory, which an API sharing the host must not take). A setting of the whole DuckDB instance,
 * so it also holds for a database opened by the caller (the demo); threads: `threadSwitch`.
 */
export async function applyMemoryLimit(db: Db, memoryLimit: string): Promise<void> {
  await db.exec(`SET memory_limit = ${quoteLiteral(memoryLimit)}`);
}

/**
 * DuckDB threads by workload: `readThreads` while the server only answers reads (small queries
 * that answer fastest single-threaded, several at once on the pool's connections), `threads`
 * (default one per core) while at least one assessment runs.
 */
export function threadSwitch(
  db: Db,
  settings: { threads: number; readThreads: number },
): (running: number) => Promise<void> {
  let applied = -1;
  return async (running) => {
    const want = running > 0 ? settings.threads : settings.readThreads;
    if (want === applied) return;
    applied = want;
    await db.exec(`SET threads = ${Number(want)}`);
  };
}

/** Open the database, start the API and the nightly schedule. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const db = options.db ?? (await Db.open(options.databasePath));
  let scheduler: Scheduler | null = null;
  try {
    await applyMemoryLimit(db, options.config.server.duckdb.memoryLimit);
    const duckdbSettings = options.config.server.duckdb;
    // An explicit `threads` option (benchmarks, tests) fixes the count for every workload.
    const switchThreads = threadSwitch(db, {
      threads: options.threads ?? duckdbSettings.threads ?? cpus().length,
      readThreads: options.threads ?? duckdbSettings.readThreads,
    });
    await switchThreads(0);
    const services =
      typeof options.services === 'function'
        ? await options.services(db)
        : (options.services ?? {});
    // The AWS action catalog is built once per process, synchronously (0.2 s to over 1 s of
    // this thread on a loaded machine): build it before serving, not in the middle of the
    // first assessment while requests wait.
    if (services.runner) getAwsCatalog();
    const runs = new RunCoordinator(services.runner, undefined, switchThreads);
    const app = await buildApp({
      db,
      config: options.config,
      services,
      logger: options.logger ?? { stream: process.stderr },
      poolSize: options.poolSize,
      runs,
      scheduleInfo: () => scheduler?.list() ?? [],
    });
    const host = options.host ?? options.config.server.host;
    const port = options.port ?? options.config.server.port;
    await app.listen({ host, port });
    const address = app.server.address();
    const actualPort = typeof address === 'object' && address ? address.port : port;
    if (options.schedule ?? services.runner !== undefined) {
      scheduler = new Scheduler({ config: options.config, pool: app.pool, runs, log: app.log });
      await scheduler.start();
    } else {
      app.log.warn('no assessment runner is configured: the schedule is off');
    }
    runs.onFinished(() => void warmCurrentReads(app));
    void warmCurrentReads(app);
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
    return {
      app,
      db,
      scheduler,
      url,
      close: async () => {
        scheduler?.stop();
        await app.close();
        db.closeAll();
      },
    };
  } catch (err) {
    scheduler?.stop();
    db.closeAll();
    throw err;
  }
}
