import {
  GetAccountAuthorizationDetailsCommand,
  type GetAccountAuthorizationDetailsCommandOutput,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { z } from 'zod';
import { IngestError } from '../../../lib/errors.ts';
import type {
  InventoryRows,
  PolicyRow,
  PrincipalPolicyRow,
  PrincipalRow,
} from '../../../model/rows.ts';
import { paginate } from '../../paginate.ts';

/**
 * IAM users, groups, roles and policies of one account: GetAccountAuthorizationDetails.
 * get → transform → load (load lives in ingest/inventory.ts, shared by every inventory source).
 */

// --- get -------------------------------------------------------------------------------------

/** All pages of GetAccountAuthorizationDetails, merged. */
export async function getAuthorizationDetails(client: IAMClient): Promise<unknown> {
  const merged = {
    UserDetailList: [],
    GroupDetailList: [],
    RoleDetailList: [],
    Policies: [],
  } as Record<string, unknown[]>;
  for await (const page of paginate<GetAccountAuthorizationDetailsCommandOutput>(
    (Marker) => client.send(new GetAccountAuthorizationDetailsCommand({ Marker, MaxItems: 1000 })),
    (out) => (out.IsTruncated ? out.Marker : undefined),
  )) {
    for (const key of Object.keys(merged)) {
      const items = (page as unknown as Record<string, unknown[] | undefined>)[key];
      if (items) merged[key]!.push(...items);
    }
  }
  return merged;
}

// --- transform -------------------------------------------------------------------------------

const date = z.union([z.date(), z.string()]).transform((v) => toIso(v));
const tag = z.object({ Key: z.string(), Value: z.string().optional() });
const document = z.union([z.string(), z.record(z.string(), z.unknown())]);
const attached = z.object({ PolicyArn: z.string(), PolicyName: z.string().optional() });
const inline = z.object({ PolicyName: z.string(), PolicyDocument: document });
const boundary = z.object({ PermissionsBoundaryArn: z.string() }).partial().optional().nullable();

const userDetail = z.object({
  UserName: z.string(),
  UserId: z.string().optional(),
  Arn: z.string(),
  Path: z.string().optional(),
  CreateDate: date.optional(),
  GroupList: z.array(z.string()).optional(),
  AttachedManagedPolicies: z.array(attached).optional(),
  UserPolicyList: z.array(inline).optional(),
  PermissionsBoundary: boundary,
  Tags: z.array(tag).optional(),
});
const groupDetail = z.object({
  GroupName: z.string(),
  GroupId: z.string().optional(),
  Arn: z.string(),
  Path: z.string().optional(),
  CreateDate: date.optional(),
  AttachedManagedPolicies: z.array(attached).optional(),
  GroupPolicyList: z.array(inline).optional(),
});
const roleDetail = z.object({
  RoleName: z.string(),
  RoleId: z.string().optional(),
  Arn: z.string(),
  Path: z.string().optional(),
  CreateDate: date.optional(),
  AssumeRolePolicyDocument: document.optional(),
  AttachedManagedPolicies: z.array(attached).optional(),
  RolePolicyList: z.array(inline).optional(),
  PermissionsBoundary: boundary,
  Tags: z.array(tag).optional(),
  RoleLastUsed: z
    .object({ LastUsedDate: date.optional(), Region: z.string().optional() })
    .partial()
    .optional()
    .nullable(),
  InstanceProfileList: z
    .array(z.object({ InstanceProfileName: z.string(), Arn: z.string().optional() }).loose())
    .optional(),
});
const policyDetail = z.object({
  PolicyName: z.string(),
  Arn: z.string(),
  DefaultVersionId: z.string().optional(),
  IsAttachable: z.boolean().optional(),
  PolicyVersionList: z
    .array(
      z.object({
        Document: document.optional(),
        VersionId: z.string().optional(),
        IsDefaultVersion: z.boolean().optional(),
      }),
    )
    .optional(),
});

export const authorizationDetailsSchema = z.object({
  UserDetailList: z.array(userDetail).default([]),
  GroupDetailList: z.array(groupDetail).default([]),
  RoleDetailList: z.array(roleDetail).default([]),
  Policies: z.array(policyDetail).default([]),
});

export type AuthorizationDetails = z.infer<typeof authorizationDetailsSchema>;

export function toIso(value: Date | string): string {
  if (value instanceof Date) return value.toISOString();
  // The AWS CLI writes "2019-12-18 19:10:08+00:00"; the SDK gives Date objects.
  const parsed = Date.parse(value.includes('T') ? value : value.replace(' ', 'T'));
  if (Number.isNaN(parsed)) throw new IngestError(`not a timestamp: ${value}`);
  return new Date(parsed).toISOString();
}

/**
 * IAM returns policy documents URL-encoded; the CLI and our imports give objects. A document
 * that does not decode is kept as its text: the policy parser then records why it was left out
 * (policy.parse_error), and one bad document never costs the rest of the account.
 */
export function decodePolicyDocument(doc: string | Record<string, unknown>): unknown {
  if (typeof doc !== 'string') return doc;
  try {
    const text = doc.trimStart().startsWith('{') ? doc : decodeURIComponent(doc);
    return JSON.parse(text) as unknown;
  } catch {
    return doc;
  }
}

/**
 * The value for a JSON column. insertRows takes a string as JSON text, so a document kept as
 * undecodable text is stored as a JSON string (and read back as that text).
 */
function storedDocument(decoded: unknown): unknown {
  return typeof decoded === 'string' ? JSON.stringify(decoded) : decoded;
}

/** Length of a document without whitespace, as AWS counts it against its size limits. */
export function policySize(doc: unknown): number {
  return JSON.stringify(doc).length;
}

function tagsOf(
  tags: Array<{ Key: string; Value?: string | undefined }> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) out[t.Key] = t.Value ?? '';
  return out;
}

