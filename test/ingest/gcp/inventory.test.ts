import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssessmentResult } from '../../../ingest/assessment.ts';
import type { Db } from '../../../model/db.ts';
import { type GcpCloud, startGcpCloud } from '../../fixtures/cloud/gcp/harness.ts';
import {
  DEV_PROJECT,
  defaultGcpWorld,
  ORG_ID,
  PROD_DATA_PROJECT,
  PROD_PROJECT,
  PROD_SERVICE_ACCOUNTS,
  SINK_PROJECT,
} from '../../fixtures/cloud/gcp/world-builder.ts';
import { memoryDb } from '../../helpers/db.ts';
import { assessGcp } from './helpers.ts';

const ORG = `organizations/${ORG_ID}`;
const CI = `serviceAccount:ci@${PROD_PROJECT}.iam.gserviceaccount.com`;
const WIF =
  'principalSet://iam.googleapis.com/projects/3001/locations/global/workloadIdentityPools/github/attribute.repository/acme/app';
const AGENT = 'serviceAccount:service-3001@gcp-sa-pubsub.iam.gserviceaccount.com';
const WEEKDAYS = { title: 'weekdays', expression: 'request.time.getDayOfWeek() < 5' };
const DEPLOY_PREFIX = {
  title: 'deploy buckets',
  expression: "resource.name.startsWith('projects/_/buckets/deploy-')",
};

/** The builder's default world plus the member kinds and binding shapes this suite checks. */
function world() {
  const spec = defaultGcpWorld({ entriesPerDay: 5 });
  const org = spec.organization;
  org.iamPolicies['projects/3003'] = {
    version: 3,
    etag: 'BwXproj0003=',
    bindings: [
      {
        role: 'roles/viewer',
        members: [
          'allUsers',
          'allAuthenticatedUsers',
          'domain:fixture.example',
          WIF,
          `deleted:serviceAccount:gone@${DEV_PROJECT}.iam.gserviceaccount.com?uid=140000000000000000001`,
          AGENT,
        ],
      },
      // One member, one role, one resource, two conditions: one attachment, OR-ed.
      { role: 'roles/editor', members: ['user:erin@fixture.example'], condition: WEEKDAYS },
      { role: 'roles/editor', members: ['user:erin@fixture.example'], condition: DEPLOY_PREFIX },
      // Conditional and unconditional together: unconditional.
      { role: 'roles/viewer', members: ['user:frank@fixture.example'], condition: WEEKDAYS },
      { role: 'roles/viewer', members: ['user:frank@fixture.example'] },
      // A deleted custom role still bound: grants nothing.
      { role: `${ORG}/roles/fxRetired`, members: ['user:frank@fixture.example'] },
      // The group bound twice on one resource with different conditions.
      { role: 'roles/owner', members: ['group:sre@fixture.example'], condition: WEEKDAYS },
      { role: 'roles/owner', members: ['group:sre@fixture.example'], condition: DEPLOY_PREFIX },
    ],
  };
  // A group bound nowhere, only nested inside sre@.
  org.groups.push({
    name: 'groups/g-oncall',
    groupKey: { id: 'oncall@fixture.example' },
    displayName: 'On call',
    memberships: [
      {
        name: 'groups/g-oncall/memberships/m1',
        preferredMemberKey: { id: 'gina@fixture.example' },
        type: 'USER',
        roles: [{ name: 'MEMBER' }],
      },
    ],
  });
  const sre = org.groups.find((g) => g.name === 'groups/g-sre') as {
    memberships: Array<Record<string, unknown>>;
  };
  sre.memberships.push({
    name: 'groups/g-sre/memberships/m3',
    preferredMemberKey: { id: 'oncall@fixture.example' },
    type: 'GROUP',
    roles: [{ name: 'MEMBER' }],
  });
  const sandbox = org.serviceAccounts.find((sa) => sa.email.startsWith('sandbox@'));
  if (sandbox) sandbox.disabled = true;
  return spec;
}

async function rows<T extends Record<string, unknown>>(
  db: Db,
  sql: string,
  params: Record<string, string>,
): Promise<T[]> {
  return (await db.all(sql, params)) as T[];
}

