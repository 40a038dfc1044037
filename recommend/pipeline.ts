import { dirname, join } from 'node:path';
import type { AssessmentRunner, RemediationService, RunTrigger } from '../api/services.ts';
import type { Config } from '../config/schema.ts';
import {
  type AssessmentResult,
  type AssessmentStage,
  type AssessmentTrigger,
  runAssessment,
} from '../ingest/assessment.ts';
import { syncFor } from '../ingest/registry.ts';
import type { Logger } from '../lib/log.ts';
import type { Db } from '../model/db.ts';
import { mapCloudTrailEvent } from '../scoring/catalog/index.ts';
import { scoringStage } from '../scoring/engine/score.ts';
import { createRemediationService } from './apply.ts';
import { recommendationStage } from './index.ts';

/**
 * The whole assessment: ingestion (per integration kind), scoring, recommendations. One
 * wiring, used by the CLI (`assess`), the API's runner and schedule, and the demo.
 */

export function assessmentStages(): AssessmentStage[] {
  return [scoringStage, recommendationStage()];
}

export interface FullAssessmentOptions {
  db: Db;
  config: Config;
  integrationId: string;
  trigger: AssessmentTrigger;
  logger: Logger;
  /** Last day of the evidence window; default today (UTC). */
  asOf?: string;
  /** Folder relative import directories resolve against (the config file's folder). */
  baseDir?: string;
  /** Staging folder for log objects; default beside the database file. */
  stageDir?: string;
  onStarted?: (assessmentId: string) => void;
}

export function defaultStageDir(db: Db): string {
  return db.path === ':memory:'
    ? join(process.cwd(), 'data', 'stage')
    : join(dirname(db.path), 'stage');
}

export async function runFullAssessment(options: FullAssessmentOptions): Promise<AssessmentResult> {
  return runAssessment({
    db: options.db,
    config: options.config,
    integrationId: options.integrationId,
    trigger: options.trigger,
    logger: options.logger,
    asOf: options.asOf,
    onStarted: options.onStarted,
    sync: syncFor({
      mapper: (source, name) => mapCloudTrailEvent(source, name),
      stageDir: options.stageDir ?? defaultStageDir(options.db),
      baseDir: options.baseDir,
    }),
    stages: assessmentStages(),
  });
}

/**
 * The API's runner: each run on its own connection, so reads keep answering from the last
 * finished assessment while it writes. One run per integration at a time (the API's
 * coordinator also refuses a second one with 409).
 */
export function createAssessmentRunner(options: {
  db: Db;
  config: Config;
  logger: Logger;
  baseDir?: string;
  asOf?: () => string | undefined;
}): AssessmentRunner {
  const running = new Set<string>();
  return {
    isRunning: (integrationId) => running.has(integrationId),
    async run(
      integrationId: string,
      trigger: RunTrigger,
      onStarted?: (assessmentId: string) => void,
    ) {
      if (running.has(integrationId))
        throw new Error(`an assessment of ${integrationId} is already running`);
      running.add(integrationId);
      const connection = await options.db.fork();
      try {
        const result = await runFullAssessment({
          db: connection,
          config: options.config,
          integrationId,
          trigger,
          logger: options.logger,
          baseDir: options.baseDir,
          asOf: options.asOf?.(),
          onStarted,
        });
        return { assessmentId: result.assessmentId };
      } finally {
        running.delete(integrationId);
        connection.close();
      }
    },
  };
}

export function createRemediation(db: Db, config: Config, logger: Logger): RemediationService {
  return createRemediationService({ db, config, logger });
}
