import { Cron } from 'croner';
import type { Config } from '../config/schema.ts';
import { errorMessage } from '../lib/errors.ts';
import { ApiError } from './errors.ts';
import type { DbPool } from './pool.ts';
import type { RunCoordinator } from './runs.ts';
import type { RunTrigger } from './services.ts';

/** The lines the scheduler logs; pino and lib/log loggers both fit. */
export interface SchedulerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SchedulerOptions {
  config: Pick<Config, 'schedule' | 'integrations'>;
  pool: DbPool;
  runs: RunCoordinator;
  log: SchedulerLog;
  /** Clock for the catch-up check (tests). */
  now?: () => Date;
}

export interface ScheduledIntegration {
  integrationId: string;
  nextRunAt: string | null;
  previousRunAt: string | null;
}

/**
 * The nightly schedule: every integration's assessment on the configured cron. A run never
 * overlaps another of the same integration (the coordinator's lock, shared with run-now), and
 * on start an integration whose last scheduled run was missed while the server was down is
 * run at once ("catch-up").
 */
export class Scheduler {
  private readonly jobs = new Map<string, Cron>();
  private stopped = false;

  constructor(private readonly options: SchedulerOptions) {}

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  /** Start the cron jobs, then catch up on missed runs; resolves once catch-up runs are started. */
  async start(): Promise<{ caughtUp: string[] }> {
    const { schedule, integrations } = this.options.config;
    for (const integration of integrations) {
      // No croner `protect`: the shared lock refuses an overlapping run and says so in the log.
      const job = new Cron(
        schedule.cron,
        { timezone: schedule.timezone, name: `assess-${integration.id}` },
        () => this.trigger(integration.id, 'schedule'),
      );
      this.jobs.set(integration.id, job);
    }
    const caughtUp: string[] = [];
    if (!schedule.catchUp) return { caughtUp };
    for (const integration of integrations) {
      if (await this.missedRun(integration.id)) {
        caughtUp.push(integration.id);
        void this.trigger(integration.id, 'catch-up');
      }
    }
    return { caughtUp };
  }

  /** True when no assessment started since the latest scheduled time before now. */
  async missedRun(integrationId: string): Promise<boolean> {
    const job = this.jobs.get(integrationId);
    const previous = job?.previousRuns(1, this.now())[0];
    if (!previous) return false;
    // An interrupted run (still 'running' from before this process started) does not count.
    const last = await this.options.pool.use((db) =>
      db.scalar<string | null>(
        `SELECT max(started_at) FROM assessment WHERE integration_id = $id AND status <> 'running'`,
        { id: integrationId },
      ),
    );
    return !last || new Date(last).getTime() < previous.getTime();
  }

  /** Run one integration now unless it is already running; resolves when the run ends. */
  async trigger(integrationId: string, trigger: RunTrigger): Promise<void> {
    if (this.stopped) return;
    const { log, runs } = this.options;
    try {
      const started = await runs.start(integrationId, trigger);
      log.info(
        { integrationId, trigger, assessmentId: started.assessmentId },
        'assessment started',
      );
      const result = await started.done;
      if (result.error) {
        log.error({ integrationId, trigger, error: result.error }, 'assessment failed');
      } else {
        log.info({ integrationId, trigger, assessmentId: result.assessmentId }, 'assessment ended');
      }
    } catch (err) {
      if (err instanceof ApiError && err.code === 'already-running') {
        log.warn({ integrationId, trigger }, 'skipped: this integration is already running');
        return;
      }
      log.error({ integrationId, trigger, error: errorMessage(err) }, 'assessment could not start');
    }
  }

  list(): ScheduledIntegration[] {
    return [...this.jobs.entries()].map(([integrationId, job]) => ({
      integrationId,
      nextRunAt: job.nextRun()?.toISOString() ?? null,
      previousRunAt: job.previousRuns(1, this.now())[0]?.toISOString() ?? null,
    }));
  }

  stop(): void {
    this.stopped = true;
    for (const job of this.jobs.values()) job.stop();
    this.jobs.clear();
  }
}
