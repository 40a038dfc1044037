import { describe, expect, it } from 'vitest';
import type { FaultRule } from '../../../fixtures/cloud/faults.ts';
import type { Db } from '../../../model/db.ts';
import { type GcpCloud, startGcpCloud } from '../../fixtures/cloud/gcp/harness.ts';
import {
  DEV_PROJECT,
  defaultGcpWorld,
  PROD_DATA_PROJECT,
  PROD_PROJECT,
  SINK_PROJECT,
} from '../../fixtures/cloud/gcp/world-builder.ts';
import { memoryDb } from '../../helpers/db.ts';
import { assessGcp } from './helpers.ts';

async function withFaults<T>(
  faults: FaultRule[],
  fn: (cloud: GcpCloud, db: Db) => Promise<T>,
): Promise<T> {
  const cloud = await startGcpCloud({ spec: defaultGcpWorld({ entriesPerDay: 5 }), faults });
  const db = await memoryDb();
  try {
    return await fn(cloud, db);
  } finally {
    db.closeAll();
    await cloud.close();
  }
}

async function accountStatuses(db: Db, assessmentId: string) {
  return db.all(
    'SELECT account_id, inventory_status FROM account WHERE assessment_id = $a ORDER BY account_id',
    { a: assessmentId },
  );
}

