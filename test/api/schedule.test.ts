import { afterEach, describe, expect, it } from 'vitest';
import { Scheduler, type SchedulerLog } from '../../api/schedule.ts';
import type { AssessmentRunner, RunTrigger } from '../../api/services.ts';
import type { Db } from '../../model/db.ts';
import { memoryDb } from '../helpers/db.ts';
import { buildTestApp, type TestApp, testConfig } from './helpers.ts';
import { seedAssessment, seedIntegration } from './seed.ts';

/**
 * A stand-in for the assessment engine (an external interface of the API): it writes an
 * assessment row, half of its principals, waits at a gate, then finishes. Only what the
 * schedule and the lock need.
 */
class GatedRunner implements AssessmentRunner {
  readonly calls: Array<{ integrationId: string; trigger: RunTrigger }> = [];
  readonly maxConcurrent = new Map<string, number>();
  private readonly active = new Map<string, number>();
  private release: () => void = () => {};
  private gate: Promise<void> = Promise.resolve();
  private n = 0;

  constructor(private readonly db: Db) {}

  close(): void {
    this.gate = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  open(): void {
    this.release();
  }

  isRunning(integrationId: string): boolean {
    return (this.active.get(integrationId) ?? 0) > 0;
  }

  async run(integrationId: string, trigger: RunTrigger, onStarted?: (id: string) => void) {
    this.calls.push({ integrationId, trigger });
    const now = (this.active.get(integrationId) ?? 0) + 1;
    this.active.set(integrationId, now);
    this.maxConcurrent.set(
      integrationId,
      Math.max(now, this.maxConcurrent.get(integrationId) ?? 0),
    );
    const assessmentId = `${integrationId}-run-${++this.n}`;
    try {
      await seedAssessment(this.db, {
        id: assessmentId,
        integrationId,
        status: 'running',
        startedDaysAgo: 0,
        accounts: [{ id: '111111111111', name: 'acct' }],
        principals: [
          {
            id: `arn:aws:iam::111111111111:role/${assessmentId}`,
            name: `half-written-${assessmentId}`,
            kind: 'role',
            account: '111111111111',
            status: 'active',
            tier: 'Low',
            risk: 1,
            overprivilege: 1,
            highRisk: null,
            lastUsedDaysAgo: 1,
          },
        ],
      });
      onStarted?.(assessmentId);
      await this.gate;
      await this.db.exec(
        "UPDATE assessment SET status = 'succeeded', stage = 'done', finished_at = now() WHERE assessment_id = $id",
        { id: assessmentId },
      );
      return { assessmentId };
    } finally {
      this.active.set(integrationId, (this.active.get(integrationId) ?? 1) - 1);
    }
  }
}

function collectingLog(): SchedulerLog & { lines: string[] } {
  const lines: string[] = [];
  const write = (obj: object, msg: string) => lines.push(`${msg} ${JSON.stringify(obj)}`);
  return { lines, info: write, warn: write, error: write };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ t: TestApp; runner: GatedRunner; db: Db }> {
  const db = await memoryDb();
  await seedIntegration(db, 'prod');
  await seedAssessment(db, {
    id: 'prod-previous',
    integrationId: 'prod',
    startedDaysAgo: 1,
    accounts: [{ id: '111111111111', name: 'acct' }],
    principals: [
      {
        id: 'arn:aws:iam::111111111111:role/finished',
        name: 'finished',
        kind: 'role',
        account: '111111111111',
        status: 'active',
        tier: 'High',
        risk: 60,
        overprivilege: 40,
        highRisk: 10,
        lastUsedDaysAgo: 1,
      },
    ],
  });
  const runner = new GatedRunner(await db.fork());
  const t = await buildTestApp({ db, services: { runner } });
  cleanups.push(async () => {
    runner.open();
    await t.close();
  });
  return { t, runner, db };
}

describe('schedule', () => {
  it('runs every integration on the cron and never two runs of one integration at once', async () => {
    const { t, runner } = await setup();
    const log = collectingLog();
    runner.close();
    const config = testConfig({ schedule: { cron: '* * * * * *', catchUp: false } });
    const scheduler = new Scheduler({ config, pool: t.app.pool, runs: t.app.runs, log });
    await scheduler.start();
    await new Promise((resolve) => setTimeout(resolve, 3_200));
    scheduler.stop();
    expect(runner.calls.filter((c) => c.integrationId === 'prod')).toEqual([
      { integrationId: 'prod', trigger: 'schedule' },
    ]);
    expect(runner.calls.filter((c) => c.integrationId === 'gcp')).toHaveLength(1);
    expect(runner.maxConcurrent.get('prod')).toBe(1);
    expect(
      log.lines.some(
        (l) => l.startsWith('skipped: this integration is already running') && l.includes('"prod"'),
      ),
    ).toBe(true);
    const now = await t.call('admin', 'POST', '/api/v1/assessments', { integrationId: 'prod' });
    expect(now.statusCode).toBe(409);
    expect(JSON.parse(now.body).error).toBe('already-running');
    runner.open();
    await t.app.runs.idle();
    expect(await t.db.scalar("SELECT count(*) FROM assessment WHERE status = 'running'")).toBe(0);
  });

  it('catches up on start when the last scheduled run was missed', async () => {
    const db = await memoryDb();
    cleanups.push(async () => db.closeAll());
    const insert = (id: string, integration: string, startedAt: string, status = 'succeeded') =>
      db.exec(
        `INSERT INTO assessment (assessment_id, integration_id, status, trigger, stage, started_at, window_start, window_end, dormancy_days, errors)
         VALUES ($id, $i, $status, 'schedule', 'done', CAST($at AS TIMESTAMPTZ), DATE '2026-08-01', DATE '2026-11-01', 90, '[]')`,
        { id, i: integration, at: startedAt, status },
      );
    await insert('p1', 'prod', '2026-11-21T02:00:30Z');
    await insert('g1', 'gcp', '2026-11-22T02:00:05Z');
    await insert('p2', 'prod', '2026-11-22T03:00:00Z', 'running');
    const runner = new GatedRunner(await db.fork());
    const t = await buildTestApp({ db, services: { runner } });
    cleanups.push(async () => {
      await t.app.close();
    });
    const log = collectingLog();
    const scheduler = new Scheduler({
      config: testConfig({ schedule: { cron: '0 2 * * *', timezone: 'UTC', catchUp: true } }),
      pool: t.app.pool,
      runs: t.app.runs,
      log,
      now: () => new Date('2026-11-22T05:00:00Z'),
    });
    const { caughtUp } = await scheduler.start();
    scheduler.stop();
    await t.app.runs.idle();
    expect(caughtUp).toEqual(['prod']);
    expect(runner.calls).toEqual([{ integrationId: 'prod', trigger: 'catch-up' }]);
    expect(scheduler.list()).toEqual([]);
  });

  it('catches up an integration that was never assessed, and not when catch-up is off', async () => {
    const db = await memoryDb();
    const runner = new GatedRunner(await db.fork());
    const t = await buildTestApp({ db, services: { runner } });
    cleanups.push(async () => t.close());
    const make = (catchUp: boolean) =>
      new Scheduler({
        config: testConfig({ schedule: { cron: '0 2 * * *', catchUp } }),
        pool: t.app.pool,
        runs: t.app.runs,
        log: collectingLog(),
      });
    const off = make(false);
    expect((await off.start()).caughtUp).toEqual([]);
    expect(off.list().map((s) => s.integrationId)).toEqual(['prod', 'gcp']);
    expect(Date.parse(off.list()[0]!.nextRunAt!)).toBeGreaterThan(Date.now());
    off.stop();
    const on = make(true);
    expect((await on.start()).caughtUp).toEqual(['prod', 'gcp']);
    on.stop();
    await t.app.runs.idle();
    expect(runner.calls.map((c) => c.trigger)).toEqual(['catch-up', 'catch-up']);
  });
});

describe('API during a run', () => {
  it('keeps answering from the last finished assessment, then switches when the run ends', async () => {
    const { t, runner } = await setup();
    runner.close();
    const started = await t.call('admin', 'POST', '/api/v1/assessments', { integrationId: 'prod' });
    expect(started.statusCode, started.body).toBe(202);
    const { assessmentId } = JSON.parse(started.body) as { assessmentId: string };
    expect(assessmentId).toBe('prod-run-1');

    const during = JSON.parse(
      (await t.call('analyst', 'GET', '/api/v1/principals?integrationId=prod')).body,
    );
    expect(during.scope.map((s: { assessmentId: string }) => s.assessmentId)).toEqual([
      'prod-previous',
    ]);
    expect(during.items.map((i: { name: string }) => i.name)).toEqual(['finished']);
    const widgets = await t.call('analyst', 'GET', '/api/v1/widgets?integrationId=prod');
    expect(widgets.statusCode).toBe(200);
    const integrations = JSON.parse((await t.call('analyst', 'GET', '/api/v1/integrations')).body);
    expect(
      integrations.items.find((i: { integrationId: string }) => i.integrationId === 'prod'),
    ).toMatchObject({
      running: true,
      currentAssessment: { assessmentId: 'prod-previous' },
      lastAssessment: { assessmentId, status: 'running' },
    });
    expect(
      (await t.call('analyst', 'GET', `/api/v1/assessments/${assessmentId}/principals`)).statusCode,
    ).toBe(409);
    expect(
      (await t.call('admin', 'POST', '/api/v1/assessments', { integrationId: 'prod' })).statusCode,
    ).toBe(409);
    const audit = await t.db.one(
      "SELECT * FROM audit_log WHERE action = 'assessment.run' ORDER BY audit_id LIMIT 1",
    );
    expect(audit).toMatchObject({ target: 'prod', outcome: 'success' });
    expect(JSON.parse(String(audit!.details))).toMatchObject({ assessmentId });

    runner.open();
    await t.app.runs.idle();
    const after = JSON.parse(
      (await t.call('analyst', 'GET', '/api/v1/principals?integrationId=prod')).body,
    );
    expect(after.scope.map((s: { assessmentId: string }) => s.assessmentId)).toEqual([
      assessmentId,
    ]);
    expect(runner.calls).toEqual([{ integrationId: 'prod', trigger: 'api' }]);
  });

  it('answers 404 for an integration that is not configured', async () => {
    const { t } = await setup();
    const r = await t.call('admin', 'POST', '/api/v1/assessments', { integrationId: 'nope' });
    expect(r.statusCode).toBe(404);
  });
});
