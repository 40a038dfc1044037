import {
  type Account,
  DescribeOrganizationCommand,
  DescribePolicyCommand,
  ListAccountsForParentCommand,
  type ListAccountsForParentCommandOutput,
  ListOrganizationalUnitsForParentCommand,
  type ListOrganizationalUnitsForParentCommandOutput,
  ListPoliciesCommand,
  type ListPoliciesCommandOutput,
  ListRootsCommand,
  type ListRootsCommandOutput,
  ListTagsForResourceCommand,
  type ListTagsForResourceCommandOutput,
  ListTargetsForPolicyCommand,
  type ListTargetsForPolicyCommandOutput,
  type OrganizationsClient,
} from '@aws-sdk/client-organizations';
import type { Config } from '../../../config/schema.ts';
import { IngestError } from '../../../lib/errors.ts';
import type { AccountRow, OrgNodeRow, PolicyRow, PolicyTargetRow } from '../../../model/rows.ts';
import { collectPages } from '../../paginate.ts';
import { policySize, toIso } from '../iam/authorization-details.ts';

/**
 * The AWS organization: roots, nested OUs, accounts with their OU path, tags and status, and
 * service control policies with their targets. Read from the management account.
 */

export interface OrgAccount {
  id: string;
  name: string;
  email: string | null;
  status: string;
  joinedAt: string | null;
  parentId: string;
  tags: Record<string, string>;
}

export interface OrgUnit {
  id: string;
  name: string;
  parentId: string | null;
  kind: 'root' | 'ou';
}

export interface OrgPolicy {
  id: string;
  arn: string;
  name: string;
  awsManaged: boolean;
  content: string;
  targets: Array<{ id: string; type: string }>;
}

export interface OrganizationSnapshot {
  organizationId: string;
  managementAccountId: string;
  units: OrgUnit[];
  accounts: OrgAccount[];
  policies: OrgPolicy[];
}

// --- get -------------------------------------------------------------------------------------

export async function getOrganization(client: OrganizationsClient): Promise<OrganizationSnapshot> {
  const org = (await client.send(new DescribeOrganizationCommand({}))).Organization;
  if (!org?.Id || !org.MasterAccountId) {
    throw new IngestError('DescribeOrganization returned no organization id', {
      call: 'DescribeOrganization',
    });
  }
  const roots = await collectPages<
    ListRootsCommandOutput,
    NonNullable<ListRootsCommandOutput['Roots']>[number]
  >(
    (NextToken) => client.send(new ListRootsCommand({ NextToken })),
    (p) => p.NextToken,
    (p) => p.Roots,
  );
  const units: OrgUnit[] = roots.map((r) => ({
    id: r.Id!,
    name: r.Name ?? 'Root',
    parentId: null,
    kind: 'root',
  }));
  const accounts: OrgAccount[] = [];
  const queue = units.map((u) => u.id);
  while (queue.length) {
    const parentId = queue.shift()!;
    const ous = await collectPages<
      ListOrganizationalUnitsForParentCommandOutput,
      NonNullable<ListOrganizationalUnitsForParentCommandOutput['OrganizationalUnits']>[number]
    >(
      (NextToken) =>
        client.send(new ListOrganizationalUnitsForParentCommand({ ParentId: parentId, NextToken })),
      (p) => p.NextToken,
      (p) => p.OrganizationalUnits,
    );
    for (const ou of ous) {
      units.push({ id: ou.Id!, name: ou.Name ?? ou.Id!, parentId, kind: 'ou' });
      queue.push(ou.Id!);
    }
    const children = await collectPages<ListAccountsForParentCommandOutput, Account>(
      (NextToken) =>
        client.send(new ListAccountsForParentCommand({ ParentId: parentId, NextToken })),
      (p) => p.NextToken,
      (p) => p.Accounts,
    );
    for (const a of children) {
      const tags = await collectPages<
        ListTagsForResourceCommandOutput,
        NonNullable<ListTagsForResourceCommandOutput['Tags']>[number]
      >(
        (NextToken) =>
          client.send(new ListTagsForResourceCommand({ ResourceId: a.Id!, NextToken })),
        (p) => p.NextToken,
        (p) => p.Tags,
      );
      accounts.push({
        id: a.Id!,
        name: a.Name ?? a.Id!,
        email: a.Email ?? null,
        status: a.State ?? a.Status ?? 'UNKNOWN',
        joinedAt: a.JoinedTimestamp ? toIso(a.JoinedTimestamp) : null,
        parentId,
        tags: Object.fromEntries(tags.map((t) => [t.Key!, t.Value ?? ''])),
      });
    }
  }
  const summaries = await collectPages<
    ListPoliciesCommandOutput,
    NonNullable<ListPoliciesCommandOutput['Policies']>[number]
  >(
    (NextToken) =>
      client.send(new ListPoliciesCommand({ Filter: 'SERVICE_CONTROL_POLICY', NextToken })),
    (p) => p.NextToken,
    (p) => p.Policies,
  );
  const policies: OrgPolicy[] = [];
  for (const s of summaries) {
    const described = await client.send(new DescribePolicyCommand({ PolicyId: s.Id! }));
    const targets = await collectPages<
      ListTargetsForPolicyCommandOutput,
      NonNullable<ListTargetsForPolicyCommandOutput['Targets']>[number]
    >(
      (NextToken) => client.send(new ListTargetsForPolicyCommand({ PolicyId: s.Id!, NextToken })),
      (p) => p.NextToken,
      (p) => p.Targets,
    );
    policies.push({
      id: s.Id!,
      arn: s.Arn!,
      name: s.Name ?? s.Id!,
      awsManaged: s.AwsManaged ?? false,
      content: described.Policy?.Content ?? '',
      targets: targets.map((t) => ({ id: t.TargetId!, type: t.Type! })),
    });
  }
  return {
    organizationId: org.Id,
    managementAccountId: org.MasterAccountId,
    units,
    accounts,
    policies,
  };
}

