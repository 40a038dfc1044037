import { randomBytes } from 'node:crypto';
import type { Config, IntegrationConfig } from '../config/schema.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { Db } from '../model/db.ts';

/**
 * One assessment = one run over one integration: inventory, usage, then the later stages
 * (scoring, recommendations) handed in by the caller. The run is recorded in `assessment`
 * with its stage, progress, errors and final status; an interrupted run is marked failed by
 * the next one, which starts afresh (usage ingestion resumes from the ledger, so nothing is
 * counted twice).
 */

export type AssessmentStatus = 'running' | 'succeeded' | 'partial' | 'failed';
export type AssessmentTrigger = 'cli' | 'api' | 'schedule' | 'catch-up' | 'demo';

export interface AssessmentError {
  accountId?: string | undefined;
  service?: string | undefined;
  call?: string | undefined;
  message: string;
}

export interface AssessmentWindow {
  /** First day, YYYY-MM-DD (UTC). */
  start: string;
  /** Last day, YYYY-MM-DD (UTC). */
  end: string;
  days: number;
}

export function evidenceWindow(lookbackDays: number, asOf?: string): AssessmentWindow {
  const end = asOf ?? new Date().toISOString().slice(0, 10);
  const endMs = Date.parse(`${end}T00:00:00Z`);
  if (Number.isNaN(endMs)) throw new Error(`not a date: ${end}`);
  const start = new Date(endMs - (lookbackDays - 1) * 86_400_000).toISOString().slice(0, 10);
  return { start, end, days: lookbackDays };
}

/** Handle for the stages of a running assessment. */
export class AssessmentRun {
  readonly db: Db;
  readonly assessmentId: string;
  readonly integration: IntegrationConfig;
  readonly config: Config;
  readonly window: AssessmentWindow;
  readonly logger: Logger;
  readonly errors: AssessmentError[] = [];
  private lastBeat = 0;

  constructor(init: {
    db: Db;
    assessmentId: string;
    integration: IntegrationConfig;
    config: Config;
    window: AssessmentWindow;
    logger: Logger;
  }) {
    this.db = init.db;
    this.assessmentId = init.assessmentId;
    this.integration = init.integration;
    this.config = init.config;
    this.window = init.window;
    this.logger = init.logger;
  }

  get integrationId(): string {
    return this.integration.id;
  }

  /** Record a failure that does not stop the run (one account, one object, one project). */
  async recordError(error: AssessmentError): Promise<void> {
    this.errors.push(error);
    const where = [error.accountId, error.service, error.call].filter(Boolean).join(' ');
    this.logger.warn(`${where ? `${where}: ` : ''}${error.message}`);
    await this.db.exec(
      'UPDATE assessment SET errors = $errors, heartbeat_at = now() WHERE assessment_id = $id',
      { errors: JSON.stringify(this.errors), id: this.assessmentId },
    );
  }

  async stage(stage: string): Promise<void> {
    this.logger.progress(`[${this.integrationId}] ${stage}`);
    await this.db.exec(
      'UPDATE assessment SET stage = $stage, heartbeat_at = now() WHERE assessment_id = $id',
      {
        stage,
        id: this.assessmentId,
      },
    );
  }

  /** Progress counters of the current stage; written at most once a second. */
  async progress(counters: Record<string, number | string>, message?: string): Promise<void> {
    if (message) this.logger.progress(`[${this.integrationId}] ${message}`);
    const now = Date.now();
    if (now - this.lastBeat < 1000) return;
    this.lastBeat = now;
    await this.db.exec(
      'UPDATE assessment SET progress = $progress, heartbeat_at = now() WHERE assessment_id = $id',
      {
        progress: JSON.stringify(counters),
        id: this.assessmentId,
      },
    );
  }

  async addCounts(counts: { events?: number; objects?: number; rejected?: number }): Promise<void> {
    await this.db.exec(
      `UPDATE assessment SET event_count = coalesce(event_count, 0) + $events,
         object_count = coalesce(object_count, 0) + $objects,
         rejected_object_count = coalesce(rejected_object_count, 0) + $rejected
       WHERE assessment_id = $id`,
      {
        events: counts.events ?? 0,
        objects: counts.objects ?? 0,
        rejected: counts.rejected ?? 0,
        id: this.assessmentId,
      },
    );
  }
}