/** The account id in an IAM ARN (arn:aws:iam::123456789012:...). */
export function accountOfArn(arn: string): string {
  const account = arn.split(':')[4];
  if (!account || !/^\d{12}$/.test(account))
    throw new IngestError(`not an IAM ARN with an account: ${arn}`);
  return account;
}

function isHumanRole(name: string, trust: unknown): boolean {
  if (name.startsWith('AWSReservedSSO_')) return true;
  const text = JSON.stringify(trust ?? '');
  return text.includes(':saml-provider/') || text.includes('sts:AssumeRoleWithSAML');
}

export interface TransformContext {
  assessmentId: string;
  integrationId: string;
  accountId: string;
  ownerTagKey?: string | undefined;
}

/**
 * Pure: authorization details → principals (users, groups, roles), policies (managed and
 * inline) and attachments (direct, inline, group-inherited, boundary).
 */
export function transformAuthorizationDetails(
  ctx: TransformContext,
  input: unknown,
): InventoryRows {
  const parsed = authorizationDetailsSchema.safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new IngestError(
      `authorization details for account ${ctx.accountId} have an unexpected shape at ${first?.path.join('.') ?? '?'}: ${first?.message ?? ''}`,
      { accountId: ctx.accountId, call: 'GetAccountAuthorizationDetails' },
    );
  }
  const details = parsed.data;
  const base = { assessment_id: ctx.assessmentId, integration_id: ctx.integrationId };
  const principals: PrincipalRow[] = [];
  const policies = new Map<string, PolicyRow>();
  const attachments: PrincipalPolicyRow[] = [];
  const attach = (
    principalId: string,
    policyId: string,
    via: PrincipalPolicyRow['via'],
    viaRef: string,
  ) =>
    attachments.push({
      assessment_id: ctx.assessmentId,
      principal_id: principalId,
      policy_id: policyId,
      via,
      via_ref: viaRef,
      condition: null,
    });
  const addInline = (
    ownerArn: string,
    name: string,
    doc: string | Record<string, unknown>,
  ): string => {
    const id = `${ownerArn}#inline/${name}`;
    const decoded = decodePolicyDocument(doc);
    policies.set(id, {
      ...base,
      policy_id: id,
      account_id: accountOfArn(ownerArn),
      cloud: 'aws',
      kind: 'inline',
      name,
      version_id: null,
      document: storedDocument(decoded),
      size_chars: policySize(decoded),
      parse_error: null,
    });
    return id;
  };

  for (const p of details.Policies) {
    const version =
      p.PolicyVersionList?.find((v) => v.IsDefaultVersion) ??
      p.PolicyVersionList?.find((v) => v.VersionId === p.DefaultVersionId);
    if (!version?.Document) {
      throw new IngestError(`policy ${p.Arn} has no default version document`, {
        accountId: ctx.accountId,
      });
    }
    const decoded = decodePolicyDocument(version.Document);
    const awsManaged = p.Arn.includes(':aws:policy/');
    policies.set(p.Arn, {
      ...base,
      policy_id: p.Arn,
      account_id: awsManaged ? null : accountOfArn(p.Arn),
      cloud: 'aws',
      kind: awsManaged ? 'aws-managed' : 'customer-managed',
      name: p.PolicyName,
      version_id: version.VersionId ?? p.DefaultVersionId ?? null,
      document: storedDocument(decoded),
      size_chars: policySize(decoded),
      parse_error: null,
    });
  }

  const groupsByName = new Map<string, { arn: string; managed: string[]; inline: string[] }>();
  for (const g of details.GroupDetailList) {
    const managed = (g.AttachedManagedPolicies ?? []).map((a) => a.PolicyArn);
    const inlineIds = (g.GroupPolicyList ?? []).map((i) =>
      addInline(g.Arn, i.PolicyName, i.PolicyDocument),
    );
    groupsByName.set(g.GroupName, { arn: g.Arn, managed, inline: inlineIds });
    principals.push({
      ...base,
      principal_id: g.Arn,
      account_id: accountOfArn(g.Arn),
      cloud: 'aws',
      kind: 'group',
      name: g.GroupName,
      path: g.Path ?? '/',
      unique_id: g.GroupId ?? null,
      identity_type: 'human',
      created_at: g.CreateDate ?? null,
      last_used_at: null,
      last_used_source: null,
      tags: {},
      boundary_policy_id: null,
      trust_policy: null,
      service_linked: false,
      console_access: null,
      mfa_enabled: null,
      owner: null,
      attributes: { members: [] as string[] },
    });
    for (const arn of managed) attach(g.Arn, arn, 'direct', g.Arn);
    for (const id of inlineIds) attach(g.Arn, id, 'inline', g.Arn);
  }

  for (const u of details.UserDetailList) {
    const tags = tagsOf(u.Tags);
    const boundaryArn = u.PermissionsBoundary?.PermissionsBoundaryArn ?? null;
    principals.push({
      ...base,
      principal_id: u.Arn,
      account_id: accountOfArn(u.Arn),
      cloud: 'aws',
      kind: 'user',
      name: u.UserName,
      path: u.Path ?? '/',
      unique_id: u.UserId ?? null,
      identity_type: 'human',
      created_at: u.CreateDate ?? null,
      last_used_at: null,
      last_used_source: null,
      tags,
      boundary_policy_id: boundaryArn,
      trust_policy: null,
      service_linked: false,
      console_access: null,
      mfa_enabled: null,
      owner: ctx.ownerTagKey ? (tags[ctx.ownerTagKey] ?? null) : null,
      attributes: { groups: u.GroupList ?? [] },
    });
    for (const a of u.AttachedManagedPolicies ?? []) attach(u.Arn, a.PolicyArn, 'direct', u.Arn);
    for (const i of u.UserPolicyList ?? [])
      attach(u.Arn, addInline(u.Arn, i.PolicyName, i.PolicyDocument), 'inline', u.Arn);
    if (boundaryArn) attach(u.Arn, boundaryArn, 'boundary', u.Arn);
    for (const groupName of u.GroupList ?? []) {
      const group = groupsByName.get(groupName);
      if (!group) {
        throw new IngestError(
          `user ${u.Arn} is in group ${groupName}, which the account does not list`,
          {
            accountId: ctx.accountId,
          },
        );
      }
      for (const arn of group.managed) attach(u.Arn, arn, 'group', group.arn);
      for (const id of group.inline) attach(u.Arn, id, 'group', group.arn);
      const groupRow = principals.find((p) => p.principal_id === group.arn);
      (groupRow?.attributes.members as string[] | undefined)?.push(u.Arn);
    }
  }

  for (const r of details.RoleDetailList) {
    const tags = tagsOf(r.Tags);
    const boundaryArn = r.PermissionsBoundary?.PermissionsBoundaryArn ?? null;
    const trust = r.AssumeRolePolicyDocument
      ? decodePolicyDocument(r.AssumeRolePolicyDocument)
      : null;
    const lastUsed = r.RoleLastUsed?.LastUsedDate ?? null;
    principals.push({
      ...base,
      principal_id: r.Arn,
      account_id: accountOfArn(r.Arn),
      cloud: 'aws',
      kind: 'role',
      name: r.RoleName,
      path: r.Path ?? '/',
      unique_id: r.RoleId ?? null,
      identity_type: isHumanRole(r.RoleName, trust) ? 'human' : 'machine',
      created_at: r.CreateDate ?? null,
      last_used_at: lastUsed,
      last_used_source: lastUsed ? 'RoleLastUsed' : null,
      tags,
      boundary_policy_id: boundaryArn,
      trust_policy: storedDocument(trust),
      service_linked: (r.Path ?? '').startsWith('/aws-service-role/'),
      console_access: null,
      mfa_enabled: null,
      owner: ctx.ownerTagKey ? (tags[ctx.ownerTagKey] ?? null) : null,
      attributes: {
        instanceProfiles: (r.InstanceProfileList ?? []).map((p) => p.InstanceProfileName),
        lastUsedRegion: r.RoleLastUsed?.Region ?? null,
      },
    });
    for (const a of r.AttachedManagedPolicies ?? []) attach(r.Arn, a.PolicyArn, 'direct', r.Arn);
    for (const i of r.RolePolicyList ?? [])
      attach(r.Arn, addInline(r.Arn, i.PolicyName, i.PolicyDocument), 'inline', r.Arn);
    if (boundaryArn) attach(r.Arn, boundaryArn, 'boundary', r.Arn);
  }

  // An attachment to a managed policy the account did not list cannot be evaluated; say so
  // rather than treating it as granting nothing.
  const missing = attachments.filter((a) => !policies.has(a.policy_id));
  if (missing.length > 0) {
    const names = [...new Set(missing.map((m) => m.policy_id))].slice(0, 5).join(', ');
    throw new IngestError(
      `account ${ctx.accountId}: ${missing.length} attachments name policies the authorization details do not include (${names})`,
      { accountId: ctx.accountId, call: 'GetAccountAuthorizationDetails' },
    );
  }

  return { principals, policies: [...policies.values()], attachments, credentials: [] };
}
