import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyGcpPermission } from '../../../scoring/catalog/index.ts';
import { startGcpCloud } from '../../fixtures/cloud/gcp/harness.ts';
import {
  ACTIVITY,
  type AuditEntry,
  type AuditFile,
  DATA_ACCESS,
  defaultGcpWorld,
  ORG_ID,
  SINK_DATASET,
  SINK_PROJECT,
} from '../../fixtures/cloud/gcp/world-builder.ts';
import { memoryDb } from '../../helpers/db.ts';
import { HAS_REALDATA, realdataPath } from '../../helpers/realdata.ts';
import { expectedNoPermission, expectedUsage } from './expected.ts';
import { assessGcp } from './helpers.ts';

/**
 * Real Cloud Audit Log entries (googleapis/google-cloudevents samples), turned into the rows a
 * BigQuery log sink writes, served by the fixture BigQuery, and read by the ingestion's own
 * aggregation query.
 */

interface LogEntry {
  insertId: string;
  logName: string;
  timestamp: string;
  receiveTimestamp?: string;
  severity?: string;
  resource: { type: string; labels: Record<string, string> };
  protoPayload: {
    serviceName: string;
    methodName: string;
    resourceName?: string;
    authenticationInfo?: { principalEmail?: string };
    authorizationInfo?: Array<{ resource?: string; permission?: string; granted?: boolean }>;
    requestMetadata?: { callerIp?: string; callerSuppliedUserAgent?: string };
    status?: { code?: number; message?: string };
  };
}

const DIR = realdataPath('gcp', 'audit-log-entries');

function samples(): Array<{ file: string; entry: LogEntry }> {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({
      file,
      entry: JSON.parse(readFileSync(`${DIR}/${file}`, 'utf8')) as LogEntry,
    }));
}

/**
 * The sink row of a LogEntry, as a BigQuery log sink writes it: the AuditLog payload lands in
 * the `protopayload_auditlog` column (the sink names the column after the payload type).
 */
function toSinkRow(entry: LogEntry): AuditEntry {
  const p = entry.protoPayload;
  return {
    logName: entry.logName,
    resource: entry.resource,
    timestamp: entry.timestamp,
    receiveTimestamp: entry.receiveTimestamp ?? entry.timestamp,
    severity: entry.severity ?? 'DEFAULT',
    insertId: entry.insertId,
    protopayload_auditlog: {
      serviceName: p.serviceName,
      methodName: p.methodName,
      resourceName: p.resourceName ?? '',
      authenticationInfo: p.authenticationInfo?.principalEmail
        ? { principalEmail: p.authenticationInfo.principalEmail }
        : {},
      ...(p.authorizationInfo
        ? {
            authorizationInfo: p.authorizationInfo.map((a) => ({
              ...(a.resource !== undefined ? { resource: a.resource } : {}),
              ...(a.permission !== undefined ? { permission: a.permission } : {}),
              ...(a.granted !== undefined ? { granted: a.granted } : {}),
            })),
          }
        : {}),
      requestMetadata: {
        ...(p.requestMetadata?.callerIp ? { callerIp: p.requestMetadata.callerIp } : {}),
        ...(p.requestMetadata?.callerSuppliedUserAgent
          ? { callerSuppliedUserAgent: p.requestMetadata.callerSuppliedUserAgent }
          : {}),
      },
      status: p.status ?? {},
    },
  };
}

function tableOf(entry: LogEntry): string {
  if (entry.logName.endsWith('%2Factivity')) return ACTIVITY;
  if (entry.logName.endsWith('%2Fdata_access')) return DATA_ACCESS;
  throw new Error(`not an Admin Activity or Data Access entry: ${entry.logName}`);
}

function minusDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) - n * 86_400_000).toISOString().slice(0, 10);
}

