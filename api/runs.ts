import type { FastifyBaseLogger } from 'fastify';
import { errorMessage } from '../lib/errors.ts';
import { ApiError, notConfigured } from './errors.ts';
import type { AssessmentRunner, RunTrigger } from './services.ts';

export interface StartedRun {
  /** Id of the assessment row, once the runner reported it; null if it ended before saying. */
  assessmentId: string | null;
  /** Settles when the run ends; never rejects (failures are logged). */
  done: Promise<{ assessmentId: string | null; error?: string }>;
}

/**
 * One lock per integration shared by the schedule and the run-now endpoint, so that two
 * assessments of one integration never run at once.
 */
export class RunCoordinator {
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly finishedListeners: Array<(integrationId: string, assessmentId: string) => void> =
    [];

  /** Called after every run that ended with an assessment id (caches reset, reads warmed). */
  onFinished(listener: (integrationId: string, assessmentId: string) => void): void {
    this.finishedListeners.push(listener);
  }

  /**
   * `onRunning` hears the number of runs in flight whenever it changes (the server switches
   * DuckDB's threads between reads and assessments); its failures are logged, never thrown.
   */
  constructor(
    private readonly runner: AssessmentRunner | undefined,
    private readonly log: FastifyBaseLogger | undefined,
    private readonly onRunning?: (running: number) => Promise<void>,
  ) {}

  private async notifyRunning(): Promise<void> {
    try {
      await this.onRunning?.(this.inFlight.size);
    } catch (err) {
      this.log?.error({ err }, 'adjusting DuckDB threads failed');
    }
  }

  get configured(): boolean {
    return this.runner !== undefined;
  }

  isRunning(integrationId: string): boolean {
    return this.inFlight.has(integrationId) || (this.runner?.isRunning(integrationId) ?? false);
  }

  /**
   * Start a run; resolves once the assessment row exists (or the run ended first). Throws a
   * 409 ApiError when the integration is already running, 503 when no runner is configured.
   */
  async start(integrationId: string, trigger: RunTrigger): Promise<StartedRun> {
    const runner = this.runner;
    if (!runner) throw notConfigured('running assessments');
    if (this.isRunning(integrationId)) {
      throw new ApiError(
        409,
        'already-running',
        `an assessment of integration ${integrationId} is already running`,
        { integrationId },
      );
    }
    let reportStarted: (id: string) => void = () => {};
    const started = new Promise<string>((resolve) => {
      reportStarted = resolve;
    });
    this.inFlight.set(integrationId, started);
    await this.notifyRunning();
    const run = runner.run(integrationId, trigger, (id) => reportStarted(id));
    this.inFlight.set(integrationId, run);
    const done: StartedRun['done'] = run.then(
      (result) => ({ assessmentId: result.assessmentId }),
      (err: unknown) => {
        this.log?.error({ err, integrationId, trigger }, 'assessment run failed');
        return { assessmentId: null, error: errorMessage(err) };
      },
    );
    void done.then(async (result) => {
      this.inFlight.delete(integrationId);
      await this.notifyRunning();
      if (result.assessmentId === null) return;
      for (const listener of this.finishedListeners) {
        try {
          listener(integrationId, result.assessmentId);
        } catch (err) {
          this.log?.error({ err, integrationId }, 'after-run listener failed');
        }
      }
    });
    const first: { assessmentId: string | null; error?: string } = await Promise.race([
      started.then((assessmentId) => ({ assessmentId })),
      done,
    ]);
    if (first.error !== undefined && first.assessmentId === null) {
      throw new ApiError(500, 'run-failed', `the assessment of ${integrationId} could not start`);
    }
    return { assessmentId: first.assessmentId, done };
  }

  /** Resolves when every run in progress has ended (for shutdown and tests). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.inFlight.values()]);
  }
}
