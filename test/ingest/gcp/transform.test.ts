import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import {
  type AggregateSource,
  gcpUsageAggregateSql,
} from '../../../fixtures/cloud/gcp/bigquery-contract.ts';
import { classifyTables } from '../../../ingest/gcp/bigquery/sinks.ts';
import {
  aggregateParams,
  aggregateQuery,
  contiguousRanges,
  sinkSetKey,
  toStageRow,
} from '../../../ingest/gcp/bigquery/usage.ts';
import { memberString } from '../../../ingest/gcp/cloudidentity/groups.ts';
import {
  callerMember,
  isServiceAgent,
  parseMember,
  serviceAccountProject,
} from '../../../ingest/gcp/principals.ts';
import {
  type GcpHierarchy,
  transformHierarchy,
} from '../../../ingest/gcp/resourcemanager/hierarchy.ts';
import { mergeConditions } from '../../../ingest/gcp/resourcemanager/iam-policy.ts';
import { IngestError } from '../../../lib/errors.ts';

interface MemberCase {
  name: string;
  input: string;
  expected: ReturnType<typeof parseMember> | null;
}

const memberCases = JSON.parse(
  readFileSync(join(import.meta.dirname, 'member-cases.json'), 'utf8'),
) as MemberCase[];

describe('GCP member strings', () => {
  it.each(memberCases)('$name', ({ input, expected }) => {
    expect(parseMember(input) ?? null).toEqual(expected);
  });

  it('turns audit-log callers into the member strings bindings use', () => {
    expect(callerMember('alice@fixture.example')).toBe('user:alice@fixture.example');
    expect(callerMember('ci@fx-prod-0001.iam.gserviceaccount.com')).toBe(
      'serviceAccount:ci@fx-prod-0001.iam.gserviceaccount.com',
    );
    expect(callerMember('123-compute@developer.gserviceaccount.com')).toBe(
      'serviceAccount:123-compute@developer.gserviceaccount.com',
    );
    expect(
      callerMember(
        'principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/subject/s',
      ),
    ).toBe(
      'principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/subject/s',
    );
  });

  it('names transitive group members as IAM would', () => {
    expect(memberString('groups/g-platform', 'platform@fixture.example')).toBe(
      'group:platform@fixture.example',
    );
    expect(memberString('users/123', 'bob@fixture.example')).toBe('user:bob@fixture.example');
    expect(memberString('users/456', 'ci@fx-prod-0001.iam.gserviceaccount.com')).toBe(
      'serviceAccount:ci@fx-prod-0001.iam.gserviceaccount.com',
    );
  });

  it('finds the project of a service account from its email', () => {
    expect(serviceAccountProject('ci@fx-prod-0001.iam.gserviceaccount.com')).toEqual({
      projectId: 'fx-prod-0001',
    });
    expect(serviceAccountProject('3001-compute@developer.gserviceaccount.com')).toEqual({
      projectNumber: '3001',
    });
    expect(serviceAccountProject('service-3001@gcp-sa-pubsub.iam.gserviceaccount.com')).toEqual({
      projectNumber: '3001',
    });
    expect(serviceAccountProject('3001@cloudservices.gserviceaccount.com')).toEqual({
      projectNumber: '3001',
    });
    expect(serviceAccountProject('fx-prod-0001@appspot.gserviceaccount.com')).toEqual({
      projectId: 'fx-prod-0001',
    });
    expect(serviceAccountProject('someone@example.com')).toBeUndefined();
  });

  it('tells Google-managed service agents from customer-managed accounts', () => {
    expect(isServiceAgent('service-3001@gcp-sa-pubsub.iam.gserviceaccount.com')).toBe(true);
    expect(isServiceAgent('3001@cloudservices.gserviceaccount.com')).toBe(true);
    expect(isServiceAgent('3001-compute@developer.gserviceaccount.com')).toBe(false);
    expect(isServiceAgent('fx-prod-0001@appspot.gserviceaccount.com')).toBe(false);
    expect(isServiceAgent('ci@fx-prod-0001.iam.gserviceaccount.com')).toBe(false);
  });
});

describe('binding conditions', () => {
  const a = { title: 'a', expression: "resource.name.startsWith('x')" };
  const b = { title: 'b', expression: 'request.time < timestamp("2027-01-01T00:00:00Z")' };

  it('keeps a single condition as it is', () => {
    expect(mergeConditions([a])).toEqual(a);
    expect(mergeConditions([a, a])).toEqual(a);
  });

  it('is unconditional when any binding is', () => {
    expect(mergeConditions([a, null])).toBeNull();
    expect(mergeConditions([])).toBeNull();
  });

  it('joins different conditions with OR, in a stable order', () => {
    const merged = mergeConditions([b, a]);
    expect(merged).toEqual({
      title: 'a OR b',
      expression: `(${a.expression}) || (${b.expression})`,
    });
    expect(mergeConditions([a, b])).toEqual(merged);
  });
});

