import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.ts';
import { runAssessment } from '../../ingest/assessment.ts';
import { syncFor } from '../../ingest/registry.ts';
import { silentLogger } from '../../lib/log.ts';
import { mapCloudTrailEvent } from '../../scoring/catalog/index.ts';
import { memoryDb } from '../helpers/db.ts';
import { HAS_REALDATA, realdataPath } from '../helpers/realdata.ts';

const config = parseConfig({
  integrations: [{ id: 'realdata', kind: 'import', directory: realdataPath('aws') }],
});
const sync = syncFor({ mapper: (s, n) => mapCloudTrailEvent(s, n) });

describe.skipIf(!HAS_REALDATA)('import integration on the shared real-world samples', () => {
  it('loads authorization details and CloudTrail files into the model, then re-runs without double counting', async () => {
    const db = await memoryDb();
    try {
      const first = await runAssessment({
        db,
        config,
        integrationId: 'realdata',
        trigger: 'cli',
        logger: silentLogger,
        sync,
      });
      expect(first.errors).toEqual([]);
      expect(first.status).toBe('succeeded');

      const principals = await db.all<{ kind: string; n: number }>(
        'SELECT kind, count(*) AS n FROM principal WHERE assessment_id = $a GROUP BY kind ORDER BY kind',
        { a: first.assessmentId },
      );
      // cloudsplaining example: 44 users, 5 groups, 78 roles; the smaller file adds its own
      expect(principals.find((p) => p.kind === 'role')?.n).toBeGreaterThanOrEqual(78);
      expect(principals.find((p) => p.kind === 'user')?.n).toBeGreaterThanOrEqual(44);
      const admin = await db.one<{ n: number }>(
        `SELECT count(*) AS n FROM principal_policy WHERE assessment_id = $a
           AND policy_id = 'arn:aws:iam::aws:policy/AdministratorAccess'`,
        { a: first.assessmentId },
      );
      expect(admin?.n).toBeGreaterThan(0);

      const objects = await db.all<{ status: string; n: number; records: number }>(
        "SELECT status, count(*) AS n, sum(records) AS records FROM ingest_object WHERE source = 'import' GROUP BY status",
      );
      expect(objects).toEqual([{ status: 'ok', n: 37, records: 315 }]);
      const usage = await db.one<{ calls: number; actions: number }>(
        'SELECT sum(calls) AS calls, count(DISTINCT action) AS actions FROM usage_daily',
      );
      expect(usage?.actions).toBeGreaterThan(40);
      // Every action in usage exists in the catalog's case.
      const getSecret = await db.one<{ calls: number }>(
        "SELECT sum(calls) AS calls FROM usage_daily WHERE action = 'secretsmanager:GetSecretValue'",
      );
      expect(getSecret?.calls).toBeGreaterThan(0);
      const noPermission = await db.all<{ event_name: string }>(
        "SELECT event_name FROM unmapped_event WHERE status = 'no-permission' ORDER BY event_name",
      );
      expect(noPermission.map((r) => r.event_name)).toEqual(['ConsoleLogin', 'GetCallerIdentity']);
      const identities = await db.all<{ identity_type: string }>(
        'SELECT DISTINCT identity_type FROM identity_usage',
      );
      expect(identities.length).toBeGreaterThan(0);

      const second = await runAssessment({
        db,
        config,
        integrationId: 'realdata',
        trigger: 'cli',
        logger: silentLogger,
        sync,
      });
      expect(second.status).toBe('succeeded');
      const after = await db.one<{ calls: number; actions: number }>(
        'SELECT sum(calls) AS calls, count(DISTINCT action) AS actions FROM usage_daily',
      );
      expect(after).toEqual(usage);
      const assessments = await db.all(
        'SELECT status, event_count FROM assessment ORDER BY started_at',
      );
      expect(assessments).toEqual([
        { status: 'succeeded', event_count: 315 },
        { status: 'succeeded', event_count: 0 },
      ]);
    } finally {
      db.closeAll();
    }
  });
});
