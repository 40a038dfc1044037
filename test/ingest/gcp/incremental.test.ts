import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import { runAssessment } from '../../../ingest/assessment.ts';
import { GCP_TOKEN_ENV } from '../../../ingest/gcp/clients.ts';
import { syncFor } from '../../../ingest/registry.ts';
import { silentLogger } from '../../../lib/log.ts';
import type { Db } from '../../../model/db.ts';
import { mapCloudTrailEvent } from '../../../scoring/catalog/index.ts';
import { startGcpCloud } from '../../fixtures/cloud/gcp/harness.ts';
import {
  ACTIVITY,
  type AuditFile,
  defaultGcpWorld,
  ORG_ID,
  PROD_PROJECT,
  SINK_PROJECT,
  TOKEN,
} from '../../fixtures/cloud/gcp/world-builder.ts';
import { memoryDb } from '../../helpers/db.ts';
import { expectedNoPermission, expectedUsage, rewriteDayFile } from './expected.ts';
import { AS_OF, assessGcp } from './helpers.ts';

async function usage(db: Db) {
  return db.all(
    `SELECT principal_id, action, strftime(day, '%Y-%m-%d') AS day, account_id, calls, denied
     FROM usage_daily ORDER BY principal_id, action, day, account_id`,
  );
}

function sorted<T>(rows: T[]): T[] {
  return [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

async function totals(db: Db) {
  return db.one(
    `SELECT (SELECT sum(calls) FROM usage_daily) AS usage_calls,
            (SELECT count(*) FROM usage_daily) AS usage_rows,
            (SELECT sum(calls) FROM identity_usage) AS identity_calls,
            (SELECT count(*) FROM identity_usage) AS identity_rows,
            (SELECT sum(records) FROM log_coverage) AS coverage_records,
            (SELECT count(*) FROM log_coverage) AS coverage_rows,
            (SELECT sum(calls) FROM unmapped_event) AS unmapped_calls`,
  );
}

/** Entries that arrive late: Cloud Logging delivers them after the day was first loaded. */
function withLateEntries(file: AuditFile, principal: string): AuditFile {
  const template = file.entries[1];
  if (!template) throw new Error('the day has no entries to copy');
  const late = [0, 1, 2].map((i) => ({
    ...structuredClone(template),
    insertId: `late-${file.day}-${i}`,
    protopayload_auditlog: {
      ...structuredClone(template.protopayload_auditlog),
      authenticationInfo: { principalEmail: principal },
      ...(i === 2
        ? { authorizationInfo: undefined }
        : {
            authorizationInfo: [
              {
                resource: `projects/${PROD_PROJECT}`,
                permission: 'compute.instances.list',
                granted: true,
              },
            ],
          }),
    },
  }));
  for (const e of late)
    if (e.protopayload_auditlog.authorizationInfo === undefined)
      delete e.protopayload_auditlog.authorizationInfo;
  return { ...file, entries: [...file.entries, ...late] };
}

describe('GCP usage, incremental by day', () => {
  it('re-queries only days not yet final, replaces them, and never counts twice', async () => {
    const spec = defaultGcpWorld({ entriesPerDay: 10 });
    const cloud = await startGcpCloud({ spec });
    const db = await memoryDb();
    try {
      // Run 1 on 2026-11-22: the window 18..21 is loaded; 18 and 19 are final from now on.
      const first = await assessGcp(db, cloud);
      expect(first.status).toBe('succeeded');
      const original = structuredClone(spec.audit);
      expect(sorted(await usage(db))).toEqual(
        expectedUsage(original, '2026-11-18', '2026-11-21', ORG_ID),
      );
      const ledger = await db.all(
        `SELECT object_key, status FROM ingest_object WHERE object_key NOT LIKE '%#%' ORDER BY object_key`,
      );
      expect(ledger).toEqual(
        ['2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21'].map((d) => ({
          object_key: `bigquery/${SINK_PROJECT}.org_audit/${d}`,
          status: 'ok',
        })),
      );

      // Late entries land in a final day (18, ignored) and a recent one (21, picked up).
      const modified = structuredClone(original);
      for (const day of ['20261118', '20261121']) {
        const i = modified.findIndex((f) => f.tableId === ACTIVITY && f.day === day);
        const file = withLateEntries(modified[i] as AuditFile, 'late@fixture.example');
        modified[i] = file;
        rewriteDayFile(cloud.dir, file);
      }
      const inserts = cloud.count('bigquery', 'jobs.insert');
      const second = await assessGcp(db, cloud);
      expect(second.status).toBe('succeeded');
      expect(cloud.count('bigquery', 'jobs.insert') - inserts).toBe(2);
      const expected = sorted([
        ...expectedUsage(original, '2026-11-18', '2026-11-19', ORG_ID),
        ...expectedUsage(modified, '2026-11-20', '2026-11-21', ORG_ID),
      ]);
      expect(
        expected.some(
          (r) => r.principal_id === 'user:late@fixture.example' && r.day === '2026-11-21',
        ),
      ).toBe(true);
      expect(sorted(await usage(db))).toEqual(expected);
      const unmapped = await db.scalar<number>('SELECT calls FROM unmapped_event');
      expect(unmapped).toBe(
        expectedNoPermission(original, '2026-11-18', '2026-11-19') +
          expectedNoPermission(modified, '2026-11-20', '2026-11-21'),
      );
      // Only the re-queried days were counted by the second run.
      const checks = modified
        .filter((f) => f.day >= '20261120' && f.day <= '20261121')
        .flatMap((f) => f.entries)
        .reduce(
          (n, e) => n + Math.max(1, e.protopayload_auditlog.authorizationInfo?.length ?? 0),
          0,
        );
      expect(
        await db.scalar('SELECT event_count FROM assessment WHERE assessment_id = $a', {
          a: second.assessmentId,
        }),
      ).toBe(checks);
      const afterSecond = await totals(db);

      // A third run a week later re-reads 20 and 21 once more (then final); a fourth reads nothing.
      const later = { now: () => new Date('2026-11-30T06:00:00Z') };
      await assessGcp(db, cloud, { sync: later });
      expect(await totals(db)).toEqual(afterSecond);
      const before = cloud.count('bigquery', 'jobs.insert');
      const fourth = await assessGcp(db, cloud, { sync: later });
      expect(fourth.status).toBe('succeeded');
      expect(cloud.count('bigquery', 'jobs.insert')).toBe(before);
      expect(await totals(db)).toEqual(afterSecond);
      expect(
        await db.scalar('SELECT event_count FROM assessment WHERE assessment_id = $a', {
          a: fourth.assessmentId,
        }),
      ).toBeNull();
    } finally {
      db.closeAll();
      await cloud.close();
    }
  });

  it('skips a query over the byte ceiling (dry run only), records it, and loads once the ceiling allows', async () => {
    const cloud = await startGcpCloud({ spec: defaultGcpWorld({ entriesPerDay: 10 }) });
    const db = await memoryDb();
    try {
      const low = await assessGcp(db, cloud, {
        integration: { auditSink: { projectId: SINK_PROJECT, maxBytesProcessed: 1000 } },
      });
      expect(low.status).toBe('partial');
      expect(low.errors).toEqual([
        {
          service: 'bigquery',
          call: 'jobs.insert (dry run)',
          message: expect.stringMatching(
            /^usage 2026-11-18\.\.2026-11-21: the aggregation query would process \d+ B, over the ceiling/,
          ),
        },
      ]);
      expect(low.errors[0]?.message).toContain(
        'over the ceiling auditSink.maxBytesProcessed (1000 B); it was not run',
      );
      expect(cloud.count('bigquery', 'jobs.insert')).toBe(1);
      expect(cloud.count('bigquery', 'jobs.getQueryResults')).toBe(0);
      expect(await db.scalar('SELECT count(*) FROM usage_daily')).toBe(0);
      const rejected = await db.all(
        "SELECT strftime(day, '%Y-%m-%d') AS day, status FROM ingest_object ORDER BY day",
      );
      expect(rejected).toEqual(
        ['2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21'].map((day) => ({
          day,
          status: 'rejected',
        })),
      );
      // Inventory is complete regardless.
      expect(
        await db.scalar('SELECT count(*) FROM principal WHERE assessment_id = $a', {
          a: low.assessmentId,
        }),
      ).toBeGreaterThan(20);

      const high = await assessGcp(db, cloud);
      expect(high.status).toBe('succeeded');
      expect(await db.scalar("SELECT count(*) FROM ingest_object WHERE status = 'rejected'")).toBe(
        0,
      );
      expect(await db.scalar('SELECT count(*) FROM usage_daily')).toBeGreaterThan(0);
    } finally {
      db.closeAll();
      await cloud.close();
    }
  });

  it('finds the sink by its label in every project when no sink project is configured', async () => {
    const spec = defaultGcpWorld({ entriesPerDay: 5 });
    const cloud = await startGcpCloud({ spec });
    const db = await memoryDb();
    try {
      const result = await assessGcp(db, cloud, { integration: { auditSink: {} } });
      expect(result.errors).toEqual([]);
      // One listing per assessed project.
      expect(cloud.count('bigquery', 'datasets.list')).toBe(5);
      expect(await db.all('SELECT source_id FROM log_source')).toEqual([
        { source_id: `${SINK_PROJECT}.org_audit` },
      ]);
      expect(sorted(await usage(db))).toEqual(
        expectedUsage(spec.audit, '2026-11-18', '2026-11-21', ORG_ID),
      );
    } finally {
      db.closeAll();
      await cloud.close();
    }
  });
});

describe('gcp-project integration', () => {
  it('assesses one project through the registry: its bindings, service accounts and usage', async () => {
    const spec = defaultGcpWorld({ entriesPerDay: 5 });
    const cloud = await startGcpCloud({ spec });
    const db = await memoryDb();
    process.env[GCP_TOKEN_ENV] = TOKEN;
    try {
      const config = parseConfig({
        lookbackDays: 4,
        dormancyDays: 4,
        integrations: [
          {
            id: 'prod-one',
            kind: 'gcp-project',
            projectId: PROD_PROJECT,
            auditSink: { projectId: SINK_PROJECT },
            endpoints: { gcp: cloud.url },
          },
        ],
      });
      const result = await runAssessment({
        db,
        config,
        integrationId: 'prod-one',
        trigger: 'cli',
        logger: silentLogger,
        asOf: AS_OF,
        sync: syncFor({ mapper: mapCloudTrailEvent }),
      });
      expect(result.errors).toEqual([]);
      expect(result.status).toBe('succeeded');
      const a = { a: result.assessmentId };
      expect(
        await db.all(
          'SELECT account_id, cloud, parent_path, inventory_status FROM account WHERE assessment_id = $a',
          a,
        ),
      ).toEqual([
        {
          account_id: PROD_PROJECT,
          cloud: 'gcp',
          parent_path: ['folders/2001'],
          inventory_status: 'ok',
        },
      ]);
      expect(await db.scalar('SELECT count(*) FROM org_node WHERE assessment_id = $a', a)).toBe(0);
      // Members of the project's own bindings belong to the project; nothing is read at org level.
      const bob = await db.one(
        "SELECT account_id, kind FROM principal WHERE assessment_id = $a AND principal_id = 'user:bob@fixture.example'",
        a,
      );
      expect(bob).toEqual({ account_id: PROD_PROJECT, kind: 'user' });
      expect(
        await db.scalar(
          "SELECT count(*) FROM principal WHERE assessment_id = $a AND principal_id = 'user:alice@fixture.example'",
          a,
        ),
      ).toBe(0);
      expect(cloud.count('cloudresourcemanager', 'organizations.getIamPolicy')).toBe(0);
      expect(cloud.count('cloudresourcemanager', 'projects.getIamPolicy')).toBe(1);
      const accounts = await db.scalar<number>(
        "SELECT count(*) FROM principal WHERE assessment_id = $a AND kind = 'service-account'",
        a,
      );
      expect(accounts).toBe(23);
      expect(
        await db.scalar("SELECT count(*) FROM usage_daily WHERE integration_id = 'prod-one'"),
      ).toBeGreaterThan(0);
    } finally {
      db.closeAll();
      await cloud.close();
    }
  });
});
