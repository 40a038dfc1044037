import { describe, expect, it } from 'vitest';
import type { Db } from '../../../model/db.ts';
import { type GcpCloud, startGcpCloud } from '../../fixtures/cloud/gcp/harness.ts';
import {
  ACTIVITY,
  type AuditEntry,
  type AuditFile,
  DATA_ACCESS,
  defaultGcpWorld,
  type GcpWorldSpec,
  ORG_ID,
  PROD_DATA_PROJECT,
  PROD_PROJECT,
  SINK_DATASET,
  SINK_PROJECT,
} from '../../fixtures/cloud/gcp/world-builder.ts';
import { memoryDb } from '../../helpers/db.ts';
import { dataAccessDays, expectedNoPermission, expectedUsage } from './expected.ts';
import { assessGcp } from './helpers.ts';

const START = '2026-11-18';
const END = '2026-11-21';
const DAYS = ['2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21'];

async function withCloud<T>(
  spec: GcpWorldSpec,
  fn: (cloud: GcpCloud, db: Db) => Promise<T>,
): Promise<T> {
  const cloud = await startGcpCloud({ spec });
  const db = await memoryDb();
  try {
    return await fn(cloud, db);
  } finally {
    db.closeAll();
    await cloud.close();
  }
}

async function storedUsage(db: Db) {
  const rows = await db.all<{
    principal_id: string;
    action: string;
    day: string;
    account_id: string;
    calls: number;
    denied: number;
  }>(
    `SELECT principal_id, action, strftime(day, '%Y-%m-%d') AS day, account_id, calls, denied
     FROM usage_daily WHERE source = 'bigquery'`,
  );
  return rows
    .map((r) => ({ ...r }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

function withLayouts(
  activity: 'partitioned' | 'sharded',
  dataAccess: 'partitioned' | 'sharded' | 'absent',
) {
  const spec = defaultGcpWorld({ entriesPerDay: 12 });
  const sink = spec.organization.bigquery.datasets[0] as {
    tables: Array<{ tableId: string; layout: string }>;
  };
  sink.tables = [
    { tableId: ACTIVITY, layout: activity },
    ...(dataAccess === 'absent' ? [] : [{ tableId: DATA_ACCESS, layout: dataAccess }]),
  ];
  if (dataAccess === 'absent') spec.audit = spec.audit.filter((f) => f.tableId !== DATA_ACCESS);
  return spec;
}

describe('GCP usage from the BigQuery audit sink', () => {
  it.each([
    ['a partitioned activity table and a sharded data-access table', 'partitioned', 'sharded'],
    ['sharded tables only', 'sharded', 'sharded'],
    ['partitioned tables only', 'partitioned', 'partitioned'],
  ] as const)(
    'stores principal × permission × day × project from %s',
    async (_name, activity, dataAccess) => {
      const spec = withLayouts(activity, dataAccess);
      await withCloud(spec, async (cloud, db) => {
        const result = await assessGcp(db, cloud);
        expect(result.errors).toEqual([]);
        const expected = expectedUsage(spec.audit, START, END, ORG_ID);
        expect(expected.length).toBeGreaterThan(50);
        expect(expected.some((r) => r.denied > 0 && r.denied < r.calls)).toBe(true);
        expect(await storedUsage(db)).toEqual(expected);
        // Errors are the denied checks, as the lead's contract says; nothing before the window.
        const check = await db.one(
          'SELECT count(*) FILTER (WHERE errors <> denied) AS mismatched, min(day)::VARCHAR AS first FROM usage_daily',
        );
        expect(check).toEqual({ mismatched: 0, first: START });
        // One aggregation query (plus its dry run) for the whole window.
        expect(cloud.count('bigquery', 'jobs.insert')).toBe(2);
      });
    },
  );

  it('counts entries without authorizationInfo as unmapped calls, never drops them', async () => {
    const spec = withLayouts('partitioned', 'sharded');
    await withCloud(spec, async (cloud, db) => {
      await assessGcp(db, cloud);
      const unmapped = await db.all(
        'SELECT event_source, event_name, status, calls FROM unmapped_event ORDER BY event_name',
      );
      const calls = expectedNoPermission(spec.audit, START, END);
      expect(calls).toBeGreaterThan(0);
      expect(unmapped).toEqual([
        { event_source: 'gcp', event_name: '(no permission)', status: 'no-permission', calls },
      ]);
    });
  });

  it('records per project and day whether Data Access logs reach the sink, quiet days included', async () => {
    const spec = withLayouts('partitioned', 'sharded');
    await withCloud(spec, async (cloud, db) => {
      await assessGcp(db, cloud);
      const coverage = await db.all<{
        account_id: string;
        day: string;
        data_events: boolean;
        records: number;
      }>(
        `SELECT account_id, strftime(day, '%Y-%m-%d') AS day, data_events, records FROM log_coverage
         WHERE source = 'bigquery' AND region = 'global' AND account_id <> $org ORDER BY account_id, day`,
        { org: ORG_ID },
      );
      const projects = [
        ...new Set(spec.audit.flatMap((f) => f.entries.map((e) => e.resource.labels.project_id))),
      ].sort();
      // Every project the sink shows is covered on every day of the window.
      expect(coverage.map((c) => `${c.account_id}|${c.day}`)).toEqual(
        projects.flatMap((p) => DAYS.map((d) => `${p}|${d}`)),
      );
      const seen = dataAccessDays(spec.audit, START, END);
      const sinkDays = new Set([...seen].map((k) => k.split('|')[1]));
      for (const c of coverage) {
        const firstSeen = [...seen]
          .filter((k) => k.startsWith(`${c.account_id}|`))
          .map((k) => k.split('|')[1] as string)
          .sort()[0];
        const expected =
          seen.has(`${c.account_id}|${c.day}`) ||
          (firstSeen !== undefined && c.day >= firstSeen && sinkDays.has(c.day));
        expect({ ...c, data_events: c.data_events }).toEqual({ ...c, data_events: expected });
      }
      expect(coverage.some((c) => c.data_events)).toBe(true);
      // The organization (its users and groups act anywhere) records reads on a day only when
      // every project does.
      const organization = await db.all(
        `SELECT strftime(day, '%Y-%m-%d') AS day, data_events FROM log_coverage WHERE account_id = $org ORDER BY day`,
        { org: ORG_ID },
      );
      expect(organization).toEqual(
        DAYS.map((day) => ({
          day,
          data_events: coverage.filter((c) => c.day === day).every((c) => c.data_events),
        })),
      );
      const source = await db.one<{
        source_id: string;
        kind: string;
        account_id: string;
        details: string;
        selectors: string;
      }>(
        `SELECT source_id, kind, account_id, details::VARCHAR AS details, data_event_selectors::VARCHAR AS selectors FROM log_source`,
      );
      expect(source).toMatchObject({
        source_id: `${SINK_PROJECT}.${SINK_DATASET}`,
        kind: 'bigquery-sink',
        account_id: SINK_PROJECT,
      });
      expect(JSON.parse(source?.details ?? '{}')).toMatchObject({
        location: 'US',
        label: 'access_discovery_audit_log_sink',
        tables: [
          { tableId: ACTIVITY, logType: 'activity', layout: 'partitioned' },
          {
            tableId: DATA_ACCESS,
            logType: 'data_access',
            layout: 'sharded',
            shards: 4,
            firstShard: '20261118',
            lastShard: '20261121',
          },
        ],
      });
      expect(JSON.parse(source?.selectors ?? '{}')).toEqual({
        dataAccessTable: true,
        auditConfigs: [{ resource: `organizations/${ORG_ID}`, dataReadServices: ['allServices'] }],
      });
    });
  });

  it('marks no day as recording Data Access logs when the sink has no data-access table', async () => {
    const spec = withLayouts('partitioned', 'absent');
    await withCloud(spec, async (cloud, db) => {
      const result = await assessGcp(db, cloud);
      expect(result.status).toBe('succeeded');
      const flags = await db.all('SELECT DISTINCT data_events FROM log_coverage');
      expect(flags).toEqual([{ data_events: false }]);
      const selectors = await db.scalar<string>(
        'SELECT data_event_selectors::VARCHAR FROM log_source',
      );
      expect(JSON.parse(selectors ?? '{}')).toMatchObject({ dataAccessTable: false });
      expect(await storedUsage(db)).toEqual(expectedUsage(spec.audit, START, END, ORG_ID));
    });
  });
});

function entry(o: {
  ts: string;
  email?: string;
  project: string;
  checks?: Array<{ permission: string; granted?: boolean }>;
  ip?: string;
  ua?: string;
  id: string;
}): AuditEntry {
  return {
    logName: `projects/${o.project}/logs/cloudaudit.googleapis.com%2Factivity`,
    resource: { type: 'project', labels: { project_id: o.project } },
    timestamp: o.ts,
    receiveTimestamp: o.ts,
    severity: 'NOTICE',
    insertId: o.id,
    protopayload_auditlog: {
      serviceName: 'storage.googleapis.com',
      methodName: 'storage.buckets.create',
      resourceName: `projects/${o.project}`,
      authenticationInfo: o.email ? { principalEmail: o.email } : {},
      ...(o.checks
        ? { authorizationInfo: o.checks.map((c) => ({ resource: `projects/${o.project}`, ...c })) }
        : {}),
      requestMetadata: {
        ...(o.ip ? { callerIp: o.ip } : {}),
        ...(o.ua ? { callerSuppliedUserAgent: o.ua } : {}),
      },
      status: {},
    },
  };
}

describe('GCP usage: identities', () => {
  it('stores who acted per day, human or machine, with the last user agent and caller IP', async () => {
    const spec = defaultGcpWorld({ entriesPerDay: 1 });
    const alice = 'alice@fixture.example';
    const ci = `ci@${PROD_PROJECT}.iam.gserviceaccount.com`;
    const activity: AuditFile = {
      projectId: SINK_PROJECT,
      datasetId: SINK_DATASET,
      tableId: ACTIVITY,
      day: '20261120',
      entries: [
        entry({
          id: 'a1',
          ts: '2026-11-20T10:00:00.000001Z',
          email: alice,
          project: PROD_PROJECT,
          checks: [{ permission: 'storage.buckets.create', granted: true }],
          ip: '10.0.0.1',
          ua: 'A/1',
        }),
        entry({
          id: 'a2',
          ts: '2026-11-20T11:00:00Z',
          email: alice,
          project: PROD_PROJECT,
          checks: [{ permission: 'storage.buckets.delete', granted: true }],
          ip: '10.0.0.2',
          ua: 'B/1',
        }),
        entry({
          id: 'a3',
          ts: '2026-11-20T12:00:00Z',
          email: alice,
          project: PROD_DATA_PROJECT,
          checks: [{ permission: 'storage.buckets.delete' }],
        }),
        entry({
          id: 'c1',
          ts: '2026-11-20T13:00:00Z',
          email: ci,
          project: PROD_PROJECT,
          ip: '10.1.0.1',
          ua: 'ci/2',
        }),
        entry({
          id: 'n1',
          ts: '2026-11-20T14:00:00Z',
          project: PROD_PROJECT,
          checks: [{ permission: 'storage.buckets.list', granted: true }],
        }),
      ],
    };
    spec.audit = [activity];
    const sink = spec.organization.bigquery.datasets[0] as {
      tables: Array<{ tableId: string; layout: string }>;
    };
    sink.tables = [{ tableId: ACTIVITY, layout: 'partitioned' }];
    await withCloud(spec, async (cloud, db) => {
      const result = await assessGcp(db, cloud);
      expect(result.errors).toEqual([]);
      const identities = await db.all(
        `SELECT principal_id, identity, identity_kind, identity_type, strftime(day, '%Y-%m-%d') AS day, calls,
                first_seen, last_seen, last_user_agent, last_source_ip
         FROM identity_usage ORDER BY principal_id`,
      );
      expect(identities).toEqual([
        {
          principal_id: `serviceAccount:${ci}`,
          identity: ci,
          identity_kind: 'machine',
          identity_type: 'gcp',
          day: '2026-11-20',
          calls: 1,
          first_seen: '2026-11-20T13:00:00.000Z',
          last_seen: '2026-11-20T13:00:00.000Z',
          last_user_agent: 'ci/2',
          last_source_ip: '10.1.0.1',
        },
        {
          principal_id: `user:${alice}`,
          identity: alice,
          identity_kind: 'human',
          identity_type: 'gcp',
          day: '2026-11-20',
          calls: 3,
          first_seen: '2026-11-20T10:00:00.000Z',
          last_seen: '2026-11-20T12:00:00.000Z',
          // The latest call with a user agent; the last call had none.
          last_user_agent: 'B/1',
          last_source_ip: '10.0.0.2',
        },
      ]);
      expect(await storedUsage(db)).toEqual([
        {
          principal_id: `user:${alice}`,
          action: 'storage.buckets.create',
          day: '2026-11-20',
          account_id: PROD_PROJECT,
          calls: 1,
          denied: 0,
        },
        {
          principal_id: `user:${alice}`,
          action: 'storage.buckets.delete',
          day: '2026-11-20',
          account_id: PROD_PROJECT,
          calls: 1,
          denied: 0,
        },
        {
          principal_id: `user:${alice}`,
          action: 'storage.buckets.delete',
          day: '2026-11-20',
          account_id: PROD_DATA_PROJECT,
          calls: 1,
          denied: 1,
        },
      ]);
      // Quiet days of a project the sink shows are covered too, with no records.
      const coverage = await db.all(
        `SELECT account_id, strftime(day, '%Y-%m-%d') AS day, data_events, records FROM log_coverage
         ORDER BY account_id, day`,
      );
      expect(coverage).toEqual(
        [ORG_ID, PROD_PROJECT, PROD_DATA_PROJECT].sort().flatMap((p) =>
          DAYS.map((day) => ({
            account_id: p,
            day,
            data_events: false,
            records: day !== '2026-11-20' || p === ORG_ID ? 0 : p === PROD_PROJECT ? 4 : 1,
          })),
        ),
      );
      const event = await db.one('SELECT event_count FROM assessment WHERE assessment_id = $a', {
        a: result.assessmentId,
      });
      expect(event).toEqual({ event_count: 5 });
    });
  });
});
