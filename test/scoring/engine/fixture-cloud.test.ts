import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import { type FixtureCloud, startFixtureCloud } from '../../../fixtures/cloud/index.ts';
import { runAssessment } from '../../../ingest/assessment.ts';
import { syncFor } from '../../../ingest/registry.ts';
import { silentLogger } from '../../../lib/log.ts';
import type { Db } from '../../../model/db.ts';
import { mapCloudTrailEvent } from '../../../scoring/catalog/index.ts';
import { scoringStage } from '../../../scoring/engine/score.ts';
import {
  ACCESS_KEY_ID,
  type BuiltWorld,
  buildWorld,
  EXTERNAL_ID,
  MGMT,
  ORG_ID,
  PROD,
  SECRET,
  TRAIL_BUCKET,
} from '../../fixtures/cloud/world-builder.ts';
import { memoryDb, tempDir } from '../../helpers/db.ts';
import { effectiveOf, scoreOf } from './world.ts';

// Live AWS ingestion through the fixture cloud (real SDK clients), then the scoring stage:
// SCP paths from the organization, the management-account exemption, group inheritance,
// trust-policy exposure and statuses from real log coverage.
let world: BuiltWorld;
let cloud: FixtureCloud;
let db: Db;
let assessmentId: string;
const stage = tempDir('ad-stage-');

beforeAll(async () => {
  world = buildWorld({ days: 5, filesPerDay: 2, recordsPerFile: 20 });
  cloud = await startFixtureCloud({ dir: world.dir });
  process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = SECRET;
  const config = parseConfig({
    lookbackDays: 5,
    dormancyDays: 5,
    integrations: [
      {
        id: 'fixture-org',
        kind: 'aws-organization',
        managementRoleArn: `arn:aws:iam::${MGMT}:role/AccessDiscoveryReadOnly`,
        memberRoleName: 'AccessDiscoveryReadOnly',
        externalId: EXTERNAL_ID,
        regions: ['us-east-1', 'eu-west-1'],
        trail: { bucket: TRAIL_BUCKET, prefix: '', organizationId: ORG_ID },
        endpoints: { aws: cloud.url },
        concurrency: 4,
      },
    ],
  });
  db = await memoryDb();
  const result = await runAssessment({
    db,
    config,
    integrationId: 'fixture-org',
    trigger: 'cli',
    logger: silentLogger,
    sync: syncFor({ mapper: (s, n) => mapCloudTrailEvent(s, n), stageDir: stage.dir }),
    stages: [scoringStage],
    asOf: world.manifest.endDate,
  });
  expect(result.errors).toEqual([]);
  assessmentId = result.assessmentId;
}, 120_000);

afterAll(async () => {
  db?.closeAll();
  await cloud.close();
  world.cleanup();
  stage.cleanup();
});

const arn = (account: string, rest: string) => `arn:aws:iam::${account}:${rest}`;

describe('scoring after AWS organization ingestion', () => {
  it('scores every principal of the snapshot', async () => {
    const counts = await db.one<{ principals: number; scored: number }>(
      `SELECT (SELECT count(*) FROM principal WHERE assessment_id = $a) AS principals,
              (SELECT count(*) FROM principal_score WHERE assessment_id = $a) AS scored`,
      { a: assessmentId },
    );
    expect(counts?.scored).toBe(counts?.principals);
  });

  it('applies the SCP path to member accounts, not to the management account nor service-linked roles', async () => {
    const paths = await db.all<{ principal_id: string; scp_path: string }>(
      `SELECT s.principal_id, f.scp_path::VARCHAR AS scp_path FROM principal_score s
       JOIN scoring_fingerprint f USING (assessment_id, fingerprint) WHERE s.assessment_id = $a`,
      { a: assessmentId },
    );
    const pathOf = (id: string) => JSON.parse(paths.find((p) => p.principal_id === id)!.scp_path);
    expect(pathOf(arn(PROD, 'user/alice'))).toHaveLength(2); // root, then the Prod OU
    expect(pathOf(arn(MGMT, 'user/alice'))).toEqual([]);
    expect(
      pathOf(arn(PROD, 'role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport')),
    ).toEqual([]);
  });

  it('inherits group policies through the SCP path: alice reads through the developers group', async () => {
    const alice = await effectiveOf(db, arn(PROD, 'user/alice'), assessmentId);
    expect(alice.has('ec2:DescribeInstances')).toBe(true);
    expect(alice.has('s3:PutObject')).toBe(false);
  });

  it('reports the partner trust as exposure to an account outside the organization', async () => {
    const s = await scoreOf(db, arn(PROD, 'role/partner-audit'), assessmentId);
    const exposure = s.breakdown.find((c) => c.component === 'exposure')!;
    expect(exposure.points).toBe(10);
    expect(exposure.reason).toContain('999999999999');
  });

  it('marks principals used in the 5-day dormancy window active and the silent, covered, old ones dormant', async () => {
    const rows = await db.all<{
      principal_id: string;
      status: string;
      logged: boolean;
      inventory: boolean;
    }>(
      `SELECT s.principal_id, s.status,
              EXISTS (SELECT 1 FROM usage_daily u WHERE u.principal_id = s.principal_id AND u.calls > u.denied) AS logged,
              coalesce(p.last_used_at::DATE >= a.window_end - 4, false) AS inventory
       FROM principal_score s JOIN principal p USING (assessment_id, principal_id)
       JOIN assessment a USING (assessment_id)
       WHERE s.assessment_id = $a AND p.account_id IN ($m, $p) AND p.kind <> 'group'`,
      { a: assessmentId, m: MGMT, p: PROD },
    );
    expect(rows.some((r) => r.logged)).toBe(true);
    // Groups never act: developers is active because its member alice is.
    const alice = rows.find((r) => r.principal_id === arn(MGMT, 'user/alice'))!;
    expect(alice.status).toBe('active');
    const developers = await scoreOf(db, arn(MGMT, 'group/developers'), assessmentId);
    expect(developers).toMatchObject({ status: 'active' });
    expect(developers.used_count).toBeGreaterThan(0);
    // ci-bot's access key was last used on 2026-11-15, before the 5-day window: dormant.
    const ciBot = await scoreOf(db, arn(MGMT, 'user/ci-bot'), assessmentId);
    expect(ciBot).toMatchObject({ status: 'dormant' });
    expect(ciBot.last_used_at).toContain('2026-11-15');
    for (const r of rows) {
      expect(r.status, r.principal_id).toBe(r.logged || r.inventory ? 'active' : 'dormant');
    }
  });
});
