import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import { runAssessment } from '../../../ingest/assessment.ts';
import { syncFor } from '../../../ingest/registry.ts';
import { silentLogger } from '../../../lib/log.ts';
import type { Db } from '../../../model/db.ts';
import { mapCloudTrailEvent } from '../../../scoring/catalog/index.ts';
import { scoringStage } from '../../../scoring/engine/score.ts';
import { memoryDb } from '../../helpers/db.ts';
import { HAS_REALDATA, realdataPath } from '../../helpers/realdata.ts';

// The cloudsplaining example account through the import integration, with the real CloudTrail
// samples beside it. Those logs are years older than the window, so no account is covered.
const config = parseConfig({
  integrations: [{ id: 'realdata', kind: 'import', directory: realdataPath('aws') }],
});

interface Component {
  component: string;
  points: number;
  reason: string;
  evidence: unknown;
}

describe.skipIf(!HAS_REALDATA)('scoring the cloudsplaining example account', () => {
  let db: Db;
  let assessmentId: string;
  beforeAll(async () => {
    db = await memoryDb();
    const result = await runAssessment({
      db,
      config,
      integrationId: 'realdata',
      trigger: 'cli',
      logger: silentLogger,
      sync: syncFor({ mapper: (s, n) => mapCloudTrailEvent(s, n) }),
      stages: [scoringStage],
      asOf: '2026-11-21',
    });
    expect(result.errors).toEqual([]);
    assessmentId = result.assessmentId;
  }, 120_000);
  afterAll(() => db.closeAll());

  it('scores every principal, all no-coverage since no log covers the window', async () => {
    const rows = await db.all<{ status: string; n: number }>(
      'SELECT status, count(*) AS n FROM principal_score WHERE assessment_id = $a GROUP BY status',
      { a: assessmentId },
    );
    const principals = await db.one<{ n: number }>(
      'SELECT count(*) AS n FROM principal WHERE assessment_id = $a',
      { a: assessmentId },
    );
    expect(rows).toEqual([{ status: 'no-coverage', n: principals?.n }]);
  });

  it('puts every holder of AdministratorAccess in the Critical tier as admin-equivalent', async () => {
    const admins = await db.all<{ principal_id: string; tier: string; admin: boolean }>(
      `SELECT DISTINCT s.principal_id, s.tier, f.admin_equivalent AS admin
       FROM principal_score s
       JOIN principal_policy pp ON pp.assessment_id = s.assessment_id AND pp.principal_id = s.principal_id
       JOIN scoring_fingerprint f ON f.assessment_id = s.assessment_id AND f.fingerprint = s.fingerprint
       WHERE s.assessment_id = $a AND pp.policy_id = 'arn:aws:iam::aws:policy/AdministratorAccess'`,
      { a: assessmentId },
    );
    expect(admins.length).toBeGreaterThanOrEqual(5);
    for (const a of admins)
      expect(a, a.principal_id).toMatchObject({ tier: 'Critical', admin: true });
  });

  it('names the escalation path in the breakdown of the iam-vulnerable privesc users', async () => {
    const cases: Record<string, string> = {
      'privesc1-CreateNewPolicyVersion-user': 'aws-create-policy-version',
      'privesc4-CreateAccessKey-user': 'aws-create-access-key',
      'privesc15-PassExistingRoleToNewLambdaThenInvoke-user': 'aws-passrole-lambda-invoke',
      'privesc3-CreateEC2WithExistingInstanceProfile-user': 'aws-passrole-ec2',
    };
    for (const [name, path] of Object.entries(cases)) {
      const row = await db.one<{ tier: string; risk_breakdown: string }>(
        `SELECT tier, risk_breakdown FROM principal_score
         WHERE assessment_id = $a AND principal_id = $p`,
        { a: assessmentId, p: `arn:aws:iam::200611803367:user/${name}` },
      );
      expect(row, name).toBeDefined();
      const escalation = (JSON.parse(row!.risk_breakdown) as Component[]).find(
        (c) => c.component === 'escalation',
      )!;
      expect(escalation.points, name).toBeGreaterThan(0);
      expect(escalation.reason, name).toContain(path);
      expect(['Critical', 'High'], name).toContain(row!.tier);
    }
  });

  it('reports exposure from trust policies: accounts outside the organization and SAML federation', async () => {
    const row = await db.one<{ risk_breakdown: string }>(
      `SELECT risk_breakdown FROM principal_score WHERE assessment_id = $a
       AND principal_id = 'arn:aws:iam::200611803367:role/OrganizationAccountAccessRole'`,
      { a: assessmentId },
    );
    const exposure = (JSON.parse(row!.risk_breakdown) as Component[]).find(
      (c) => c.component === 'exposure',
    )!;
    expect(exposure.points).toBe(10);
    expect(exposure.reason).toContain('072528804237');
  });

  it('fills the Used-for view for every attached allow policy', async () => {
    const row = await db.one<{ n: number; granted: number }>(
      `SELECT count(DISTINCT policy_id) AS n, sum(granted) AS granted FROM policy_usage
       WHERE assessment_id = $a AND principal_id = 'arn:aws:iam::012345678901:user/obama'`,
      { a: assessmentId },
    );
    expect(row?.n).toBeGreaterThan(0);
    expect(row?.granted).toBeGreaterThan(20_000);
  });
});
