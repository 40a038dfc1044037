import type {
  CredentialRow,
  InventoryRows,
  PolicyRow,
  PrincipalPolicyRow,
  PrincipalRow,
} from '../../model/rows.ts';
import type { GroupExpansion } from './cloudidentity/groups.ts';
import type { GcpServiceAccount } from './iam/service-accounts.ts';
import {
  type BindingCondition,
  mergeConditions,
  type ResourcePolicy,
} from './resourcemanager/iam-policy.ts';

/**
 * Pure transform of what GCP inventory read (policies, service accounts, group expansions,
 * roles) into the cross-cloud rows: principals keyed by their IAM member string, one
 * attachment per (member, role, bound resource), and for every transitive member of a group
 * one `via = 'group'` attachment per role the group holds, so scoring sees inherited grants.
 */

export type MemberKind = 'service-account' | 'user' | 'group' | 'domain' | 'public' | 'federated';

export interface ParsedMember {
  kind: MemberKind;
  identityType: 'human' | 'machine';
  /** Email, domain, or the member string itself. */
  name: string;
}

/**
 * What a member string names. `deleted:` members (a principal deleted while still bound) and
 * the legacy convenience members grant nothing to anyone real and are not principals.
 */
export function parseMember(member: string): ParsedMember | undefined {
  if (member === 'allUsers' || member === 'allAuthenticatedUsers') {
    return { kind: 'public', identityType: 'human', name: member };
  }
  if (member === 'principalSet://goog/public:all') {
    return { kind: 'public', identityType: 'human', name: member };
  }
  if (member.startsWith('principal://') || member.startsWith('principalSet://')) {
    // Workforce pools federate people from an external IdP; workload pools federate machines.
    const human = member.includes('/workforcePools/');
    return { kind: 'federated', identityType: human ? 'human' : 'machine', name: member };
  }
  const colon = member.indexOf(':');
  if (colon <= 0) return undefined;
  const prefix = member.slice(0, colon);
  const rest = member.slice(colon + 1);
  if (!rest) return undefined;
  switch (prefix) {
    case 'serviceAccount':
      return { kind: 'service-account', identityType: 'machine', name: rest };
    case 'user':
      return { kind: 'user', identityType: 'human', name: rest };
    case 'group':
      return { kind: 'group', identityType: 'human', name: rest };
    case 'domain':
      return { kind: 'domain', identityType: 'human', name: rest };
    default:
      return undefined;
  }
}

/** The member string of an audit-log caller (`principalEmail`). */
export function callerMember(principalEmail: string): string {
  if (principalEmail.startsWith('principal://') || principalEmail.startsWith('principalSet://'))
    return principalEmail;
  return principalEmail.endsWith('.gserviceaccount.com')
    ? `serviceAccount:${principalEmail}`
    : `user:${principalEmail}`;
}