describe('hierarchy transform', () => {
  const config = parseConfig({
    integrations: [{ id: 'x', kind: 'gcp-organization', organizationId: '1' }],
  });
  const hierarchy: GcpHierarchy = {
    organization: {
      name: 'organizations/1',
      displayName: 'acme.example',
      directoryCustomerId: 'C1',
    },
    folders: [
      { name: 'folders/10', parent: 'organizations/1', displayName: 'prod' },
      { name: 'folders/11', parent: 'organizations/1', displayName: 'dev' },
      { name: 'folders/12', parent: 'folders/11', displayName: 'sandbox' },
    ],
    projects: [
      {
        name: 'projects/100',
        projectId: 'acme-prod-1',
        parent: 'folders/10',
        displayName: 'Prod',
        state: 'ACTIVE',
        labels: { env: 'prod' },
      },
      {
        name: 'projects/101',
        projectId: 'acme-sbx-1',
        parent: 'folders/12',
        displayName: 'Sandbox',
        state: 'ACTIVE',
        labels: {},
      },
      {
        name: 'projects/102',
        projectId: 'acme-old-1',
        parent: 'folders/10',
        displayName: 'Old',
        state: 'DELETE_REQUESTED',
        labels: {},
      },
      {
        name: 'projects/103',
        projectId: 'acme-prod-2',
        parent: 'folders/10',
        displayName: 'Prod 2',
        state: 'ACTIVE',
        labels: {},
      },
    ],
    failures: [],
  };

  it('marks excluded folders (and below), excluded projects and deleted projects', () => {
    const { nodes, accounts } = transformHierarchy(
      {
        assessmentId: 'a',
        integrationId: 'x',
        excludeFolderIds: ['11'],
        excludeProjectIds: ['acme-prod-2'],
        config,
      },
      hierarchy,
    );
    expect(nodes.map((n) => [n.node_id, n.kind, n.parent_id, n.excluded])).toEqual([
      ['organizations/1', 'organization', null, false],
      ['folders/10', 'folder', 'organizations/1', false],
      ['folders/11', 'folder', 'organizations/1', true],
      ['folders/12', 'folder', 'folders/11', true],
    ]);
    expect(
      accounts.map((a) => [a.account_id, a.inventory_status, a.inventory_error, a.parent_path]),
    ).toEqual([
      ['acme-prod-1', 'ok', null, ['organizations/1', 'folders/10']],
      [
        'acme-sbx-1',
        'excluded',
        'excluded by config: under folders/11',
        ['organizations/1', 'folders/11', 'folders/12'],
      ],
      ['acme-old-1', 'skipped', 'project is DELETE_REQUESTED', ['organizations/1', 'folders/10']],
      [
        'acme-prod-2',
        'excluded',
        'excluded by config (excludeProjectIds)',
        ['organizations/1', 'folders/10'],
      ],
    ]);
    expect(accounts[0]).toMatchObject({
      cloud: 'gcp',
      tags: { env: 'prod' },
      risk_level: 'high',
      risk_source: 'tag',
      status: 'ACTIVE',
    });
  });
});