describe('GCP inventory of an organization through the real clients', () => {
  let cloud: GcpCloud;
  let db: Db;
  let result: AssessmentResult;
  let a: { a: string };

  beforeAll(async () => {
    cloud = await startGcpCloud({ spec: world() });
    db = await memoryDb();
    result = await assessGcp(db, cloud);
    a = { a: result.assessmentId };
  });
  afterAll(async () => {
    db.closeAll();
    await cloud.close();
  });

  it('succeeds without errors', () => {
    expect(result.errors).toEqual([]);
    expect(result.status).toBe('succeeded');
  });

  it('stores the organization and its folders as org nodes, deleted folders left out', async () => {
    const nodes = await rows(
      db,
      'SELECT node_id, parent_id, kind, name, excluded FROM org_node WHERE assessment_id = $a ORDER BY node_id',
      a,
    );
    expect(nodes).toEqual([
      { node_id: 'folders/2001', parent_id: ORG, kind: 'folder', name: 'prod', excluded: false },
      { node_id: 'folders/2002', parent_id: ORG, kind: 'folder', name: 'dev', excluded: false },
      {
        node_id: 'folders/2003',
        parent_id: 'folders/2001',
        kind: 'folder',
        name: 'prod data',
        excluded: false,
      },
      {
        node_id: 'folders/2005',
        parent_id: 'folders/2002',
        kind: 'folder',
        name: 'dev sandbox',
        excluded: false,
      },
      {
        node_id: ORG,
        parent_id: null,
        kind: 'organization',
        name: 'fixture.example',
        excluded: false,
      },
    ]);
  });

  it('stores every project as an account with its folder path and labels; a deleted project is skipped', async () => {
    const accounts = await rows(
      db,
      `SELECT account_id, cloud, name, parent_path, status, tags::VARCHAR AS tags, risk_level, inventory_status, inventory_error
       FROM account WHERE assessment_id = $a ORDER BY account_id`,
      a,
    );
    expect(accounts.map((r) => [r.account_id, r.inventory_status, r.status])).toEqual([
      [DEV_PROJECT, 'ok', 'ACTIVE'],
      ['fx-dev-0002', 'ok', 'ACTIVE'],
      [SINK_PROJECT, 'ok', 'ACTIVE'],
      ['fx-old-0001', 'skipped', 'DELETE_REQUESTED'],
      [PROD_PROJECT, 'ok', 'ACTIVE'],
      [PROD_DATA_PROJECT, 'ok', 'ACTIVE'],
    ]);
    expect(accounts.find((r) => r.account_id === PROD_DATA_PROJECT)).toMatchObject({
      cloud: 'gcp',
      name: 'Prod Data',
      parent_path: [ORG, 'folders/2001', 'folders/2003'],
      tags: JSON.stringify({ env: 'prod', team: 'data' }),
      risk_level: 'high',
    });
    expect(accounts.find((r) => r.account_id === 'fx-old-0001')?.inventory_error).toBe(
      'project is DELETE_REQUESTED',
    );
    expect(cloud.count('cloudresourcemanager', 'projects.getIamPolicy')).toBe(5);
  });

  it('keeps binding conditions, and merges several bindings of one role on one resource', async () => {
    const attachments = await rows(
      db,
      `SELECT principal_id, policy_id, via, via_ref, condition::VARCHAR AS condition FROM principal_policy
       WHERE assessment_id = $a AND principal_id IN ('user:alice@fixture.example', 'user:erin@fixture.example', 'user:frank@fixture.example')
         AND via = 'binding' ORDER BY principal_id, policy_id`,
      a,
    );
    expect(attachments).toEqual([
      {
        principal_id: 'user:alice@fixture.example',
        policy_id: 'roles/owner',
        via: 'binding',
        via_ref: ORG,
        condition: JSON.stringify({
          title: 'until-2027',
          expression: "request.time < timestamp('2027-01-01T00:00:00Z')",
        }),
      },
      {
        principal_id: 'user:erin@fixture.example',
        policy_id: 'roles/editor',
        via: 'binding',
        via_ref: `projects/${DEV_PROJECT}`,
        condition: JSON.stringify({
          title: 'deploy buckets OR weekdays',
          expression: `(${DEPLOY_PREFIX.expression}) || (${WEEKDAYS.expression})`,
        }),
      },
      {
        principal_id: 'user:frank@fixture.example',
        policy_id: `${ORG}/roles/fxRetired`,
        via: 'binding',
        via_ref: `projects/${DEV_PROJECT}`,
        condition: null,
      },
      {
        principal_id: 'user:frank@fixture.example',
        policy_id: 'roles/viewer',
        via: 'binding',
        via_ref: `projects/${DEV_PROJECT}`,
        condition: null,
      },
    ]);
  });

  it('stores predefined roles once, shared, with their permissions sorted', async () => {
    const roles = await rows(
      db,
      `SELECT policy_id, account_id, kind, name, document::VARCHAR AS document, size_chars, parse_error
       FROM policy WHERE assessment_id = $a AND kind = 'gcp-predefined' ORDER BY policy_id`,
      a,
    );
    const predefined = cloud.spec.organization.predefinedRoles as Array<{
      name: string;
      title: string;
      includedPermissions: string[];
    }>;
    expect(roles).toEqual(
      predefined
        .map((r) => {
          const document = JSON.stringify({
            includedPermissions: [...r.includedPermissions].sort(),
          });
          return {
            policy_id: r.name,
            account_id: null,
            kind: 'gcp-predefined',
            name: r.title,
            document,
            size_chars: document.length,
            parse_error: null,
          };
        })
        .sort((x, y) => x.policy_id.localeCompare(y.policy_id)),
    );
    // Fetched once per run, not once per binding or project.
    expect(cloud.count('iam', 'roles.get')).toBe(predefined.length);
  });

  it('stores custom roles at organization and project level, a deleted one granting nothing', async () => {
    const roles = await rows(
      db,
      `SELECT policy_id, account_id, document::VARCHAR AS document, parse_error
       FROM policy WHERE assessment_id = $a AND kind = 'gcp-custom' ORDER BY policy_id`,
      a,
    );
    expect(roles).toEqual([
      {
        policy_id: `${ORG}/roles/fxAuditor`,
        account_id: ORG_ID,
        document: JSON.stringify({
          includedPermissions: ['iam.roles.get', 'resourcemanager.projects.getIamPolicy'],
        }),
        parse_error: null,
      },
      {
        policy_id: `${ORG}/roles/fxRetired`,
        account_id: ORG_ID,
        document: JSON.stringify({ includedPermissions: [] }),
        parse_error: 'custom role is deleted: its bindings grant nothing (1 permissions held back)',
      },
      {
        policy_id: `projects/${PROD_PROJECT}/roles/deployer`,
        account_id: PROD_PROJECT,
        document: JSON.stringify({
          includedPermissions: ['iam.serviceAccounts.actAs', 'run.services.create'],
        }),
        parse_error: null,
      },
    ]);
  });

  it('lets the catalog classify every permission of every role', async () => {
    const missing = await db.all(
      `SELECT DISTINCT p.permission FROM (
         SELECT unnest(from_json(document->'includedPermissions', '["VARCHAR"]')) AS permission
         FROM policy WHERE assessment_id = $a) p
       LEFT JOIN action_catalog c ON c.cloud = 'gcp' AND c.action = p.permission
       WHERE c.action IS NULL`,
      a,
    );
    expect(missing).toEqual([]);
    const level = await db.scalar(
      "SELECT privilege_level FROM action_catalog WHERE cloud = 'gcp' AND action = 'resourcemanager.projects.setIamPolicy'",
    );
    expect(level).toBe('ADMIN');
  });

  it('expands groups transitively: members inherit every role of every group they are in', async () => {
    const dave = await rows(
      db,
      `SELECT policy_id, via, via_ref, condition::VARCHAR AS condition FROM principal_policy
       WHERE assessment_id = $a AND principal_id = 'user:dave@fixture.example' ORDER BY via_ref, policy_id`,
      a,
    );
    // dave is in sre, sre in platform, platform in eng.
    expect(dave).toEqual([
      {
        policy_id: 'roles/viewer',
        via: 'group',
        via_ref: 'group:eng@fixture.example',
        condition: null,
      },
      {
        policy_id: 'roles/editor',
        via: 'group',
        via_ref: 'group:platform@fixture.example',
        condition: null,
      },
      {
        policy_id: `${ORG}/roles/fxAuditor`,
        via: 'group',
        via_ref: 'group:sre@fixture.example',
        condition: null,
      },
      {
        policy_id: 'roles/owner',
        via: 'group',
        via_ref: 'group:sre@fixture.example',
        condition: JSON.stringify({
          title: 'deploy buckets OR weekdays',
          expression: `(${DEPLOY_PREFIX.expression}) || (${WEEKDAYS.expression})`,
        }),
      },
    ]);
    const groupRows = await rows(
      db,
      `SELECT principal_id, policy_id, via, via_ref FROM principal_policy
       WHERE assessment_id = $a AND principal_id LIKE 'group:%' ORDER BY principal_id, via, policy_id`,
      a,
    );
    // Groups keep their own bindings; a nested group also inherits the outer group's roles.
    expect(groupRows).toEqual([
      {
        principal_id: 'group:eng@fixture.example',
        policy_id: 'roles/viewer',
        via: 'binding',
        via_ref: ORG,
      },
      {
        principal_id: 'group:oncall@fixture.example',
        policy_id: `${ORG}/roles/fxAuditor`,
        via: 'group',
        via_ref: 'group:sre@fixture.example',
      },
      {
        principal_id: 'group:oncall@fixture.example',
        policy_id: 'roles/editor',
        via: 'group',
        via_ref: 'group:platform@fixture.example',
      },
      {
        principal_id: 'group:oncall@fixture.example',
        policy_id: 'roles/owner',
        via: 'group',
        via_ref: 'group:sre@fixture.example',
      },
      {
        principal_id: 'group:oncall@fixture.example',
        policy_id: 'roles/viewer',
        via: 'group',
        via_ref: 'group:eng@fixture.example',
      },
      {
        principal_id: 'group:platform@fixture.example',
        policy_id: 'roles/editor',
        via: 'binding',
        via_ref: 'folders/2001',
      },
      {
        principal_id: 'group:platform@fixture.example',
        policy_id: 'roles/viewer',
        via: 'group',
        via_ref: 'group:eng@fixture.example',
      },
      {
        principal_id: 'group:sre@fixture.example',
        policy_id: `${ORG}/roles/fxAuditor`,
        via: 'binding',
        via_ref: ORG,
      },
      {
        principal_id: 'group:sre@fixture.example',
        policy_id: 'roles/owner',
        via: 'binding',
        via_ref: `projects/${DEV_PROJECT}`,
      },
      {
        principal_id: 'group:sre@fixture.example',
        policy_id: 'roles/editor',
        via: 'group',
        via_ref: 'group:platform@fixture.example',
      },
      {
        principal_id: 'group:sre@fixture.example',
        policy_id: 'roles/viewer',
        via: 'group',
        via_ref: 'group:eng@fixture.example',
      },
    ]);
    const eng = await db.one<{ attributes: string }>(
      "SELECT attributes::VARCHAR AS attributes FROM principal WHERE assessment_id = $a AND principal_id = 'group:eng@fixture.example'",
      a,
    );
    expect(JSON.parse(eng?.attributes ?? '{}')).toEqual({
      groupName: 'groups/g-eng',
      membersResolved: true,
      members: 9,
      directMembers: 3,
    });
    const alice = await db.one<{ attributes: string }>(
      "SELECT attributes::VARCHAR AS attributes FROM principal WHERE assessment_id = $a AND principal_id = 'user:alice@fixture.example'",
      a,
    );
    expect(JSON.parse(alice?.attributes ?? '{}')).toEqual({
      groups: [
        'group:eng@fixture.example',
        'group:platform@fixture.example',
        'group:sre@fixture.example',
      ],
    });
  });

  it('expands a group met only inside another group, so its members are attributed to it', async () => {
    const oncall = await db.one<{ attributes: string }>(
      "SELECT attributes::VARCHAR AS attributes FROM principal WHERE assessment_id = $a AND principal_id = 'group:oncall@fixture.example'",
      a,
    );
    expect(JSON.parse(oncall?.attributes ?? '{}')).toEqual({
      groupName: 'groups/g-oncall',
      membersResolved: true,
      members: 1,
      directMembers: 1,
      groups: [
        'group:eng@fixture.example',
        'group:platform@fixture.example',
        'group:sre@fixture.example',
      ],
    });
    const gina = await db.one<{ attributes: string }>(
      "SELECT attributes::VARCHAR AS attributes FROM principal WHERE assessment_id = $a AND principal_id = 'user:gina@fixture.example'",
      a,
    );
    expect(JSON.parse(gina?.attributes ?? '{}')).toEqual({
      groups: [
        'group:eng@fixture.example',
        'group:oncall@fixture.example',
        'group:platform@fixture.example',
        'group:sre@fixture.example',
      ],
    });
    // The nested group holds no binding, so gina's grants come through the bound groups only.
    const via = await db.all(
      "SELECT DISTINCT via_ref FROM principal_policy WHERE assessment_id = $a AND principal_id = 'user:gina@fixture.example' ORDER BY via_ref",
      a,
    );
    expect(via).toEqual([
      { via_ref: 'group:eng@fixture.example' },
      { via_ref: 'group:platform@fixture.example' },
      { via_ref: 'group:sre@fixture.example' },
    ]);
  });

  it('stores every member kind with its principal kind, identity type and account', async () => {
    const principals = await rows(
      db,
      `SELECT principal_id, account_id, kind, identity_type, name, service_linked FROM principal
       WHERE assessment_id = $a AND principal_id NOT LIKE 'serviceAccount:app-%' ORDER BY principal_id`,
      a,
    );
    const byId = Object.fromEntries(principals.map((p) => [p.principal_id, p]));
    expect(byId.allUsers).toMatchObject({
      kind: 'public',
      identity_type: 'human',
      account_id: ORG_ID,
    });
    expect(byId.allAuthenticatedUsers).toMatchObject({ kind: 'public', account_id: ORG_ID });
    expect(byId['domain:fixture.example']).toMatchObject({
      kind: 'domain',
      identity_type: 'human',
      name: 'fixture.example',
    });
    expect(byId[WIF]).toMatchObject({
      kind: 'federated',
      identity_type: 'machine',
      account_id: ORG_ID,
    });
    expect(byId['user:bob@fixture.example']).toMatchObject({
      kind: 'user',
      identity_type: 'human',
      account_id: ORG_ID,
    });
    expect(byId[CI]).toMatchObject({
      kind: 'service-account',
      identity_type: 'machine',
      account_id: PROD_PROJECT,
      service_linked: false,
    });
    // A service agent named by project number lands in that project, never remediated.
    expect(byId[AGENT]).toMatchObject({
      kind: 'service-account',
      account_id: PROD_PROJECT,
      service_linked: true,
    });
    expect(principals.some((p) => String(p.principal_id).startsWith('deleted:'))).toBe(false);
    const accounts = await db.scalar<number>(
      "SELECT count(*) FROM principal WHERE assessment_id = $a AND principal_id LIKE 'serviceAccount:app-%'",
      a,
    );
    expect(accounts).toBe(PROD_SERVICE_ACCOUNTS - 1);
    // Public members keep their binding so scoring can weigh the exposure.
    const publicRows = await db.all(
      "SELECT policy_id, via_ref FROM principal_policy WHERE assessment_id = $a AND principal_id = 'allUsers'",
      a,
    );
    expect(publicRows).toEqual([{ policy_id: 'roles/viewer', via_ref: `projects/${DEV_PROJECT}` }]);
  });

  it('stores service accounts with their user-managed keys only, and the disabled flag', async () => {
    const ci = await db.one<{
      unique_id: string;
      created_at: string | null;
      last_used_at: string | null;
      attributes: string;
    }>(
      `SELECT unique_id, created_at, last_used_at, attributes::VARCHAR AS attributes FROM principal
       WHERE assessment_id = $a AND principal_id = $p`,
      { ...a, p: CI },
    );
    expect(ci).toMatchObject({
      unique_id: '110000000000000000000',
      created_at: null,
      last_used_at: null,
    });
    expect(JSON.parse(ci?.attributes ?? '{}')).toMatchObject({
      email: `ci@${PROD_PROJECT}.iam.gserviceaccount.com`,
      listed: true,
      disabled: false,
      userManagedKeys: [
        { keyId: '0000key1', createdAt: '2026-01-10T08:00:00Z', expiresAt: null, disabled: false },
        { keyId: '0000key2', createdAt: '2026-01-10T08:00:00Z', expiresAt: null, disabled: true },
      ],
    });
    const keys = await rows(
      db,
      `SELECT credential_id, principal_id, kind, status, created_at FROM credential
       WHERE assessment_id = $a ORDER BY credential_id`,
      a,
    );
    expect(keys).toEqual([
      {
        credential_id: `projects/${PROD_PROJECT}/serviceAccounts/ci@${PROD_PROJECT}.iam.gserviceaccount.com/keys/0000key1`,
        principal_id: CI,
        kind: 'service-account-key',
        status: 'enabled',
        created_at: '2026-01-10T08:00:00.000Z',
      },
      {
        credential_id: `projects/${PROD_PROJECT}/serviceAccounts/ci@${PROD_PROJECT}.iam.gserviceaccount.com/keys/0000key2`,
        principal_id: CI,
        kind: 'service-account-key',
        status: 'disabled',
        created_at: '2026-01-10T08:00:00.000Z',
      },
      {
        credential_id: `projects/${PROD_DATA_PROJECT}/serviceAccounts/etl@${PROD_DATA_PROJECT}.iam.gserviceaccount.com/keys/0001key1`,
        principal_id: `serviceAccount:etl@${PROD_DATA_PROJECT}.iam.gserviceaccount.com`,
        kind: 'service-account-key',
        status: 'enabled',
        created_at: '2026-01-10T08:00:00.000Z',
      },
    ]);
    const sandbox = await db.one<{ attributes: string }>(
      `SELECT attributes::VARCHAR AS attributes FROM principal WHERE assessment_id = $a
         AND principal_id = 'serviceAccount:sandbox@${DEV_PROJECT}.iam.gserviceaccount.com'`,
      a,
    );
    expect(JSON.parse(sandbox?.attributes ?? '{}')).toMatchObject({
      disabled: true,
      userManagedKeys: [],
    });
  });
});