describe.skipIf(!HAS_REALDATA)('GCP usage from real Cloud Audit Log entries', () => {
  it('extracts the permissions, callers and Data Access coverage the real entries carry', async () => {
    const all = samples();
    expect(all.length).toBeGreaterThan(0);
    const files = new Map<string, AuditFile>();
    for (const { entry } of all) {
      const tableId = tableOf(entry);
      const day = entry.timestamp.slice(0, 10).replaceAll('-', '');
      const key = `${tableId}/${day}`;
      const file = files.get(key) ?? {
        projectId: SINK_PROJECT,
        datasetId: SINK_DATASET,
        tableId,
        day,
        entries: [],
      };
      file.entries.push(toSinkRow(entry));
      files.set(key, file);
    }
    const spec = defaultGcpWorld({ entriesPerDay: 1 });
    spec.audit = [...files.values()];
    const sink = spec.organization.bigquery.datasets[0] as {
      tables: Array<{ tableId: string; layout: string }>;
    };
    sink.tables = [
      { tableId: ACTIVITY, layout: 'partitioned' },
      { tableId: DATA_ACCESS, layout: 'partitioned' },
    ];
    const cloud = await startGcpCloud({ spec });
    const db = await memoryDb();
    try {
      // One assessment per sample day (the samples are years apart), each window ending on it.
      const days = [...new Set(all.map((s) => s.entry.timestamp.slice(0, 10)))].sort();
      for (const day of days) {
        const result = await assessGcp(db, cloud, { asOf: day });
        expect(result.errors).toEqual([]);
      }
      const stored = await db.all(
        `SELECT principal_id, action, strftime(day, '%Y-%m-%d') AS day, account_id, calls, denied
         FROM usage_daily ORDER BY principal_id, action, day, account_id`,
      );
      const expected = days.flatMap((d) => expectedUsage(spec.audit, minusDays(d, 3), d, ORG_ID));
      expect(stored).toEqual(expected);
      // The pub/sub sample: a service account creating a topic, granted.
      expect(stored).toContainEqual({
        principal_id: 'serviceAccount:robot@test-project.iam.gserviceaccount.com',
        action: 'pubsub.topics.create',
        day: '2020-06-30',
        account_id: 'test-project',
        calls: 1,
        denied: 0,
      });
      // Every permission used is in the catalog after the run, so scoring can classify it.
      const unclassified = await db.all(
        `SELECT DISTINCT u.action FROM usage_daily u
         LEFT JOIN action_catalog c ON c.cloud = 'gcp' AND c.action = u.action WHERE c.action IS NULL`,
      );
      expect(unclassified).toEqual([]);
      // The BigQuery sample carries no authorizationInfo: counted, mapped to no permission.
      const unmapped = await db.all(
        'SELECT event_source, event_name, status, calls FROM unmapped_event',
      );
      const noPermission = days.reduce(
        (n, d) => n + expectedNoPermission(spec.audit, minusDays(d, 3), d),
        0,
      );
      expect(unmapped).toEqual(
        noPermission > 0
          ? [
              {
                event_source: 'gcp',
                event_name: '(no permission)',
                status: 'no-permission',
                calls: noPermission,
              },
            ]
          : [],
      );
      const identities = await db.all(
        `SELECT identity, identity_kind, last_user_agent, last_source_ip FROM identity_usage ORDER BY identity`,
      );
      expect(identities).toEqual(
        all
          .map(({ entry }) => ({
            identity: entry.protoPayload.authenticationInfo?.principalEmail,
            identity_kind: entry.protoPayload.authenticationInfo?.principalEmail?.endsWith(
              '.gserviceaccount.com',
            )
              ? 'machine'
              : 'human',
            last_user_agent: entry.protoPayload.requestMetadata?.callerSuppliedUserAgent ?? null,
            last_source_ip: entry.protoPayload.requestMetadata?.callerIp ?? null,
          }))
          .filter((i) => i.identity !== undefined)
          .sort((a, b) => String(a.identity).localeCompare(String(b.identity))),
      );
      // Data Access entries mark their project and day as recording reads.
      const coverage = await db.all(
        `SELECT account_id, strftime(day, '%Y-%m-%d') AS day, data_events FROM log_coverage
         WHERE records > 0 ORDER BY day, account_id`,
      );
      expect(coverage).toEqual(
        all
          .map(({ entry }) => ({
            account_id: entry.resource.labels.project_id,
            day: entry.timestamp.slice(0, 10),
            data_events: tableOf(entry) === DATA_ACCESS,
          }))
          .sort((a, b) => `${a.day}${a.account_id}`.localeCompare(`${b.day}${b.account_id}`)),
      );
    } finally {
      db.closeAll();
      await cloud.close();
    }
  });

  it('lets the catalog classify every permission the real entries name', async () => {
    const named = [
      ...new Set(
        samples().flatMap(({ entry }) =>
          (entry.protoPayload.authorizationInfo ?? []).flatMap((a) =>
            a.permission ? [a.permission] : [],
          ),
        ),
      ),
    ];
    expect(named.length).toBeGreaterThan(0);
    for (const permission of named) {
      const classified = classifyGcpPermission(permission);
      expect(classified.action).toBe(permission);
      expect(classified.level).toMatch(/^(LIST|READ|TAGGING|WRITE|IAM|ADMIN)$/);
    }
    expect(classifyGcpPermission('pubsub.topics.create').level).toBe('WRITE');
  });
});
