import {
  DeleteUserPermissionsBoundaryCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  type IAMClient,
  PutUserPermissionsBoundaryCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../config/schema.ts';
import { type FixtureCloud, startFixtureCloud } from '../../fixtures/cloud/index.ts';
import { runAssessment } from '../../ingest/assessment.ts';
import { syncFor } from '../../ingest/registry.ts';
import { RemediationError } from '../../lib/errors.ts';
import { silentLogger } from '../../lib/log.ts';
import type { Db } from '../../model/db.ts';
import { createRemediationService } from '../../recommend/apply.ts';
import { recommendationStage } from '../../recommend/index.ts';
import type { RemediationService } from '../../recommend/types.ts';
import { mapCloudTrailEvent } from '../../scoring/catalog/index.ts';
import { ACCESS_KEY_ID, type BuiltWorld, PROD, SECRET } from '../fixtures/cloud/world-builder.ts';
import { memoryDb, tempDir } from '../helpers/db.ts';
import {
  applyConfig,
  buildApplyWorld,
  DEV_BOUNDARY,
  remediationRole,
  remediationSession,
} from './aws-world.ts';
import { find, type StoredRecommendation, storedRecommendations } from './helpers.ts';

/**
 * Apply and rollback against the fixture cloud: the real ingestion builds the snapshot, the
 * recommendation stage proposes, the remediation service changes IAM through the remediation
 * role, and every result is read back from the cloud with the SDK.
 */

let world: BuiltWorld;
let cloud: FixtureCloud;
let config: Config;
let db: Db;
let service: RemediationService;
let iam: IAMClient;
let recs: StoredRecommendation[];
const stage = tempDir('ad-rec-stage-');

const DAN = `arn:aws:iam::${PROD}:user/dan`;
const BOB = `arn:aws:iam::${PROD}:user/people/bob`;
const APP_DEPLOYER = `arn:aws:iam::${PROD}:role/app/app-deployer`;
const QUARANTINE = `arn:aws:iam::${PROD}:policy/AccessDiscoveryQuarantine`;

async function boundaryOf(userName: string): Promise<string | null> {
  const out = await iam.send(new GetUserCommand({ UserName: userName }));
  return out.User?.PermissionsBoundary?.PermissionsBoundaryArn ?? null;
}

async function policyExists(arn: string): Promise<boolean> {
  try {
    await iam.send(new GetPolicyCommand({ PolicyArn: arn }));
    return true;
  } catch (err) {
    if ((err as Error).name === 'NoSuchEntityException' || (err as Error).name === 'NoSuchEntity')
      return false;
    throw err;
  }
}

async function auditRows(target: string) {
  return db.all<{ action: string; outcome: string; actor: string; details: string }>(
    'SELECT action, outcome, actor, details FROM audit_log WHERE target = $t ORDER BY audit_id',
    { t: target },
  );
}

/** IAM and STS requests the fixture cloud has served, from its /__fixture/requests counter. */
async function iamAndStsRequests(): Promise<number> {
  const counts = (await (await fetch(`${cloud.url}/__fixture/requests`)).json()) as Record<
    string,
    number
  >;
  return Object.entries(counts)
    .filter(([k]) => k.startsWith('iam ') || k.startsWith('sts '))
    .reduce((n, [, v]) => n + v, 0);
}

beforeAll(async () => {
  world = buildApplyWorld();
  cloud = await startFixtureCloud({ dir: world.dir });
  process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = SECRET;
  config = applyConfig(cloud.url);
  db = await memoryDb();
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
  recs = await storedRecommendations(db);
  service = createRemediationService({ db, config });
  const session = remediationSession(cloud.url);
  iam = session.iam(session.assumeRole(remediationRole(PROD)));
});

afterAll(async () => {
  db?.closeAll();
  await cloud?.close();
  world?.cleanup();
  stage.cleanup();
});

beforeEach(() => {
  cloud.setFaults([]);
});

describe('remediation through the fixture cloud', () => {
  it('finds the expected recommendations in the ingested world, with owners', () => {
    const dormant = find(recs, DAN, 'dormant-principal');
    expect(dormant).toMatchObject({ state: 'open', owner: 'data-team', ownerSource: 'tag' });
    expect(find(recs, BOB, 'unused-privileged-permissions').ownerSource).toBe('integration');
    expect(recs.some((r) => r.principalId.includes('AWSServiceRoleForSupport'))).toBe(false);
    // Access Discovery's own roles are never recommended away.
    expect(recs.some((r) => /AccessDiscovery(ReadOnly|Remediation)$/.test(r.principalId))).toBe(
      false,
    );
  });

  it('previews the exact calls of a quarantine without a single cloud call', async () => {
    const rec = find(recs, DAN, 'dormant-principal');
    const before = await iamAndStsRequests();
    expect(before).toBeGreaterThan(0);
    const preview = await service.preview(rec.recommendationId, 'quarantine');
    expect(await iamAndStsRequests()).toBe(before);
    expect(preview.calls.map((c) => c.operation)).toEqual([
      'AssumeRole',
      'GetUser',
      'GetPolicy',
      'CreatePolicy',
      'PutUserPermissionsBoundary',
      'GetUser',
    ]);
    expect(preview.calls[4]!.parameters).toEqual({
      UserName: 'dan',
      PermissionsBoundary: QUARANTINE,
    });
    expect(preview.currentState).toMatchObject({ boundaryPolicyId: DEV_BOUNDARY });
    expect(preview.accountId).toBe(PROD);
  });

  it('quarantines a dormant user that had a boundary, and rollback restores that boundary exactly', async () => {
    const rec = find(recs, DAN, 'dormant-principal');
    const applied = await service.apply(rec.recommendationId, 'quarantine', 'cli:tester');
    expect(applied.status).toBe('applied');
    expect(applied.previousState).toMatchObject({
      type: 'boundary',
      previousBoundaryArn: DEV_BOUNDARY,
      appliedBoundaryArn: QUARANTINE,
      createdPolicyArn: QUARANTINE,
    });
    expect(await boundaryOf('dan')).toBe(QUARANTINE);
    const doc = await iam.send(
      new GetPolicyVersionCommand({ PolicyArn: QUARANTINE, VersionId: 'v1' }),
    );
    expect(JSON.parse(decodeURIComponent(doc.PolicyVersion!.Document!))).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'AccessDiscoveryQuarantineDenyAll', Effect: 'Deny', Action: '*', Resource: '*' },
      ],
    });
    const state = await db.one<{ state: string; rank: number; state_reason: string }>(
      'SELECT state, rank, state_reason FROM recommendation WHERE recommendation_id = $id',
      { id: rec.recommendationId },
    );
    expect(state).toEqual({
      state: 'applied',
      rank: 0,
      state_reason: `remediation ${applied.remediationId}`,
    });

    const rolled = await service.rollback(applied.remediationId, 'cli:tester');
    expect(rolled).toMatchObject({
      status: 'rolled-back',
      rolledBackBy: 'cli:tester',
      error: null,
    });
    expect(await boundaryOf('dan')).toBe(DEV_BOUNDARY);
    expect(await policyExists(QUARANTINE)).toBe(false);
    expect(rolled.rollbackCalls!.map((c) => (c as { operation: string }).operation)).toEqual([
      'GetUser',
      'PutUserPermissionsBoundary',
      'GetPolicy',
      'DeletePolicy',
      'GetUser',
    ]);
    const reopened = await db.one<{ state: string; rank: number }>(
      'SELECT state, rank FROM recommendation WHERE recommendation_id = $id',
      { id: rec.recommendationId },
    );
    expect(reopened).toEqual({ state: 'open', rank: 1 });
    const audit = await auditRows(applied.remediationId);
    expect(audit.map((a) => [a.action, a.outcome, a.actor])).toEqual([
      ['remediation.apply', 'success', 'cli:tester'],
      ['remediation.rollback', 'success', 'cli:tester'],
    ]);
  });

  it('custom-quarantines a user inside its existing boundary and rolls back to it', async () => {
    const rec = find(recs, BOB, 'unused-privileged-permissions');
    const option = rec.options.find((o) => o.type === 'custom-quarantine')!;
    const artifact = option.artifacts.find((a) => a.policy?.kind === 'boundary')!;
    const arn = `arn:aws:iam::${PROD}:policy/${artifact.policy!.name}`;
    const applied = await service.apply(
      rec.recommendationId,
      'custom-quarantine',
      'api:admin-token',
    );
    expect(await boundaryOf('bob')).toBe(arn);
    const live = await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v1' }));
    const doc = JSON.parse(decodeURIComponent(live.PolicyVersion!.Document!)) as {
      Statement: unknown[];
    };
    expect(doc).toEqual(JSON.parse(artifact.content));
    expect(doc.Statement[0]).toEqual({
      Sid: 'DevScope',
      Effect: 'Allow',
      Action: ['s3:*', 'iam:*', 'ec2:Describe*', 'lambda:*'],
      Resource: '*',
    });

    await service.rollback(applied.remediationId, 'api:admin-token');
    expect(await boundaryOf('bob')).toBe(DEV_BOUNDARY);
    expect(await policyExists(arn)).toBe(false);
  });

  it('refuses a custom quarantine when the boundary changed since the assessment, changing nothing', async () => {
    const rec = find(recs, BOB, 'unused-privileged-permissions');
    await iam.send(new DeleteUserPermissionsBoundaryCommand({ UserName: 'bob' }));
    try {
      const error = await service
        .apply(rec.recommendationId, 'custom-quarantine', 'cli:tester')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemediationError);
      expect((error as Error).message).toMatch(/boundary of .*bob changed since the assessment/);
      expect(await boundaryOf('bob')).toBeNull();
      const row = await db.one<{ remediation_id: string; status: string; calls: string }>(
        `SELECT remediation_id, status, calls FROM remediation WHERE recommendation_id = $r ORDER BY applied_at DESC LIMIT 1`,
        { r: rec.recommendationId },
      );
      expect(row?.status).toBe('failed');
      const calls = JSON.parse(row!.calls) as Array<{ operation: string }>;
      expect(calls.map((c) => c.operation)).toEqual(['GetUser']);
      expect((await auditRows(row!.remediation_id))[0]).toMatchObject({
        action: 'remediation.apply',
        outcome: 'failed',
      });
    } finally {
      await iam.send(
        new PutUserPermissionsBoundaryCommand({
          UserName: 'bob',
          PermissionsBoundary: DEV_BOUNDARY,
        }),
      );
    }
  });

  it('undoes a half-applied quarantine when putting the boundary fails', async () => {
    const rec = find(recs, DAN, 'dormant-principal');
    cloud.setFaults([
      { kind: 'access-denied', service: 'iam', operation: 'PutUserPermissionsBoundary' },
    ]);
    const error = await service
      .apply(rec.recommendationId, 'quarantine', 'cli:tester')
      .catch((e: unknown) => e);
    cloud.setFaults([]);
    expect(error).toBeInstanceOf(RemediationError);
    const row = await db.one<{ status: string; error: string; rollback_calls: string }>(
      `SELECT status, error, rollback_calls FROM remediation WHERE recommendation_id = $r ORDER BY applied_at DESC LIMIT 1`,
      { r: rec.recommendationId },
    );
    expect(row?.status).toBe('failed');
    expect(row?.error).toMatch(/AccessDenied/);
    const undo = JSON.parse(row!.rollback_calls) as Array<{ operation: string }>;
    expect(undo.map((c) => c.operation)).toContain('DeletePolicy');
    expect(await policyExists(QUARANTINE)).toBe(false);
    expect(await boundaryOf('dan')).toBe(DEV_BOUNDARY);
    const state = await db.scalar<string>(
      'SELECT state FROM recommendation WHERE recommendation_id = $id',
      {
        id: rec.recommendationId,
      },
    );
    expect(state).toBe('open');
  });

  it('refuses to roll back over a change made since, then rolls back once the change is undone', async () => {
    const rec = find(recs, DAN, 'dormant-principal');
    const applied = await service.apply(rec.recommendationId, 'quarantine', 'cli:tester');
    // Someone replaces the quarantine by hand.
    await iam.send(
      new PutUserPermissionsBoundaryCommand({ UserName: 'dan', PermissionsBoundary: DEV_BOUNDARY }),
    );
    const error = await service
      .rollback(applied.remediationId, 'cli:tester')
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/changed since the remediation/);
    const failed = await db.one<{ status: string }>(
      'SELECT status FROM remediation WHERE remediation_id = $id',
      {
        id: applied.remediationId,
      },
    );
    expect(failed?.status).toBe('rollback-failed');
    expect(await boundaryOf('dan')).toBe(DEV_BOUNDARY);

    await iam.send(
      new PutUserPermissionsBoundaryCommand({ UserName: 'dan', PermissionsBoundary: QUARANTINE }),
    );
    const rolled = await service.rollback(applied.remediationId, 'cli:tester');
    expect(rolled.status).toBe('rolled-back');
    expect(await boundaryOf('dan')).toBe(DEV_BOUNDARY);
    const audit = await auditRows(applied.remediationId);
    expect(audit.map((a) => `${a.action}:${a.outcome}`)).toEqual([
      'remediation.apply:success',
      'remediation.rollback:failed',
      'remediation.rollback:success',
    ]);
  });

  it('puts and removes the deny rule of an overprivileged policy as an inline policy', async () => {
    const rec = find(
      recs,
      APP_DEPLOYER,
      'overprivileged-policy',
      `arn:aws:iam::${PROD}:policy/app-deploy`,
    );
    const option = rec.options.find((o) => o.type === 'custom-quarantine')!;
    const artifact = option.artifacts.find((a) => a.policy)!;
    expect(artifact.policy!.kind).toBe('inline-role');
    const applied = await service.apply(rec.recommendationId, 'custom-quarantine', 'cli:tester');
    const got = await iam.send(
      new GetRolePolicyCommand({ RoleName: 'app-deployer', PolicyName: artifact.policy!.name }),
    );
    expect(JSON.parse(decodeURIComponent(got.PolicyDocument!))).toEqual(
      JSON.parse(artifact.content),
    );
    await service.rollback(applied.remediationId, 'cli:tester');
    const gone = await iam
      .send(
        new GetRolePolicyCommand({ RoleName: 'app-deployer', PolicyName: artifact.policy!.name }),
      )
      .catch((e: Error) => e.name);
    expect(gone).toMatch(/NoSuchEntity/);
  });

  it('quarantines two principals of one account with one shared boundary policy, and both roll back', async () => {
    const first = find(recs, DAN, 'dormant-principal');
    const second = recs.find(
      (r) =>
        r.principalId !== DAN &&
        r.principalId.startsWith(`arn:aws:iam::${PROD}:`) &&
        r.state === 'open' &&
        r.options.some((o) => o.type === 'quarantine'),
    );
    expect(
      second,
      JSON.stringify(recs.map((r) => [r.principalId, r.kind, r.options.map((o) => o.type)])),
    ).toBeDefined();
    const counts = async () =>
      (await (await fetch(`${cloud.url}/__fixture/requests`)).json()) as Record<string, number>;
    const createsBefore = (await counts())['iam CreatePolicy'] ?? 0;

    const a = await service.apply(first.recommendationId, 'quarantine', 'cli:tester');
    const b = await service.apply(second!.recommendationId, 'quarantine', 'cli:tester');
    expect([a.status, b.status]).toEqual(['applied', 'applied']);
    expect(((await counts())['iam CreatePolicy'] ?? 0) - createsBefore).toBe(1);
    expect(a.previousState).toMatchObject({ appliedBoundaryArn: QUARANTINE });
    expect(b.previousState).toMatchObject({ appliedBoundaryArn: QUARANTINE });
    const usage = await iam.send(new GetPolicyCommand({ PolicyArn: QUARANTINE }));
    expect(usage.Policy?.PermissionsBoundaryUsageCount).toBe(2);

    // Rolled back in the order applied: the policy stays while the second still uses it, and
    // is gone once neither does.
    const ra = await service.rollback(a.remediationId, 'cli:tester');
    expect(ra.status).toBe('rolled-back');
    expect(await boundaryOf('dan')).toBe(DEV_BOUNDARY);
    expect(await policyExists(QUARANTINE)).toBe(true);
    const rb = await service.rollback(b.remediationId, 'cli:tester');
    expect(rb.status).toBe('rolled-back');
    expect(await policyExists(QUARANTINE)).toBe(false);
    const states = await db.all<{ state: string }>(
      'SELECT state FROM recommendation WHERE recommendation_id IN ($a, $b)',
      { a: first.recommendationId, b: second!.recommendationId },
    );
    expect(states).toEqual([{ state: 'open' }, { state: 'open' }]);
  });

  it('refuses an option that cannot be applied, and audits the refusal', async () => {
    const rec = find(recs, DAN, 'dormant-principal');
    await expect(service.apply(rec.recommendationId, 'delete', 'cli:tester')).rejects.toThrow(
      /cannot be applied through the API/,
    );
    const audit = await auditRows(rec.recommendationId);
    expect(audit.at(-1)).toMatchObject({
      action: 'remediation.apply',
      outcome: 'failed',
      actor: 'cli:tester',
    });
  });

  it('refuses to apply for a principal ignored after the assessment', async () => {
    const rec = find(recs, DAN, 'dormant-principal');
    await db.exec(
      `INSERT INTO ignore_rule (ignore_id, principal_id, integration_id, reason, created_by, created_at)
       VALUES ('ign_late', $p, NULL, 'kept for the audit', 'cli:alice', now())`,
      { p: DAN },
    );
    try {
      await expect(service.apply(rec.recommendationId, 'quarantine', 'cli:tester')).rejects.toThrow(
        /is ignored/,
      );
      expect(await boundaryOf('dan')).toBe(DEV_BOUNDARY);
    } finally {
      await db.exec("DELETE FROM ignore_rule WHERE ignore_id = 'ign_late'");
    }
  });
});
