import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/log.ts';
import type { Db } from '../../../model/db.ts';
import { scoreAssessment } from '../../../scoring/engine/score.ts';
import { type GcpCloud, startGcpCloud } from '../../fixtures/cloud/gcp/harness.ts';
import { defaultGcpWorld, PROD_PROJECT } from '../../fixtures/cloud/gcp/world-builder.ts';
import { memoryDb } from '../../helpers/db.ts';
import { assessGcp, gcpConfig } from '../../ingest/gcp/helpers.ts';

// GCP ingestion through the fixture cloud (real clients), then scoring: role bindings
// inherited down the hierarchy, transitive groups, public members, audit-log usage.
let cloud: GcpCloud;
let db: Db;
let assessmentId: string;

beforeAll(async () => {
  const spec = defaultGcpWorld({ entriesPerDay: 5 });
  spec.organization.iamPolicies['projects/3003'] = {
    version: 3,
    etag: 'BwXpublic1=',
    bindings: [{ role: 'roles/viewer', members: ['allUsers'] }],
  };
  cloud = await startGcpCloud({ spec });
  db = await memoryDb();
  const result = await assessGcp(db, cloud);
  expect(result.errors).toEqual([]);
  assessmentId = result.assessmentId;
  await scoreAssessment(db, assessmentId, { config: gcpConfig(cloud), logger: silentLogger });
}, 120_000);

afterAll(async () => {
  db?.closeAll();
  await cloud.close();
});

describe('scoring after GCP organization ingestion', () => {
  it('scores every principal, with effective permissions from its bindings', async () => {
    const rows = await db.all<{ principals: number; scored: number; with_grants: number }>(
      `SELECT (SELECT count(*) FROM principal WHERE assessment_id = $a) AS principals,
              count(*) AS scored, count(*) FILTER (WHERE granted_count > 0) AS with_grants
       FROM principal_score WHERE assessment_id = $a`,
      { a: assessmentId },
    );
    expect(rows[0]?.scored).toBe(rows[0]?.principals);
    expect(rows[0]?.with_grants).toBeGreaterThan(0);
  });

  it('calls allUsers no-coverage and reports it as public exposure', async () => {
    const row = await db.one<{ status: string; risk_breakdown: string }>(
      "SELECT status, risk_breakdown FROM principal_score WHERE assessment_id = $a AND principal_id = 'allUsers'",
      { a: assessmentId },
    );
    expect(row?.status).toBe('no-coverage');
    const exposure = (
      JSON.parse(row!.risk_breakdown) as Array<{ component: string; points: number }>
    ).find((c) => c.component === 'exposure');
    expect(exposure?.points).toBe(15);
  });

  it('marks service accounts seen in the audit logs active, with their permissions used', async () => {
    const active = await db.all<{ principal_id: string; used_count: number }>(
      `SELECT s.principal_id, s.used_count FROM principal_score s
       WHERE s.assessment_id = $a AND s.status = 'active' AND s.principal_id LIKE 'serviceAccount:%'
         AND s.principal_id LIKE $p`,
      { a: assessmentId, p: `%@${PROD_PROJECT}.iam.gserviceaccount.com` },
    );
    expect(active.length).toBeGreaterThan(0);
    expect(active.some((r) => r.used_count > 0)).toBe(true);
  });

  it('makes a group active when one of its members is', async () => {
    const groups = await db.all<{ principal_id: string; status: string; member_active: boolean }>(
      `SELECT g.principal_id, s.status,
              EXISTS (SELECT 1 FROM principal m JOIN principal_score ms USING (assessment_id, principal_id)
                      WHERE m.assessment_id = g.assessment_id AND m.kind <> 'group'
                        AND list_contains(from_json(m.attributes->'groups', '["VARCHAR"]'), g.principal_id)
                        AND ms.status = 'active') AS member_active
       FROM principal g JOIN principal_score s USING (assessment_id, principal_id)
       WHERE g.assessment_id = $a AND g.kind = 'group'`,
      { a: assessmentId },
    );
    expect(groups.some((g) => g.member_active)).toBe(true);
    for (const g of groups) if (g.member_active) expect(g.status, g.principal_id).toBe('active');
  });
});
