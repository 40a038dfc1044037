import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../api/auth/tokens.ts';
import { type RunningServer, startServer } from '../../api/server.ts';
import { parseConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { type FixtureCloud, startFixtureCloud } from '../../fixtures/cloud/index.ts';
import { fixtureConfig, fixtureEnvironment } from '../../fixtures/config.ts';
import { generateWorld, readManifest } from '../../fixtures/generate/index.ts';
import type { Manifest } from '../../fixtures/generate/types.ts';
import { silentLogger } from '../../lib/log.ts';
import { Db } from '../../model/db.ts';
import {
  createAssessmentRunner,
  createRemediation,
  runFullAssessment,
} from '../../recommend/pipeline.ts';
import { tempDir } from '../helpers/db.ts';

/**
 * Concurrent use (issue 11): one server, two assessments of different integrations started
 * through the API at once, reads hammered all along, and a remediation applied and rolled back
 * in the middle. The world's AWS organization and GCP organization are each configured twice:
 * `fixture-aws` / `fixture-gcp` are assessed one after the other before the server starts
 * (the sequential reference, and finished assessments to read and remediate), then
 * `fixture-aws-b` / `fixture-gcp-b` are assessed concurrently from an empty ledger and must end
 * with exactly the same usage and scores.
 */

const SEQ = ['fixture-aws', 'fixture-gcp'];
const CONC = ['fixture-aws-b', 'fixture-gcp-b'];

interface Json {
  [key: string]: unknown;
}

let dir: { dir: string; cleanup: () => void };
let manifest: Manifest;
let cloud: FixtureCloud;
let config: Config;
let server: RunningServer;
let token: string;
const savedEnv = { ...process.env };

async function api(
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Json };
}

async function get(path: string): Promise<Json> {
  const { status, json } = await api('GET', path);
  if (status !== 200) throw new Error(`GET ${path}: ${status} ${JSON.stringify(json)}`);
  return json;
}

beforeAll(async () => {
  dir = tempDir('ad-concurrent-');
  await generateWorld({ out: join(dir.dir, 'world'), scale: 'tiny', seed: 11, force: true });
  manifest = readManifest(join(dir.dir, 'world'));
  cloud = await startFixtureCloud({ dir: join(dir.dir, 'world') });
  Object.assign(process.env, fixtureEnvironment(manifest));
  const database = join(dir.dir, 'access-discovery.duckdb');
  const a = fixtureConfig(manifest, cloud.url, { database });
  const b = fixtureConfig(manifest, cloud.url, { database, integrationSuffix: '-b' });
  config = parseConfig({
    ...a,
    integrations: [...(a.integrations as unknown[]), ...(b.integrations as unknown[])],
    server: { rateLimitPerMinute: 1_000_000 },
  });
  const db = await Db.open(database);
  for (const integrationId of SEQ) {
    const result = await runFullAssessment({
      db,
      config,
      integrationId,
      trigger: 'cli',
      logger: silentLogger,
      asOf: manifest.endDate,
    });
    expect(result.status).toBe('succeeded');
  }
  token = (await createToken(db, { name: 'concurrency admin', role: 'admin', createdBy: 'test' }))
    .token;
  server = await startServer({
    config,
    databasePath: database,
    db,
    host: '127.0.0.1',
    port: 0,
    schedule: false,
    services: (served) => ({
      runner: createAssessmentRunner({
        db: served,
        config,
        logger: silentLogger,
        asOf: () => manifest.endDate,
      }),
      remediation: createRemediation(served, config, silentLogger),
    }),
    logger: { stream: process.stderr, level: 'error' },
  });
}, 180_000);

afterAll(async () => {
  await server?.close();
  await cloud?.close();
  dir?.cleanup();
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
});