describe('GCP inventory with exclusions', () => {
  it('excludes folders (with everything below) and projects, and reads nothing of them', async () => {
    const cloud = await startGcpCloud({ spec: defaultGcpWorld({ entriesPerDay: 2 }) });
    const db = await memoryDb();
    try {
      const result = await assessGcp(db, cloud, {
        integration: { excludeFolderIds: ['2002'], excludeProjectIds: [PROD_DATA_PROJECT] },
      });
      expect(result.status).toBe('succeeded');
      const a = { a: result.assessmentId };
      const accounts = await db.all(
        'SELECT account_id, inventory_status, inventory_error FROM account WHERE assessment_id = $a ORDER BY account_id',
        a,
      );
      expect(accounts).toEqual([
        {
          account_id: DEV_PROJECT,
          inventory_status: 'excluded',
          inventory_error: 'excluded by config: under folders/2002',
        },
        {
          account_id: 'fx-dev-0002',
          inventory_status: 'excluded',
          inventory_error: 'excluded by config: under folders/2002',
        },
        { account_id: SINK_PROJECT, inventory_status: 'ok', inventory_error: null },
        {
          account_id: 'fx-old-0001',
          inventory_status: 'excluded',
          inventory_error: 'excluded by config: under folders/2002',
        },
        { account_id: PROD_PROJECT, inventory_status: 'ok', inventory_error: null },
        {
          account_id: PROD_DATA_PROJECT,
          inventory_status: 'excluded',
          inventory_error: 'excluded by config (excludeProjectIds)',
        },
      ]);
      const excludedNodes = await db.all(
        'SELECT node_id FROM org_node WHERE assessment_id = $a AND excluded ORDER BY node_id',
        a,
      );
      expect(excludedNodes).toEqual([{ node_id: 'folders/2002' }, { node_id: 'folders/2005' }]);
      const fromExcluded = await db.scalar<number>(
        "SELECT count(*) FROM principal WHERE assessment_id = $a AND account_id IN ('fx-dev-0001', 'fx-prod-0002')",
        a,
      );
      expect(fromExcluded).toBe(0);
      expect(cloud.count('cloudresourcemanager', 'projects.getIamPolicy')).toBe(2);
      expect(cloud.count('iam', 'projects.serviceAccounts.list')).toBeGreaterThan(0);
      const assessment = await db.one(
        'SELECT account_count FROM assessment WHERE assessment_id = $a',
        a,
      );
      expect(assessment).toEqual({ account_count: 2 });
    } finally {
      db.closeAll();
      await cloud.close();
    }
  });
});