const IAM_SA_DOMAIN = /^[^@]+@([a-z][a-z0-9-]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com$/;
const NUMBERED_AGENT = /^(?:service-)?(\d+)@[a-z0-9.-]+\.gserviceaccount\.com$/;

/**
 * Google-managed service agents (`service-<number>@gcp-sa-*.iam.gserviceaccount.com`,
 * `<number>@cloudservices.gserviceaccount.com`, ...) act for Google services inside a project;
 * like AWS service-linked roles they are never remediated. Default compute and App Engine
 * accounts are customer-managed and stay in scope.
 */
export function isServiceAgent(email: string): boolean {
  if (email.endsWith('@developer.gserviceaccount.com')) return false;
  if (email.endsWith('@appspot.gserviceaccount.com')) return false;
  return NUMBERED_AGENT.test(email);
}

/** The project a service account lives in (project id, or project number when that is all the email says). */
export function serviceAccountProject(
  email: string,
): { projectId: string } | { projectNumber: string } | undefined {
  const compute = /^(\d+)-compute@developer\.gserviceaccount\.com$/.exec(email);
  if (compute?.[1]) return { projectNumber: compute[1] };
  const appspot = /^([a-z][a-z0-9-]+)@appspot\.gserviceaccount\.com$/.exec(email);
  if (appspot?.[1]) return { projectId: appspot[1] };
  const agent = NUMBERED_AGENT.exec(email);
  if (agent?.[1]) return { projectNumber: agent[1] };
  const iam = IAM_SA_DOMAIN.exec(email);
  if (iam?.[1]) return { projectId: iam[1] };
  return undefined;
}

export interface GcpInventoryContext {
  assessmentId: string;
  integrationId: string;
  /** Account of every principal that is not a service account: the numeric organization id, or the project of a gcp-project integration. */
  scopeAccountId: string;
  /** `<number>` → project id, for service accounts named by project number. */
  projectNumbers: ReadonlyMap<string, string>;
  /** Projects whose service accounts are left out (excluded, deleted or failed). */
  outOfScopeProjects: ReadonlySet<string>;
}

export interface GcpInventoryInput {
  policies: ResourcePolicy[];
  serviceAccounts: GcpServiceAccount[];
  groups: GroupExpansion[];
  roles: PolicyRow[];
}

export interface GcpInventoryResult {
  rows: InventoryRows;
  /** Bound members that are not principals (`deleted:...`, unknown kinds), with a count each. */
  ignoredMembers: Map<string, number>;
  /** Service accounts left out because their project is out of scope. */
  outOfScopeMembers: number;
}

const NEVER_EXPIRES = '9999-12-31';

function keyId(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

export function transformGcpInventory(
  ctx: GcpInventoryContext,
  input: GcpInventoryInput,
): GcpInventoryResult {
  const principals = new Map<string, PrincipalRow>();
  const credentials: CredentialRow[] = [];
  const ignoredMembers = new Map<string, number>();
  let outOfScopeMembers = 0;
  const listed = new Map(input.serviceAccounts.map((sa) => [`serviceAccount:${sa.email}`, sa]));
  const groupsOf = new Map<string, Set<string>>();
  for (const g of input.groups) {
    for (const m of g.members) {
      let set = groupsOf.get(m.member);
      if (!set) {
        set = new Set();
        groupsOf.set(m.member, set);
      }
      set.add(`group:${g.email}`);
    }
  }

  const accountOf = (member: string, parsed: ParsedMember): string | undefined => {
    if (parsed.kind !== 'service-account') return ctx.scopeAccountId;
    const sa = listed.get(member);
    if (sa) return sa.projectId;
    const where = serviceAccountProject(parsed.name);
    let projectId: string | undefined;
    if (where && 'projectId' in where) projectId = where.projectId;
    else if (where) projectId = ctx.projectNumbers.get(where.projectNumber);
    if (projectId && ctx.outOfScopeProjects.has(projectId)) return undefined;
    return projectId ?? ctx.scopeAccountId;
  };

  /** Adds the principal (once); false when the member is not a principal or is out of scope. */
  const ensurePrincipal = (member: string): boolean => {
    if (principals.has(member)) return true;
    const parsed = parseMember(member);
    if (!parsed) {
      const kind = member.includes(':') ? member.slice(0, member.indexOf(':')) : member;
      ignoredMembers.set(kind, (ignoredMembers.get(kind) ?? 0) + 1);
      return false;
    }
    const accountId = accountOf(member, parsed);
    if (accountId === undefined) {
      outOfScopeMembers++;
      return false;
    }
    const sa = listed.get(member);
    const attributes: Record<string, unknown> = {};
    const groups = groupsOf.get(member);
    if (groups) attributes.groups = [...groups].sort();
    if (parsed.kind === 'service-account') {
      attributes.email = parsed.name;
      attributes.listed = sa !== undefined;
      if (sa) {
        attributes.displayName = sa.displayName;
        attributes.description = sa.description;
        attributes.disabled = sa.disabled;
        attributes.oauth2ClientId = sa.oauth2ClientId;
        attributes.userManagedKeys = sa.userManagedKeys.map((k) => ({
          keyId: keyId(k.name),
          createdAt: k.validAfterTime,
          expiresAt:
            k.validBeforeTime && !k.validBeforeTime.startsWith(NEVER_EXPIRES)
              ? k.validBeforeTime
              : null,
          disabled: k.disabled,
        }));
      }
    }
    if (parsed.kind === 'group') {
      // Groups only met as members of other groups are not expanded themselves: their
      // members are already among the outer group's transitive members.
      const expansion = input.groups.find((g) => `group:${g.email}` === member);
      if (expansion) {
        attributes.groupName = expansion.name ?? null;
        attributes.membersResolved = expansion.error === undefined;
        if (expansion.error) attributes.membersError = expansion.error;
        else {
          attributes.members = expansion.members.length;
          attributes.directMembers = expansion.members.filter(
            (m) => m.relation !== 'INDIRECT',
          ).length;
        }
      }
    }
    principals.set(member, {
      assessment_id: ctx.assessmentId,
      principal_id: member,
      integration_id: ctx.integrationId,
      account_id: accountId,
      cloud: 'gcp',
      kind: parsed.kind,
      name: parsed.name,
      path: null,
      unique_id: sa?.uniqueId ?? null,
      identity_type: parsed.identityType,
      created_at: null,
      last_used_at: null,
      last_used_source: null,
      tags: {},
      boundary_policy_id: null,
      trust_policy: null,
      service_linked: parsed.kind === 'service-account' && isServiceAgent(parsed.name),
      console_access: null,
      mfa_enabled: null,
      owner: null,
      attributes,
    });
    return true;
  };

  for (const sa of input.serviceAccounts) {
    const member = `serviceAccount:${sa.email}`;
    if (!ensurePrincipal(member)) continue;
    for (const k of sa.userManagedKeys) {
      credentials.push({
        assessment_id: ctx.assessmentId,
        credential_id: k.name,
        principal_id: member,
        kind: 'service-account-key',
        status: k.disabled ? 'disabled' : 'enabled',
        created_at: k.validAfterTime,
        last_used_at: null,
        last_used_service: null,
        last_used_region: null,
      });
    }
  }

  // Direct bindings, conditions merged per (member, role, resource).
  const direct = new Map<
    string,
    { member: string; role: string; resource: string; conditions: Array<BindingCondition | null> }
  >();
  for (const policy of input.policies) {
    for (const binding of policy.bindings) {
      for (const member of binding.members) {
        if (!ensurePrincipal(member)) continue;
        const key = `${member}\u0000${binding.role}\u0000${policy.resource}`;
        const entry = direct.get(key) ?? {
          member,
          role: binding.role,
          resource: policy.resource,
          conditions: [],
        };
        entry.conditions.push(binding.condition);
        direct.set(key, entry);
      }
    }
  }
  const attachments: PrincipalPolicyRow[] = [];
  const groupRoles = new Map<string, Map<string, Array<BindingCondition | null>>>();
  for (const entry of direct.values()) {
    const condition = mergeConditions(entry.conditions);
    attachments.push({
      assessment_id: ctx.assessmentId,
      principal_id: entry.member,
      policy_id: entry.role,
      via: 'binding',
      via_ref: entry.resource,
      condition,
    });
    if (entry.member.startsWith('group:')) {
      let roles = groupRoles.get(entry.member);
      if (!roles) {
        roles = new Map();
        groupRoles.set(entry.member, roles);
      }
      const list = roles.get(entry.role) ?? [];
      list.push(condition);
      roles.set(entry.role, list);
    }
  }

  // Inherited through groups: each transitive member gets the group's roles, via the group.
  for (const g of input.groups) {
    const group = `group:${g.email}`;
    const roles = groupRoles.get(group);
    if (!roles) continue;
    for (const m of g.members) {
      if (m.member === group || !ensurePrincipal(m.member)) continue;
      for (const [role, conditions] of roles) {
        attachments.push({
          assessment_id: ctx.assessmentId,
          principal_id: m.member,
          policy_id: role,
          via: 'group',
          via_ref: group,
          condition: mergeConditions(conditions),
        });
      }
    }
  }

  attachments.sort((a, b) =>
    `${a.principal_id}\u0000${a.policy_id}\u0000${a.via}\u0000${a.via_ref}`.localeCompare(
      `${b.principal_id}\u0000${b.policy_id}\u0000${b.via}\u0000${b.via_ref}`,
    ),
  );
  return {
    rows: {
      principals: [...principals.values()].sort((a, b) =>
        a.principal_id.localeCompare(b.principal_id),
      ),
      policies: input.roles,
      attachments,
      credentials,
    },
    ignoredMembers,
    outOfScopeMembers,
  };
}