/** Totals that must not depend on whether the runs were sequential or concurrent. */
async function totals(db: Db, integrationId: string, skipPrincipal: string): Promise<Json> {
  const usage = await db.one(
    `SELECT count(*) AS rows, sum(calls)::BIGINT AS calls, sum(errors)::BIGINT AS errors,
            sum(denied)::BIGINT AS denied, min(first_seen)::VARCHAR AS first, max(last_seen)::VARCHAR AS last
     FROM usage_daily WHERE integration_id = $i`,
    { i: integrationId },
  );
  const identities = await db.one(
    'SELECT count(*) AS rows, sum(calls)::BIGINT AS calls FROM identity_usage WHERE integration_id = $i',
    { i: integrationId },
  );
  const ledger = await db.one(
    `SELECT count(*) AS objects, sum(records)::BIGINT AS records, count(*) FILTER (WHERE status <> 'ok') AS rejected
     FROM ingest_object WHERE integration_id = $i`,
    { i: integrationId },
  );
  const coverage = await db.scalar('SELECT count(*) FROM log_coverage WHERE integration_id = $i', {
    i: integrationId,
  });
  const latest = await db.one<{ id: string; status: string }>(
    `SELECT assessment_id AS id, status FROM assessment WHERE integration_id = $i
     ORDER BY started_at DESC LIMIT 1`,
    { i: integrationId },
  );
  const scores = await db.all(
    `SELECT principal_id, status, risk_score, tier, granted_count, used_count, unused_count,
            unobservable_count, overprivilege_pct, human_identities, machine_identities
     FROM principal_score WHERE assessment_id = $a AND principal_id <> $skip ORDER BY principal_id`,
    { a: latest?.id ?? '', skip: skipPrincipal },
  );
  // The remediated principal may have been read with its quarantine on: leave its policies out.
  const grants = await db.scalar(
    `SELECT count(*) FROM "grant" WHERE assessment_id = $a AND policy_id NOT IN
       (SELECT policy_id FROM principal_policy WHERE assessment_id = $a AND principal_id = $skip)`,
    { a: latest?.id ?? '', skip: skipPrincipal },
  );
  return { status: latest?.status, usage, identities, ledger, coverage, scores, grants };
}

