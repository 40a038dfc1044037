import pLimit from 'p-limit';
import { z } from 'zod';
import { call, type GcpApi, listAll, parseResponse } from '../api.ts';
import { describeGcpError } from '../clients.ts';

/**
 * Cloud Identity group memberships, transitive, so that users inherit their groups' bindings.
 * Every group named in a binding is resolved to its resource name (from the customer's group
 * list when the customer id is known, else one lookup per group) and expanded once with
 * searchTransitiveMemberships, which resolves nested groups on Google's side.
 */

const GroupSchema = z.looseObject({
  name: z.string().regex(/^groups\/[^/]+$/),
  groupKey: z.looseObject({ id: z.string().min(1) }),
});

const LookupSchema = z.looseObject({ name: z.string().regex(/^groups\/[^/]+$/) });

const MemberRelationSchema = z.looseObject({
  member: z.string().optional(),
  preferredMemberKey: z.array(z.looseObject({ id: z.string().min(1) })).min(1),
  relationType: z.string().optional(),
});

export interface GroupMember {
  /** IAM member string: `user:...`, `serviceAccount:...` or `group:...` (a nested group). */
  member: string;
  /** DIRECT, INDIRECT or DIRECT_AND_INDIRECT. */
  relation: string | null;
}

export interface GroupExpansion {
  /** The group's email (as in `group:<email>`). */
  email: string;
  /** `groups/<id>`; undefined when the group could not be resolved. */
  name: string | undefined;
  members: GroupMember[];
  /** Met only as a member of another group (no binding of its own names it). */
  nested: boolean;
  /** Why the members are unknown; undefined when they were read. */
  error: string | undefined;
  /** Which call failed. */
  failedCall: string | undefined;
}

/** The member string IAM would use for a transitive member. */
export function memberString(member: string | undefined, email: string): string {
  if (member?.startsWith('groups/')) return `group:${email}`;
  if (email.endsWith('.gserviceaccount.com')) return `serviceAccount:${email}`;
  return `user:${email}`;
}

// --- get -------------------------------------------------------------------------------------

export async function getGroupMembers(
  api: GcpApi,
  emails: readonly string[],
  customerId: string | undefined,
  concurrency: number,
): Promise<GroupExpansion[]> {
  const ci = api.clients.cloudIdentity;
  const known = new Map<string, string>();
  let listError: string | undefined;
  if (customerId && emails.length > 0) {
    try {
      const groups = await listAll(
        api,
        (pageToken) =>
          ci.groups.list({ parent: `customers/${customerId}`, pageSize: 1000, pageToken }),
        (page) => page.groups,
      );
      for (const g of groups) {
        const group = parseResponse(GroupSchema, g, 'groups.list');
        known.set(group.groupKey.id.toLowerCase(), group.name);
      }
    } catch (err) {
      // Listing needs customer-wide read; the per-group lookups below may still be allowed.
      listError = describeGcpError(err);
    }
  }
  const expandOne = async (email: string, nested: boolean): Promise<GroupExpansion> => {
    let name = known.get(email.toLowerCase());
    let failedCall = 'groups.lookup';
    try {
      if (!name) {
        const found = parseResponse(
          LookupSchema,
          await call(api, () => ci.groups.lookup({ 'groupKey.id': email })),
          'groups.lookup',
        );
        name = found.name;
      }
      failedCall = 'groups.memberships.searchTransitiveMemberships';
      const parent = name;
      const relations = await listAll(
        api,
        (pageToken) =>
          ci.groups.memberships.searchTransitiveMemberships({ parent, pageSize: 1000, pageToken }),
        (page) => page.memberships,
      );
      const members = relations.map((r) => {
        const rel = parseResponse(
          MemberRelationSchema,
          r,
          'groups.memberships.searchTransitiveMemberships',
        );
        const key = rel.preferredMemberKey[0]?.id ?? '';
        return { member: memberString(rel.member, key), relation: rel.relationType ?? null };
      });
      members.sort((a, b) => a.member.localeCompare(b.member));
      return { email, name, nested, members, error: undefined, failedCall: undefined };
    } catch (err) {
      const message = describeGcpError(err);
      return {
        email,
        name,
        nested,
        members: [],
        error: listError && !name ? `${message} (groups.list: ${listError})` : message,
        failedCall,
      };
    }
  };

  // Groups inside groups are expanded too: their members are already among the outer
  // group's, but which of them sit in the nested group tells whether that group is in use.
  const limit = pLimit(concurrency);
  const results = new Map<string, GroupExpansion>();
  let pending = [...new Set(emails)].sort();
  let nested = false;
  while (pending.length > 0) {
    const batch = await Promise.all(pending.map((email) => limit(() => expandOne(email, nested))));
    for (const g of batch) results.set(g.email.toLowerCase(), g);
    pending = [
      ...new Set(
        batch.flatMap((g) =>
          g.members.filter((m) => m.member.startsWith('group:')).map((m) => m.member.slice(6)),
        ),
      ),
    ]
      .filter((email) => !results.has(email.toLowerCase()))
      .sort();
    nested = true;
  }
  return [...results.values()].sort((a, b) => a.email.localeCompare(b.email));
}