describe('BigQuery usage pieces', () => {
  it('groups days to query into contiguous ranges', () => {
    expect(contiguousRanges(['2026-11-21', '2026-11-18', '2026-11-19', '2026-11-21'])).toEqual([
      { start: '2026-11-18', end: '2026-11-19' },
      { start: '2026-11-21', end: '2026-11-21' },
    ]);
    expect(contiguousRanges(['2026-02-28', '2026-03-01'])).toEqual([
      { start: '2026-02-28', end: '2026-03-01' },
    ]);
  });

  it('passes the day after the range as end_day, and shard suffixes only for sharded tables', () => {
    const range = { start: '2026-11-18', end: '2026-11-21' };
    const sharded = aggregateParams(range, true);
    expect(Object.keys(sharded).sort()).toEqual([
      'end_day',
      'end_suffix',
      'start_day',
      'start_suffix',
    ]);
    expect(sharded).toMatchObject({
      start_day: { value: '2026-11-18' },
      end_day: { value: '2026-11-22' },
      start_suffix: '20261118',
      end_suffix: '20261121',
    });
    expect(Object.keys(aggregateParams(range, false)).sort()).toEqual(['end_day', 'start_day']);
  });

  it('finds partitioned tables, shards, and both when a sink switched layout', () => {
    const tables = classifyTables([
      { id: 'cloudaudit_googleapis_com_activity', partitioned: true },
      { id: 'cloudaudit_googleapis_com_activity_20260101', partitioned: false },
      { id: 'cloudaudit_googleapis_com_data_access_20261118', partitioned: false },
      { id: 'cloudaudit_googleapis_com_data_access_20261117', partitioned: false },
      { id: 'cloudaudit_googleapis_com_system_event', partitioned: true },
      { id: 'unrelated_20261118', partitioned: false },
    ]);
    expect(tables).toEqual([
      {
        logType: 'activity',
        tableId: 'cloudaudit_googleapis_com_activity',
        sharded: false,
        shards: [],
      },
      {
        logType: 'activity',
        tableId: 'cloudaudit_googleapis_com_activity',
        sharded: true,
        shards: ['20260101'],
      },
      {
        logType: 'data_access',
        tableId: 'cloudaudit_googleapis_com_data_access',
        sharded: true,
        shards: ['20261117', '20261118'],
      },
    ]);
  });

  it('sends exactly the gcp-usage-aggregate v1 text of fixtures/FORMAT.md, for any mix of layouts', () => {
    const normalize = (q: string) => q.replace(/\s+/g, ' ').trim();
    const sinks = [
      {
        projectId: 'acme-logging',
        datasetId: 'org_audit',
        location: 'US',
        tables: classifyTables([
          { id: 'cloudaudit_googleapis_com_activity', partitioned: true },
          { id: 'cloudaudit_googleapis_com_data_access_20261118', partitioned: false },
        ]),
      },
      {
        projectId: 'acme-logging',
        datasetId: 'folder_audit',
        location: 'US',
        tables: classifyTables([
          { id: 'cloudaudit_googleapis_com_activity_20261118', partitioned: false },
          { id: 'cloudaudit_googleapis_com_data_access', partitioned: true },
        ]),
      },
    ];
    const sources: AggregateSource[] = sinks.flatMap((sink) =>
      sink.tables.map((t) => ({
        projectId: sink.projectId,
        datasetId: sink.datasetId,
        tableId: t.tableId,
        sharded: t.sharded,
        logType: t.logType,
      })),
    );
    expect(normalize(aggregateQuery(sinks))).toBe(normalize(gcpUsageAggregateSql(sources)));
    // Identifiers are checked, never pasted in as they come.
    const bad = sinks.map((sink) => ({ ...sink, datasetId: 'x`; DROP TABLE y; --' }));
    expect(() => aggregateQuery(bad)).toThrow(IngestError);
  });

  it('keys the ledger by the set of sink datasets, in any order', () => {
    const a = { projectId: 'p-logs-01', datasetId: 'a', location: 'US', tables: [] };
    const b = { projectId: 'p-logs-01', datasetId: 'b', location: 'US', tables: [] };
    expect(sinkSetKey([b, a])).toBe('bigquery/p-logs-01.a+p-logs-01.b');
  });

  it('stages a result row with the caller as member string and the permission checked', () => {
    const base = {
      day: { value: '2026-11-18' },
      project_id: 'fx-prod-0001',
      log_type: 'activity',
      calls: 3,
      denied: 1,
      first_seen: { value: '2026-11-18T01:00:00.000001Z' },
      last_seen: { value: '2026-11-18T02:00:00Z' },
      last_caller_ip: '10.0.0.1',
      last_user_agent: null,
      delegate_email: null,
    };
    expect(
      toStageRow({
        ...base,
        principal_email: 'ci@fx-prod-0001.iam.gserviceaccount.com',
        permission: 'storage.buckets.create',
      }),
    ).toMatchObject({
      principal_id: 'serviceAccount:ci@fx-prod-0001.iam.gserviceaccount.com',
      identity: 'ci@fx-prod-0001.iam.gserviceaccount.com',
      identity_kind: 'machine',
      action: 'storage.buckets.create',
      action_status: 'mapped',
      day: '2026-11-18',
    });
    expect(
      toStageRow({ ...base, principal_email: 'alice@fixture.example', permission: null }),
    ).toMatchObject({
      principal_id: 'user:alice@fixture.example',
      identity_kind: 'human',
      action_status: 'no-permission',
    });
    expect(
      toStageRow({ ...base, principal_email: null, permission: 'not a permission' }),
    ).toMatchObject({
      principal_id: null,
      action_status: 'unmapped',
    });
    // An impersonated service account: the principal stays the account, the person is the identity.
    expect(
      toStageRow({
        ...base,
        principal_email: 'release-deployer@fx-prod-0001.iam.gserviceaccount.com',
        delegate_email: 'lena.baker@fixture.example',
        permission: 'run.services.update',
      }),
    ).toMatchObject({
      principal_id: 'serviceAccount:release-deployer@fx-prod-0001.iam.gserviceaccount.com',
      identity: 'lena.baker@fixture.example',
      identity_kind: 'human',
    });
    expect(() => toStageRow({ ...base, calls: 'three' })).toThrow(IngestError);
  });
});