describe('concurrent use', () => {
  it('runs two assessments, reads and a remediation at once with no lost write and no inconsistent read', async () => {
    const db = server.db;
    // What the finished assessments look like before anything starts.
    const finished = await db.all<{ id: string; integration: string; principals: number }>(
      `SELECT assessment_id AS id, integration_id AS integration, principal_count AS principals
       FROM assessment WHERE integration_id IN ('fixture-aws', 'fixture-gcp')`,
    );
    expect(finished).toHaveLength(2);
    const stable = new Map<string, string>();
    const stablePaths: string[] = [];
    for (const f of finished) {
      stablePaths.push(`/assessments/${f.id}/principals?limit=500&sort=principal&order=asc`);
      stablePaths.push(`/assessments/${f.id}/widgets`);
      stablePaths.push(`/assessments/${f.id}`);
    }
    // A remediation target: an applicable quarantine of an AWS principal of the finished run.
    const rec = await db.one<{ id: string; principal: string }>(
      `SELECT recommendation_id AS id, principal_id AS principal FROM recommendation
       WHERE integration_id = 'fixture-aws' AND state = 'open'
         AND list_contains(list_transform(from_json(options, '["JSON"]'),
               o -> (o->>'type') || ':' || (o->>'applicable')), 'quarantine:true')
       ORDER BY severity, recommendation_id LIMIT 1`,
    );
    expect(rec, 'an applicable quarantine in the tiny world').toBeDefined();
    const detailPaths = (
      await db.all<{ p: string }>(
        `SELECT principal_id AS p FROM principal_score WHERE assessment_id IN (SELECT assessment_id FROM assessment WHERE integration_id IN ('fixture-aws','fixture-gcp'))
           AND principal_id <> $skip ORDER BY risk_score DESC, principal_id LIMIT 6`,
        { skip: rec!.principal },
      )
    ).map(
      (r) =>
        `/principals/${encodeURIComponent(r.p)}?integrationId=${r.p.startsWith('arn:') ? 'fixture-aws' : 'fixture-gcp'}`,
    );
    stablePaths.push(...detailPaths);

    // Start both runs at once.
    const started = await Promise.all(
      CONC.map((integrationId) => api('POST', '/assessments', { integrationId })),
    );
    for (const s of started) expect(s.status, JSON.stringify(s.json)).toBe(202);
    const runIds = started.map((s) => s.json.assessmentId as string);
    expect(runIds.every((id) => typeof id === 'string')).toBe(true);

    let running = true;
    let runningAtApply = 0;
    const problems: string[] = [];
    let reads = 0;
    // Default-scope reads: (scope, total) pairs, checked against the final counts afterwards.
    const scoped: Array<{ scope: string[]; total: number }> = [];
    const runReads: Array<{ id: string; total: number }> = [];

    const hammer = async (worker: number) => {
      let i = worker;
      while (running) {
        i += 1;
        const path = stablePaths[i % stablePaths.length]!;
        const body = JSON.stringify(await get(path));
        reads += 1;
        if (body !== stable.get(path))
          problems.push(`read of a finished assessment changed: ${path}`);
        const list = await get('/principals?limit=1');
        reads += 1;
        const scope = (list.scope as Array<{ assessmentId: string }>).map((s) => s.assessmentId);
        scoped.push({ scope, total: list.total as number });
        for (const id of runIds) {
          const r = await api('GET', `/assessments/${id}/principals?limit=1`);
          reads += 1;
          if (r.status === 200) runReads.push({ id, total: r.json.total as number });
          else if (r.status !== 409) problems.push(`running assessment read: ${r.status}`);
        }
      }
    };

    const remediate = async () => {
      const applied = await api('POST', `/recommendations/${rec!.id}/apply`, {
        option: 'quarantine',
      });
      runningAtApply = (await Promise.all(runIds.map((id) => get(`/assessments/${id}`)))).filter(
        (a) => a.status === 'running',
      ).length;
      expect(applied.status, JSON.stringify(applied.json)).toBe(201);
      expect(applied.json.status).toBe('applied');
      const back = await api('POST', `/remediations/${applied.json.remediationId}/rollback`);
      expect(back.status, JSON.stringify(back.json)).toBe(200);
      expect(back.json.status).toBe('rolled-back');
      return applied.json.remediationId as string;
    };

    // A write through the API while the runs write: an ignore rule.
    const ignoredPrincipal = String(
      await db.scalar(
        `SELECT principal_id FROM principal_score WHERE integration_id = 'fixture-aws'
           AND principal_id <> $skip ORDER BY risk_score, principal_id LIMIT 1`,
        { skip: rec!.principal },
      ),
    );
    expect(detailPaths.some((p) => p.includes(encodeURIComponent(ignoredPrincipal)))).toBe(false);
    const ignored = await api(
      'POST',
      `/principals/${encodeURIComponent(ignoredPrincipal)}/ignore`,
      { reason: 'concurrency test', integrationId: 'fixture-aws' },
    );
    expect(ignored.status, JSON.stringify(ignored.json)).toBe(201);
    // What the finished assessments look like from now on (the runs are going).
    for (const path of stablePaths) stable.set(path, JSON.stringify(await get(path)));

    const readers = [0, 1, 2].map((w) =>
      hammer(w).catch((err: unknown) => {
        running = false;
        problems.push(`reader ${w} failed: ${String(err)}`);
      }),
    );
    const remediationId = await remediate();
    // Wait for both runs to end, then stop the readers.
    for (;;) {
      const states = await Promise.all(runIds.map((id) => get(`/assessments/${id}`)));
      if (states.every((s) => s.status !== 'running')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    running = false;
    await Promise.all(readers);

    expect(problems).toEqual([]);
    expect(reads).toBeGreaterThan(20);
    // The remediation did overlap the runs.
    expect(runningAtApply).toBeGreaterThan(0);

    // Every finished read of a concurrent run saw the whole run.
    const counts = new Map(
      (
        await db.all<{ id: string; n: number }>(
          'SELECT assessment_id AS id, principal_count AS n FROM assessment',
        )
      ).map((r) => [r.id, r.n]),
    );
    for (const r of runReads) expect(r.total, `read of ${r.id}`).toBe(counts.get(r.id));
    for (const s of scoped) {
      const expected = s.scope.reduce((n, id) => n + (counts.get(id) ?? Number.NaN), 0);
      expect(s.total, `principals over ${s.scope.join(', ')}`).toBe(expected);
    }

    // No lost write: the concurrent runs hold exactly what the sequential ones hold.
    for (const [i, integrationId] of CONC.entries()) {
      const reference = await totals(db, SEQ[i]!, rec!.principal);
      const concurrent = await totals(db, integrationId, rec!.principal);
      expect(concurrent).toEqual(reference);
    }
    const audit = await db.all<{ action: string; outcome: string; target: string }>(
      `SELECT action, outcome, target FROM audit_log
       WHERE action IN ('assessment.run', 'remediation.apply', 'remediation.rollback') ORDER BY audit_id`,
    );
    expect(
      audit
        .filter((a) => a.action === 'assessment.run')
        .map((a) => a.target)
        .sort(),
    ).toEqual(CONC);
    // The API and the remediation engine each record the apply and the rollback.
    const remediationAudit = audit.filter((a) => a.action.startsWith('remediation.'));
    expect(new Set(remediationAudit.map((a) => `${a.action} ${a.outcome}`))).toEqual(
      new Set(['remediation.apply success', 'remediation.rollback success']),
    );
    const remediation = await db.one(
      'SELECT status, rollback_calls IS NOT NULL AS rolled FROM remediation WHERE remediation_id = $id',
      { id: remediationId },
    );
    expect(remediation).toEqual({ status: 'rolled-back', rolled: true });
    // The ignore rule written mid-run holds, for its integration only.
    const flagged = await get(
      `/principals?limit=500&filter=${encodeURIComponent('ignored = true')}`,
    );
    expect((flagged.items as Array<{ principalId: string }>).map((p) => p.principalId)).toEqual([
      ignoredPrincipal,
    ]);
    // The reads of the finished assessments are the same after it all.
    for (const path of stablePaths) expect(JSON.stringify(await get(path))).toBe(stable.get(path));
  }, 240_000);
});
