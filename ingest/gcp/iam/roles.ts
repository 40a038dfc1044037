import pLimit from 'p-limit';
import { z } from 'zod';
import type { PolicyRow } from '../../../model/rows.ts';
import { call, type GcpApi, listAll, parseResponse } from '../api.ts';
import { describeGcpError, gcpErrorFacts } from '../clients.ts';

/**
 * Roles become `policy` rows with `{"includedPermissions": [...]}` documents. Predefined roles
 * are fetched once per run, only those in use; custom roles are listed per organization and
 * project (deleted ones too, so a binding to a deleted role is explained rather than unknown).
 */

const RoleSchema = z.looseObject({
  name: z.string().min(1),
  title: z.string().optional(),
  includedPermissions: z.array(z.string()).optional(),
  stage: z.string().optional(),
  etag: z.string().optional(),
  deleted: z.boolean().optional(),
});

export interface GcpRole {
  name: string;
  title: string | null;
  permissions: string[];
  stage: string | null;
  deleted: boolean;
  etag: string | null;
}

export interface MissingRole {
  name: string;
  message: string;
}

function toRole(raw: unknown, callName: string): GcpRole {
  const r = parseResponse(RoleSchema, raw, callName);
  return {
    name: r.name,
    title: r.title ?? null,
    permissions: [...new Set(r.includedPermissions ?? [])].sort(),
    stage: r.stage ?? null,
    deleted: r.deleted ?? false,
    etag: r.etag ?? null,
  };
}

// --- get -------------------------------------------------------------------------------------

/** Predefined roles by name (`roles/...`); roles the API does not know are reported, not thrown. */
export async function getPredefinedRoles(
  api: GcpApi,
  names: readonly string[],
  concurrency: number,
): Promise<{ roles: GcpRole[]; missing: MissingRole[] }> {
  const limit = pLimit(concurrency);
  const roles: GcpRole[] = [];
  const missing: MissingRole[] = [];
  await Promise.all(
    names.map((name) =>
      limit(async () => {
        try {
          roles.push(
            toRole(await call(api, () => api.clients.iam.roles.get({ name })), 'roles.get'),
          );
        } catch (err) {
          if (gcpErrorFacts(err).status !== 404) throw err;
          missing.push({ name, message: describeGcpError(err) });
        }
      }),
    ),
  );
  roles.sort((a, b) => a.name.localeCompare(b.name));
  missing.sort((a, b) => a.name.localeCompare(b.name));
  return { roles, missing };
}

/** Custom roles of `organizations/N` or `projects/<projectId>`, with their permissions. */
export async function getCustomRoles(api: GcpApi, parent: string): Promise<GcpRole[]> {
  const iam = api.clients.iam;
  const isOrg = parent.startsWith('organizations/');
  const callName = isOrg ? 'organizations.roles.list' : 'projects.roles.list';
  const raw = await listAll(
    api,
    (pageToken) =>
      isOrg
        ? iam.organizations.roles.list({
            parent,
            view: 'FULL',
            showDeleted: true,
            pageSize: 1000,
            pageToken,
          })
        : iam.projects.roles.list({
            parent,
            view: 'FULL',
            showDeleted: true,
            pageSize: 1000,
            pageToken,
          }),
    (page) => page.roles,
  );
  return raw.map((r) => toRole(r, callName)).sort((a, b) => a.name.localeCompare(b.name));
}

// --- transform -------------------------------------------------------------------------------

export interface RoleContext {
  assessmentId: string;
  integrationId: string;
}

/** Whether a role name is predefined (shared by every organization). */
export function isPredefinedRole(name: string): boolean {
  return name.startsWith('roles/');
}

/** The owner of a custom role: numeric organization id or project id; null for predefined roles. */
export function roleOwner(name: string): string | null {
  const m = /^(organizations|projects)\/([^/]+)\/roles\//.exec(name);
  return m ? (m[2] ?? null) : null;
}

function roleDocument(permissions: string[]): { includedPermissions: string[] } {
  return { includedPermissions: permissions };
}

/**
 * One policy row per role. A deleted or disabled custom role keeps its bindings but grants
 * nothing, so its document is empty and parse_error says why; a role that cannot be found
 * is recorded the same way.
 */
export function transformRole(ctx: RoleContext, role: GcpRole): PolicyRow {
  let permissions = role.permissions;
  let parseError: string | null = null;
  if (role.deleted) {
    parseError = `custom role is deleted: its bindings grant nothing (${permissions.length} permissions held back)`;
    permissions = [];
  } else if (role.stage === 'DISABLED') {
    parseError = `custom role is disabled: its bindings grant nothing (${permissions.length} permissions held back)`;
    permissions = [];
  }
  const document = roleDocument(permissions);
  return {
    assessment_id: ctx.assessmentId,
    policy_id: role.name,
    integration_id: ctx.integrationId,
    account_id: roleOwner(role.name),
    cloud: 'gcp',
    kind: isPredefinedRole(role.name) ? 'gcp-predefined' : 'gcp-custom',
    name: role.title ?? role.name,
    version_id: role.etag,
    document,
    size_chars: JSON.stringify(document).length,
    parse_error: parseError,
  };
}

export function transformMissingRole(ctx: RoleContext, missing: MissingRole): PolicyRow {
  const document = roleDocument([]);
  return {
    assessment_id: ctx.assessmentId,
    policy_id: missing.name,
    integration_id: ctx.integrationId,
    account_id: roleOwner(missing.name),
    cloud: 'gcp',
    kind: isPredefinedRole(missing.name) ? 'gcp-predefined' : 'gcp-custom',
    name: missing.name,
    version_id: null,
    document,
    size_chars: JSON.stringify(document).length,
    parse_error: `role not found, its permissions are unknown: ${missing.message}`,
  };
}