describe('GCP ingestion failures: recorded, and the rest goes on', () => {
  it('fails a project whose IAM policy is denied, assesses the others, and ends partial', async () => {
    await withFaults(
      [
        {
          kind: 'access-denied',
          service: 'cloudresourcemanager',
          operation: 'projects.getIamPolicy',
          project: DEV_PROJECT,
        },
      ],
      async (_cloud, db) => {
        const result = await assessGcp(db, _cloud);
        expect(result.status).toBe('partial');
        expect(result.errors).toEqual([
          {
            accountId: DEV_PROJECT,
            service: 'cloudresourcemanager',
            call: 'projects.getIamPolicy',
            message: expect.stringMatching(/^403 .*PERMISSION_DENIED|^403 .*denied/i),
          },
        ]);
        const failed = await db.one(
          'SELECT inventory_status, inventory_error FROM account WHERE assessment_id = $a AND account_id = $p',
          { a: result.assessmentId, p: DEV_PROJECT },
        );
        expect(failed?.inventory_status).toBe('failed');
        expect(String(failed?.inventory_error)).toMatch(/^projects\.getIamPolicy: 403/);
        expect(
          (await accountStatuses(db, result.assessmentId)).filter(
            (a) => a.inventory_status === 'ok',
          ),
        ).toHaveLength(4);
        // Nothing of the failed project is loaded; the others are complete, usage too.
        expect(
          await db.scalar(
            'SELECT count(*) FROM principal WHERE assessment_id = $a AND account_id = $p',
            {
              a: result.assessmentId,
              p: DEV_PROJECT,
            },
          ),
        ).toBe(0);
        expect(
          await db.scalar(
            'SELECT count(*) FROM principal WHERE assessment_id = $a AND account_id = $p',
            {
              a: result.assessmentId,
              p: PROD_PROJECT,
            },
          ),
        ).toBe(23);
        expect(await db.scalar('SELECT count(*) FROM usage_daily')).toBeGreaterThan(0);
        const assessment = await db.one(
          'SELECT status, account_count FROM assessment WHERE assessment_id = $a',
          {
            a: result.assessmentId,
          },
        );
        expect(assessment).toEqual({ status: 'partial', account_count: 4 });
      },
    );
  });

  it('fails the run, saying why, when the organization itself cannot be read', async () => {
    await withFaults(
      [{ kind: 'access-denied', service: 'cloudresourcemanager', operation: 'organizations.get' }],
      async (cloud, db) => {
        const result = await assessGcp(db, cloud);
        expect(result.status).toBe('failed');
        expect(result.errors).toEqual([
          { message: expect.stringMatching(/^organizations\/123456789012 cannot be read: 403 /) },
        ]);
      },
    );
  });

  it('fails a project whose service accounts cannot be listed', async () => {
    await withFaults(
      [
        {
          kind: 'access-denied',
          service: 'iam',
          operation: 'projects.serviceAccounts.list',
          project: PROD_DATA_PROJECT,
        },
      ],
      async (cloud, db) => {
        const result = await assessGcp(db, cloud);
        expect(result.status).toBe('partial');
        expect(result.errors.map((e) => [e.accountId, e.service, e.call])).toEqual([
          [PROD_DATA_PROJECT, 'iam', 'projects.serviceAccounts.list'],
        ]);
        expect(
          (await accountStatuses(db, result.assessmentId)).find(
            (a) => a.account_id === PROD_DATA_PROJECT,
          ),
        ).toEqual({ account_id: PROD_DATA_PROJECT, inventory_status: 'failed' });
      },
    );
  });

  it('fails a project whose service account keys cannot be listed, naming the account', async () => {
    await withFaults(
      [
        {
          kind: 'access-denied',
          service: 'iam',
          operation: 'projects.serviceAccounts.keys.list',
          project: PROD_DATA_PROJECT,
        },
      ],
      async (cloud, db) => {
        const result = await assessGcp(db, cloud);
        expect(result.status).toBe('partial');
        expect(result.errors).toEqual([
          {
            accountId: PROD_DATA_PROJECT,
            service: 'iam',
            call: 'projects.serviceAccounts.keys.list',
            message: expect.stringMatching(/^etl@fx-prod-0002\.iam\.gserviceaccount\.com: 403 /),
          },
        ]);
      },
    );
  });

  it('retries throttled calls with backoff and succeeds', async () => {
    const faults: FaultRule[] = [
      {
        kind: 'throttle',
        service: 'cloudresourcemanager',
        operation: 'projects.getIamPolicy',
        count: 3,
      },
      {
        kind: 'throttle',
        service: 'cloudresourcemanager',
        operation: 'organizations.getIamPolicy',
        count: 1,
      },
      { kind: 'throttle', service: 'iam', operation: 'projects.serviceAccounts.list', count: 2 },
      { kind: 'throttle', service: 'iam', operation: 'roles.get', count: 2 },
      {
        kind: 'throttle',
        service: 'cloudidentity',
        operation: 'groups.memberships.searchTransitiveMemberships',
        count: 2,
      },
      { kind: 'throttle', service: 'bigquery', operation: 'jobs.insert', count: 2 },
    ];
    await withFaults(faults, async (cloud, db) => {
      const result = await assessGcp(db, cloud);
      expect(result.errors).toEqual([]);
      expect(result.status).toBe('succeeded');
      expect(cloud.count('cloudresourcemanager', 'projects.getIamPolicy')).toBe(5 + 3);
      expect(cloud.count('cloudresourcemanager', 'organizations.getIamPolicy')).toBe(1 + 1);
      expect(cloud.count('iam', 'roles.get')).toBe(4 + 2);
      expect(cloud.count('bigquery', 'jobs.insert')).toBe(2 + 2);
      expect(await db.scalar('SELECT count(*) FROM usage_daily')).toBeGreaterThan(0);
    });
  });

  it('gives up on a call throttled without end after the configured retries', async () => {
    await withFaults(
      [
        {
          kind: 'throttle',
          service: 'cloudresourcemanager',
          operation: 'projects.getIamPolicy',
          project: 'fx-dev-0002',
        },
      ],
      async (cloud, db) => {
        const result = await assessGcp(db, cloud);
        expect(result.status).toBe('partial');
        expect(result.errors).toEqual([
          {
            accountId: 'fx-dev-0002',
            service: 'cloudresourcemanager',
            call: 'projects.getIamPolicy',
            message: expect.stringMatching(/^429/),
          },
        ]);
        // 5 projects, one of them tried 1 + 4 times.
        expect(cloud.count('cloudresourcemanager', 'projects.getIamPolicy')).toBe(4 + 5);
      },
    );
  });

  it('records a denied sink project and still loads the inventory', async () => {
    await withFaults(
      [
        {
          kind: 'bigquery-error',
          service: 'bigquery',
          project: SINK_PROJECT,
          reason: 'accessDenied',
        },
      ],
      async (cloud, db) => {
        const result = await assessGcp(db, cloud);
        expect(result.status).toBe('partial');
        expect(result.errors).toEqual([
          {
            accountId: SINK_PROJECT,
            service: 'bigquery',
            call: 'datasets.list',
            message: expect.stringMatching(/^sink datasets cannot be listed: 403 accessDenied/),
          },
          {
            service: 'bigquery',
            call: 'datasets.list',
            message: expect.stringMatching(
              /^no BigQuery dataset labelled access_discovery_audit_log_sink=true/,
            ),
          },
        ]);
        expect(
          await db.scalar('SELECT count(*) FROM principal WHERE assessment_id = $a', {
            a: result.assessmentId,
          }),
        ).toBeGreaterThan(20);
        expect(await db.scalar('SELECT count(*) FROM usage_daily')).toBe(0);
      },
    );
  });

  it('records a query job that fails in BigQuery and leaves its days to the next run', async () => {
    const faults: FaultRule[] = [
      // The dry run passes; the real job then fails inside BigQuery.
      { kind: 'slow', service: 'bigquery', operation: 'jobs.insert', delayMs: 0, count: 1 },
      {
        kind: 'bigquery-error',
        service: 'bigquery',
        operation: 'jobs.insert',
        reason: 'resourcesExceeded',
      },
    ];
    await withFaults(faults, async (cloud, db) => {
      const result = await assessGcp(db, cloud);
      expect(result.status).toBe('partial');
      expect(result.errors).toEqual([
        {
          service: 'bigquery',
          call: 'jobs.insert',
          message: expect.stringMatching(/^usage 2026-11-18\.\.2026-11-21: .*resourcesExceeded/),
        },
      ]);
      expect(await db.all('SELECT DISTINCT status FROM ingest_object')).toEqual([
        { status: 'rejected' },
      ]);
      cloud.server.setFaults([]);
      const again = await assessGcp(db, cloud);
      expect(again.status).toBe('succeeded');
      expect(await db.all('SELECT DISTINCT status FROM ingest_object')).toEqual([{ status: 'ok' }]);
    });
  });

  it('keeps a group whose members cannot be read, with its own bindings, and records it', async () => {
    await withFaults(
      [
        {
          kind: 'access-denied',
          service: 'cloudidentity',
          operation: 'groups.memberships.searchTransitiveMemberships',
        },
      ],
      async (cloud, db) => {
        const result = await assessGcp(db, cloud);
        expect(result.status).toBe('partial');
        expect(result.errors.map((e) => [e.service, e.call, e.message.split(':')[0]])).toEqual([
          ['cloudidentity', 'groups.memberships.searchTransitiveMemberships', 'group'],
          ['cloudidentity', 'groups.memberships.searchTransitiveMemberships', 'group'],
          ['cloudidentity', 'groups.memberships.searchTransitiveMemberships', 'group'],
        ]);
        const a = { a: result.assessmentId };
        expect(
          await db.scalar(
            "SELECT count(*) FROM principal_policy WHERE assessment_id = $a AND via = 'group'",
            a,
          ),
        ).toBe(0);
        const eng = await db.one<{ attributes: string }>(
          "SELECT attributes::VARCHAR AS attributes FROM principal WHERE assessment_id = $a AND principal_id = 'group:eng@fixture.example'",
          a,
        );
        expect(JSON.parse(eng?.attributes ?? '{}')).toMatchObject({
          groupName: 'groups/g-eng',
          membersResolved: false,
        });
        expect(
          await db.scalar(
            "SELECT count(*) FROM principal_policy WHERE assessment_id = $a AND principal_id = 'group:eng@fixture.example'",
            a,
          ),
        ).toBe(1);
      },
    );
  });
});