/** A stage after ingestion (scoring, recommendations). */
export interface AssessmentStage {
  name: string;
  run(run: AssessmentRun): Promise<void>;
}

/** Ingests one integration into the snapshot of `run` (inventory, then usage). */
export type IntegrationSync = (run: AssessmentRun) => Promise<void>;

export interface RunAssessmentOptions {
  db: Db;
  config: Config;
  integrationId: string;
  trigger: AssessmentTrigger;
  logger: Logger;
  sync: IntegrationSync;
  stages?: AssessmentStage[];
  /** Last day of the evidence window (YYYY-MM-DD); default today (UTC). */
  asOf?: string;
  /** Called once the assessment row exists (status running). */
  onStarted?: (assessmentId: string) => void;
}

export interface AssessmentResult {
  assessmentId: string;
  status: AssessmentStatus;
  errors: AssessmentError[];
}

export async function upsertIntegration(
  db: Db,
  integration: IntegrationConfig,
  owner: string | undefined,
): Promise<void> {
  await db.exec(
    `INSERT INTO integration (integration_id, kind, name, owner, config, created_at, updated_at)
     VALUES ($id, $kind, $name, $owner, $config, now(), now())
     ON CONFLICT DO UPDATE SET kind = excluded.kind, name = excluded.name, owner = excluded.owner,
       updated_at = CASE WHEN integration.config::VARCHAR = excluded.config::VARCHAR THEN integration.updated_at ELSE now() END,
       config = excluded.config`,
    {
      id: integration.id,
      kind: integration.kind,
      name: integration.name ?? integration.id,
      owner: integration.owner ?? owner ?? null,
      config: JSON.stringify(integration),
    },
  );
}

function newAssessmentId(integrationId: string): string {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${integrationId}-${stamp}-${randomBytes(3).toString('hex')}`;
}

export async function runAssessment(options: RunAssessmentOptions): Promise<AssessmentResult> {
  const { db, config, logger } = options;
  const integration = config.integrations.find((i) => i.id === options.integrationId);
  if (!integration) throw new Error(`no integration "${options.integrationId}" in the config`);
  const window = evidenceWindow(config.lookbackDays, options.asOf);
  await upsertIntegration(db, integration, config.owner);

  // A run still marked running belongs to a process that died; this run supersedes it.
  await db.exec(
    `UPDATE assessment SET status = 'failed', finished_at = now(),
       errors = to_json(list_append(from_json(errors, '["JSON"]'),
         json_object('message', 'interrupted: the process stopped before the run finished')))
     WHERE integration_id = $id AND status = 'running'`,
    { id: integration.id },
  );

  const assessmentId = newAssessmentId(integration.id);
  await db.exec(
    `INSERT INTO assessment (assessment_id, integration_id, status, trigger, stage, started_at, heartbeat_at,
                             window_start, window_end, dormancy_days, errors)
     VALUES ($id, $integration, 'running', $trigger, 'inventory', now(), now(), $start::DATE, $end::DATE, $dormancy, '[]')`,
    {
      id: assessmentId,
      integration: integration.id,
      trigger: options.trigger,
      start: window.start,
      end: window.end,
      dormancy: config.dormancyDays,
    },
  );
  options.onStarted?.(assessmentId);
  const run = new AssessmentRun({ db, assessmentId, integration, config, window, logger });
  logger.info(
    `assessment ${assessmentId}: ${integration.kind} ${integration.id}, window ${window.start}..${window.end}`,
  );

  let status: AssessmentStatus;
  try {
    await options.sync(run);
    for (const stage of options.stages ?? []) {
      await run.stage(stage.name);
      await stage.run(run);
    }
    status = run.errors.length > 0 ? 'partial' : 'succeeded';
  } catch (err) {
    status = 'failed';
    await run.recordError({ message: errorMessage(err) });
  }
  await db.exec(
    `UPDATE assessment SET status = $status, stage = 'done', finished_at = now(), heartbeat_at = now(),
       account_count = (SELECT count(*) FROM account WHERE assessment_id = $id AND inventory_status = 'ok'),
       principal_count = (SELECT count(*) FROM principal WHERE assessment_id = $id)
     WHERE assessment_id = $id`,
    { status, id: assessmentId },
  );
  logger.info(
    `assessment ${assessmentId} ${status}${run.errors.length ? ` with ${run.errors.length} errors` : ''}`,
  );
  return { assessmentId, status, errors: run.errors };
}
