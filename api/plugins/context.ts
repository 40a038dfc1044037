import fp from 'fastify-plugin';
import type { Config } from '../../config/schema.ts';
import type { Db } from '../../model/db.ts';
import { DbPool } from '../pool.ts';
import { RunCoordinator } from '../runs.ts';
import type { ScheduledIntegration } from '../schedule.ts';
import { invalidateCurrentAssessments } from '../scope.ts';
import type { ApiServices } from '../services.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Connections for request handlers; one per concurrent query. */
    pool: DbPool;
    appConfig: Config;
    services: ApiServices;
    runs: RunCoordinator;
    scheduleInfo: () => ScheduledIntegration[];
  }
}

export interface ContextOptions {
  db: Db;
  config: Config;
  services: ApiServices;
  poolSize: number;
  runs?: RunCoordinator;
  scheduleInfo: () => ScheduledIntegration[];
}

/** Shared services every route uses, registered once on the root instance. */
export const contextPlugin = fp<ContextOptions>(
  async (app, options) => {
    const pool = await DbPool.open(options.db, options.poolSize);
    app.decorate('pool', pool);
    app.decorate('appConfig', options.config);
    app.decorate('services', options.services);
    app.decorate('scheduleInfo', options.scheduleInfo);
    const runs = options.runs ?? new RunCoordinator(options.services.runner, app.log);
    // A finished run changes which assessment is current.
    runs.onFinished(() => invalidateCurrentAssessments(pool.anyConnection()));
    app.decorate('runs', runs);
    app.addHook('onClose', async () => {
      await app.runs.idle();
      await pool.close();
    });
  },
  { name: 'context' },
);
