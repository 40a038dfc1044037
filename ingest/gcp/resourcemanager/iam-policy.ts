import { z } from 'zod';
import { IngestError } from '../../../lib/errors.ts';
import { call, type GcpApi, parseResponse } from '../api.ts';

/**
 * IAM allow policies of the organization, folders and projects. Read at policy version 3 so
 * that conditional bindings come back with their condition (below 3 Google hides them behind
 * `<role>_withcond_<hash>` names). Bindings stay where they are bound: inheritance down the
 * hierarchy is not materialised per project (a binding on the organization is one row).
 */

const ExprSchema = z.looseObject({
  expression: z.string(),
  title: z.string().optional(),
  description: z.string().optional(),
});

const BindingSchema = z.looseObject({
  role: z.string().min(1),
  members: z.array(z.string()).optional(),
  condition: ExprSchema.nullish(),
});

const AuditLogConfigSchema = z.looseObject({
  logType: z.string().optional(),
  exemptedMembers: z.array(z.string()).optional(),
});

const AuditConfigSchema = z.looseObject({
  service: z.string(),
  auditLogConfigs: z.array(AuditLogConfigSchema).optional(),
});

const PolicySchema = z.looseObject({
  version: z.number().int().optional(),
  etag: z.string().optional(),
  bindings: z.array(BindingSchema).optional(),
  auditConfigs: z.array(AuditConfigSchema).optional(),
});

export interface BindingCondition {
  title: string | null;
  expression: string;
}

export interface GcpBinding {
  role: string;
  members: string[];
  condition: BindingCondition | null;
}

export interface ResourcePolicy {
  /** `organizations/N`, `folders/N` or `projects/<projectId>`. */
  resource: string;
  etag: string | null;
  bindings: GcpBinding[];
  /** Services with Data Access (DATA_READ) audit logs switched on at this level. */
  dataReadServices: string[];
}

// --- get -------------------------------------------------------------------------------------

export async function getIamPolicy(api: GcpApi, resource: string): Promise<ResourcePolicy> {
  const crm = api.clients.resourceManager;
  const requestBody = { options: { requestedPolicyVersion: 3 } };
  const [kind] = resource.split('/');
  let raw: unknown;
  let callName: string;
  if (kind === 'organizations') {
    callName = 'organizations.getIamPolicy';
    raw = await call(api, () => crm.organizations.getIamPolicy({ resource, requestBody }));
  } else if (kind === 'folders') {
    callName = 'folders.getIamPolicy';
    raw = await call(api, () => crm.folders.getIamPolicy({ resource, requestBody }));
  } else if (kind === 'projects') {
    callName = 'projects.getIamPolicy';
    raw = await call(api, () => crm.projects.getIamPolicy({ resource, requestBody }));
  } else {
    throw new IngestError(`cannot read the IAM policy of ${resource}`, { resource });
  }
  return transformPolicy(resource, parseResponse(PolicySchema, raw, callName));
}

// --- transform -------------------------------------------------------------------------------

export function transformPolicy(
  resource: string,
  policy: z.infer<typeof PolicySchema>,
): ResourcePolicy {
  return {
    resource,
    etag: policy.etag ?? null,
    bindings: (policy.bindings ?? []).map((b) => ({
      role: b.role,
      members: b.members ?? [],
      condition: b.condition
        ? { title: b.condition.title ?? null, expression: b.condition.expression }
        : null,
    })),
    dataReadServices: (policy.auditConfigs ?? [])
      .filter((c) => (c.auditLogConfigs ?? []).some((l) => l.logType === 'DATA_READ'))
      .map((c) => c.service)
      .sort(),
  };
}

/**
 * Several bindings may give one member the same role on one resource (different conditions).
 * They collapse into one attachment: unconditional when any of them is, otherwise the
 * disjunction of the conditions, so nothing granted is lost and nothing is over-stated.
 */
export function mergeConditions(
  conditions: ReadonlyArray<BindingCondition | null>,
): BindingCondition | null {
  if (conditions.length === 0 || conditions.some((c) => c === null)) return null;
  const distinct = new Map<string, BindingCondition>();
  for (const c of conditions as BindingCondition[])
    distinct.set(`${c.title}\u0000${c.expression}`, c);
  const list = [...distinct.values()].sort((a, b) =>
    `${a.title}${a.expression}`.localeCompare(`${b.title}${b.expression}`),
  );
  if (list.length === 1) return list[0] ?? null;
  return {
    title: list.map((c) => c.title ?? '(untitled)').join(' OR '),
    expression: list.map((c) => `(${c.expression})`).join(' || '),
  };
}
