import { GetUserCommand, type IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../api/auth/tokens.ts';
import { type FixtureCloud, startFixtureCloud } from '../../fixtures/cloud/index.ts';
import { runAssessment } from '../../ingest/assessment.ts';
import { syncFor } from '../../ingest/registry.ts';
import { silentLogger } from '../../lib/log.ts';
import { createRemediationService } from '../../recommend/apply.ts';
import { recommendationStage } from '../../recommend/index.ts';
import { mapCloudTrailEvent } from '../../scoring/catalog/index.ts';
import { ACCESS_KEY_ID, type BuiltWorld, PROD, SECRET } from '../fixtures/cloud/world-builder.ts';
import { memoryDb, tempDir } from '../helpers/db.ts';
import {
  applyConfig,
  buildApplyWorld,
  remediationRole,
  remediationSession,
} from '../recommend/aws-world.ts';
import { find, storedRecommendations } from '../recommend/helpers.ts';
import { buildTestApp, type TestApp } from './helpers.ts';

/**
 * Only admin applies and rolls back, proven with the real remediation service behind the API
 * and the fixture cloud behind it: an analyst's or auditor's attempt is refused before any
 * cloud call (the cloud's IAM write counters do not move) and is audited as denied; the
 * admin's goes through and changes IAM.
 */

let world: BuiltWorld;
let cloud: FixtureCloud;
let t: TestApp;
let iam: IAMClient;
let danRecommendation: string;
const stage = tempDir('ad-remediation-access-');
const DAN = `arn:aws:iam::${PROD}:user/dan`;

async function iamWrites(): Promise<number> {
  const counts = (await (await fetch(`${cloud.url}/__fixture/requests`)).json()) as Record<
    string,
    number
  >;
  return Object.entries(counts)
    .filter(([k]) => /^(iam|sts) (?!Get|List|Generate)/.test(k))
    .reduce((n, [, v]) => n + v, 0);
}

async function boundaryOfDan(): Promise<string | null> {
  const out = await iam.send(new GetUserCommand({ UserName: 'dan' }));
  return out.User?.PermissionsBoundary?.PermissionsBoundaryArn ?? null;
}

beforeAll(async () => {
  world = buildApplyWorld();
  cloud = await startFixtureCloud({ dir: world.dir });
  process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = SECRET;
  const config = applyConfig(cloud.url);
  const db = await memoryDb();
  const result = await runAssessment({
    db,
    config,
    integrationId: 'fixture-org',
    trigger: 'cli',
    logger: silentLogger,
    sync: syncFor({ mapper: (s, n) => mapCloudTrailEvent(s, n), stageDir: stage.dir }),
    stages: [recommendationStage()],
    asOf: world.manifest.endDate,
  });
  expect(result.errors).toEqual([]);
  danRecommendation = find(
    await storedRecommendations(db),
    DAN,
    'dormant-principal',
  ).recommendationId;
  t = await buildTestApp({
    db,
    config,
    services: { remediation: createRemediationService({ db, config }) },
  });
  const session = remediationSession(cloud.url);
  iam = session.iam(session.assumeRole(remediationRole(PROD)));
});

afterAll(async () => {
  await t?.close();
  await cloud?.close();
  world?.cleanup();
  stage.cleanup();
});

/** The API's audit rows of an action (the service writes its own row, with the calls, too). */
async function outcomes(action: string) {
  return t.db.all<{ role: string | null; outcome: string }>(
    'SELECT role, outcome FROM audit_log WHERE action = $a AND request_id IS NOT NULL ORDER BY audit_id',
    { a: action },
  );
}

describe('apply and rollback through the API with the real remediation service', () => {
  it('refuses analysts, auditors and anonymous callers without a cloud call, then applies and rolls back for admin', async () => {
    const boundary = await boundaryOfDan();
    const writes = await iamWrites();
    const apply = `/api/v1/recommendations/${danRecommendation}/apply`;
    for (const role of ['analyst', 'auditor', null] as Array<Role | null>) {
      const r = await t.call(role, 'POST', apply, { option: 'quarantine' });
      expect(r.statusCode, `${role} ${r.body}`).toBe(role ? 403 : 401);
    }
    expect(await iamWrites()).toBe(writes);
    expect(await boundaryOfDan()).toBe(boundary);
    expect(await t.db.scalar<number>('SELECT count(*) FROM remediation')).toBe(0);

    const applied = await t.call('admin', 'POST', apply, { option: 'quarantine' });
    expect(applied.statusCode, applied.body).toBe(201);
    const record = JSON.parse(applied.body) as { remediationId: string; status: string };
    expect(record.status).toBe('applied');
    expect(await iamWrites()).toBeGreaterThan(writes);
    expect(await boundaryOfDan()).toMatch(/AccessDiscoveryQuarantine$/);

    const rollback = `/api/v1/remediations/${record.remediationId}/rollback`;
    const afterApply = await iamWrites();
    for (const role of ['analyst', 'auditor', null] as Array<Role | null>) {
      const r = await t.call(role, 'POST', rollback);
      expect(r.statusCode, `${role} ${r.body}`).toBe(role ? 403 : 401);
    }
    expect(await iamWrites()).toBe(afterApply);
    expect(await boundaryOfDan()).toMatch(/AccessDiscoveryQuarantine$/);

    const rolledBack = await t.call('admin', 'POST', rollback);
    expect(rolledBack.statusCode, rolledBack.body).toBe(200);
    expect(JSON.parse(rolledBack.body).status).toBe('rolled-back');
    expect(await boundaryOfDan()).toBe(boundary);

    expect(await outcomes('remediation.apply')).toEqual([
      { role: 'analyst', outcome: 'denied' },
      { role: 'auditor', outcome: 'denied' },
      { role: null, outcome: 'denied' },
      { role: 'admin', outcome: 'success' },
    ]);
    // The service's own rows name the admin token only: nobody else got as far as the service.
    expect(
      await t.db.all(
        `SELECT DISTINCT actor FROM audit_log
         WHERE action IN ('remediation.apply', 'remediation.rollback') AND request_id IS NULL`,
      ),
    ).toEqual([{ actor: `admin-token (${t.tokens.admin.slice(0, 20)})` }]);
    expect(await outcomes('remediation.rollback')).toEqual([
      { role: 'analyst', outcome: 'denied' },
      { role: 'auditor', outcome: 'denied' },
      { role: null, outcome: 'denied' },
      { role: 'admin', outcome: 'success' },
    ]);
  });
});