// --- transform -------------------------------------------------------------------------------

export interface OrgTransformContext {
  assessmentId: string;
  integrationId: string;
  excludeOuIds: string[];
  excludeAccountIds: string[];
  config: Pick<Config, 'accountRiskLevels' | 'accountRiskTags'>;
}

export function accountRisk(
  accountId: string,
  tags: Record<string, string>,
  config: Pick<Config, 'accountRiskLevels' | 'accountRiskTags'>,
): Pick<AccountRow, 'risk_level' | 'risk_source'> {
  const configured = config.accountRiskLevels[accountId];
  if (configured) return { risk_level: configured, risk_source: 'config' };
  const order = ['low', 'medium', 'high', 'critical'] as const;
  let best: (typeof order)[number] | undefined;
  for (const rule of config.accountRiskTags) {
    if (
      tags[rule.key] === rule.value &&
      (!best || order.indexOf(rule.level) > order.indexOf(best))
    ) {
      best = rule.level;
    }
  }
  if (best) return { risk_level: best, risk_source: 'tag' };
  return { risk_level: 'medium', risk_source: 'default' };
}

export interface OrgRows {
  nodes: OrgNodeRow[];
  accounts: AccountRow[];
  policies: PolicyRow[];
  targets: PolicyTargetRow[];
}

/** Pure: organization → org nodes, accounts (with exclusions and skips decided), SCPs and targets. */
export function transformOrganization(
  ctx: OrgTransformContext,
  org: OrganizationSnapshot,
): OrgRows {
  const byId = new Map(org.units.map((u) => [u.id, u]));
  const pathOf = (parentId: string): string[] => {
    const path: string[] = [];
    let node = byId.get(parentId);
    while (node) {
      path.unshift(node.id);
      node = node.parentId ? byId.get(node.parentId) : undefined;
    }
    return path;
  };
  const excludedOus = new Set(ctx.excludeOuIds);
  const excludedAccounts = new Set(ctx.excludeAccountIds);
  const nodes: OrgNodeRow[] = org.units.map((u) => ({
    assessment_id: ctx.assessmentId,
    node_id: u.id,
    parent_id: u.parentId,
    kind: u.kind,
    name: u.name,
    excluded: pathOf(u.id).some((id) => excludedOus.has(id)),
  }));
  const accounts: AccountRow[] = org.accounts.map((a) => {
    const path = pathOf(a.parentId);
    const excludedBy = path.find((id) => excludedOus.has(id));
    let inventory_status: AccountRow['inventory_status'] = 'ok';
    let inventory_error: string | null = null;
    if (excludedAccounts.has(a.id)) {
      inventory_status = 'excluded';
      inventory_error = 'excluded by config (excludeAccountIds)';
    } else if (excludedBy) {
      inventory_status = 'excluded';
      inventory_error = `excluded by config: under OU ${excludedBy}`;
    } else if (a.status !== 'ACTIVE') {
      inventory_status = 'skipped';
      inventory_error = `account is ${a.status}`;
    }
    return {
      assessment_id: ctx.assessmentId,
      account_id: a.id,
      integration_id: ctx.integrationId,
      cloud: 'aws',
      name: a.name,
      parent_path: path,
      status: a.status,
      tags: a.tags,
      ...accountRisk(a.id, a.tags, ctx.config),
      inventory_status,
      inventory_error,
    };
  });
  const policies: PolicyRow[] = [];
  const targets: PolicyTargetRow[] = [];
  for (const p of org.policies) {
    let document: unknown;
    let parse_error: string | null = null;
    try {
      document = JSON.parse(p.content) as unknown;
    } catch (err) {
      document = { raw: p.content };
      parse_error = `SCP content is not JSON: ${(err as Error).message}`;
    }
    policies.push({
      assessment_id: ctx.assessmentId,
      policy_id: p.arn,
      integration_id: ctx.integrationId,
      account_id: org.managementAccountId,
      cloud: 'aws',
      kind: 'scp',
      name: p.name,
      version_id: null,
      document,
      size_chars: policySize(document),
      parse_error,
    });
    for (const t of p.targets) {
      targets.push({
        assessment_id: ctx.assessmentId,
        policy_id: p.arn,
        target_id: t.id,
        target_type: t.type as PolicyTargetRow['target_type'],
      });
    }
  }
  return { nodes, accounts, policies, targets };
}
