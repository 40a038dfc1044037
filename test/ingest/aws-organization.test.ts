import { describe, expect, it } from 'vitest';
import {
  type OrganizationSnapshot,
  transformOrganization,
} from '../../ingest/aws/organizations/organization.ts';

/**
 * The pure organization transform: which accounts are assessed, excluded or skipped, and why.
 * Nested OUs (root → Workloads → Prod) check that an exclusion reaches every level below it.
 */

const ROOT = 'r-ab12';
const WORKLOADS = 'ou-ab12-aaaaaaaa';
const PROD_OU = 'ou-ab12-bbbbbbbb';
const SANDBOX = 'ou-ab12-cccccccc';

const account = (id: string, parentId: string, status = 'ACTIVE') => ({
  id,
  name: `acct-${id.slice(-2)}`,
  email: null,
  status,
  joinedAt: null,
  parentId,
  tags: {},
});

const org: OrganizationSnapshot = {
  organizationId: 'o-11111111aa',
  managementAccountId: '100000000001',
  units: [
    { id: ROOT, name: 'Root', parentId: null, kind: 'root' },
    { id: WORKLOADS, name: 'Workloads', parentId: ROOT, kind: 'ou' },
    { id: PROD_OU, name: 'Prod', parentId: WORKLOADS, kind: 'ou' },
    { id: SANDBOX, name: 'Sandbox', parentId: ROOT, kind: 'ou' },
  ],
  accounts: [
    account('100000000001', ROOT),
    account('100000000002', PROD_OU),
    account('100000000003', WORKLOADS),
    account('100000000004', SANDBOX),
    account('100000000005', SANDBOX, 'SUSPENDED'),
    account('100000000006', PROD_OU, 'SUSPENDED'),
  ],
  policies: [],
};

function transform(excludeOuIds: string[], excludeAccountIds: string[]) {
  const rows = transformOrganization(
    {
      assessmentId: 'a1',
      integrationId: 'org',
      excludeOuIds,
      excludeAccountIds,
      config: { accountRiskLevels: {}, accountRiskTags: [] },
    },
    org,
  );
  return {
    rows,
    status: Object.fromEntries(
      rows.accounts.map((a) => [a.account_id, [a.inventory_status, a.inventory_error]]),
    ),
  };
}

describe('transformOrganization exclusions', () => {
  it('excluding an OU excludes the accounts of every OU nested below it, naming the OU', () => {
    const { rows, status } = transform([WORKLOADS], []);
    expect(status['100000000002']).toEqual([
      'excluded',
      `excluded by config: under OU ${WORKLOADS}`,
    ]);
    expect(status['100000000003']).toEqual([
      'excluded',
      `excluded by config: under OU ${WORKLOADS}`,
    ]);
    expect(status['100000000001']).toEqual(['ok', null]);
    expect(status['100000000004']).toEqual(['ok', null]);
    // The nested account's path runs root → Workloads → Prod.
    expect(rows.accounts.find((a) => a.account_id === '100000000002')?.parent_path).toEqual([
      ROOT,
      WORKLOADS,
      PROD_OU,
    ]);
    const excludedNodes = rows.nodes.filter((n) => n.excluded).map((n) => n.node_id);
    expect(excludedNodes.sort()).toEqual([WORKLOADS, PROD_OU].sort());
  });

  it('an excluded account id wins over an OU exclusion with its own reason', () => {
    const { status } = transform([WORKLOADS], ['100000000002', '100000000004']);
    expect(status['100000000002']).toEqual(['excluded', 'excluded by config (excludeAccountIds)']);
    expect(status['100000000004']).toEqual(['excluded', 'excluded by config (excludeAccountIds)']);
    expect(status['100000000003']).toEqual([
      'excluded',
      `excluded by config: under OU ${WORKLOADS}`,
    ]);
  });

  it('skips a suspended account that no exclusion covers, and lets an exclusion win over suspension', () => {
    const { status } = transform([WORKLOADS], []);
    expect(status['100000000005']).toEqual(['skipped', 'account is SUSPENDED']);
    expect(status['100000000006']?.[0]).toBe('excluded');
    const none = transform([], []).status;
    expect(none['100000000006']).toEqual(['skipped', 'account is SUSPENDED']);
    expect(Object.values(none).filter(([s]) => s === 'ok')).toHaveLength(4);
  });
});
