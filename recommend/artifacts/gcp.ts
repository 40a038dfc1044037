import type { PlanStep } from '../types.ts';
import { shellQuote } from './statements.ts';

/**
 * GCP equivalents: disable / enable / delete a service account, remove role bindings, and a
 * smaller custom role in place of an overprivileged one. Every plan is structured steps (what the
 * remediation service runs for disable and enable) rendered as gcloud text for the user.
 */

export interface GcpBinding {
  /** `projects/P`, `folders/N` or `organizations/N`. */
  resource: string;
  role: string;
  member: string;
  /** `{title, expression}` of a conditional binding; null when unconditional. */
  condition: unknown;
}

export function serviceAccountName(projectId: string, email: string): string {
  return `projects/${projectId}/serviceAccounts/${email}`;
}

export function disableServiceAccountStep(projectId: string, email: string): PlanStep {
  return {
    kind: 'call',
    service: 'iam',
    operation: 'projects.serviceAccounts.disable',
    parameters: { name: serviceAccountName(projectId, email) },
    comment: 'disable the service account (its keys and tokens stop working; enable restores it)',
  };
}

export function enableServiceAccountStep(projectId: string, email: string): PlanStep {
  return {
    kind: 'call',
    service: 'iam',
    operation: 'projects.serviceAccounts.enable',
    parameters: { name: serviceAccountName(projectId, email) },
    comment: 'enable the service account again',
  };
}

export function removeBindingStep(binding: GcpBinding): PlanStep {
  return {
    kind: 'call',
    service: 'cloudresourcemanager',
    operation: 'removeIamPolicyBinding',
    parameters: { ...binding },
    comment: `remove ${binding.role} from ${binding.member} on ${binding.resource}`,
  };
}

export function deleteServiceAccountPlan(
  projectId: string,
  email: string,
  bindings: GcpBinding[],
): PlanStep[] {
  return [
    ...bindings.map(removeBindingStep),
    {
      kind: 'call',
      service: 'iam',
      operation: 'projects.serviceAccounts.delete',
      parameters: { name: serviceAccountName(projectId, email) },
      comment:
        'delete the service account (undelete is possible for 30 days: gcloud beta iam service-accounts undelete UNIQUE_ID)',
    },
  ];
}

/** Custom role ids: letters, digits, underscores and periods, 3 to 64 characters. */
export function customRoleId(base: string, hash: string): string {
  const clean = base.replace(/[^A-Za-z0-9_.]/g, '_').replace(/^[^A-Za-z]+/, '');
  const tail = `_${hash}`;
  return `${(clean || 'role').slice(0, 64 - tail.length)}${tail}`;
}

export function customRolePlan(input: {
  /** `projects/P` or `organizations/N`: where the role is created. */
  parent: string;
  roleId: string;
  title: string;
  description: string;
  permissions: string[];
  /** The bindings it replaces (same member and resource get the new role). */
  replaces: GcpBinding[];
}): PlanStep[] {
  const roleName = `${input.parent}/roles/${input.roleId}`;
  const steps: PlanStep[] = [
    {
      kind: 'call',
      service: 'iam',
      operation: input.parent.startsWith('projects/')
        ? 'projects.roles.create'
        : 'organizations.roles.create',
      parameters: {
        parent: input.parent,
        roleId: input.roleId,
        role: {
          title: input.title,
          description: input.description,
          includedPermissions: input.permissions,
          stage: 'GA',
        },
      },
      comment: `custom role with the ${input.permissions.length} permissions kept`,
    },
  ];
  for (const b of input.replaces) {
    steps.push({
      kind: 'call',
      service: 'cloudresourcemanager',
      operation: 'addIamPolicyBinding',
      parameters: { ...b, role: roleName },
      comment: `grant the custom role to ${b.member} on ${b.resource}`,
    });
  }
  for (const b of input.replaces) steps.push(removeBindingStep(b));
  return steps;
}

function resourceCommand(resource: string): { group: string; id: string } | undefined {
  const [kind, id] = resource.split('/');
  if (!id) return undefined;
  if (kind === 'projects') return { group: 'gcloud projects', id };
  if (kind === 'folders') return { group: 'gcloud resource-manager folders', id };
  if (kind === 'organizations') return { group: 'gcloud organizations', id };
  return undefined;
}

function conditionFlag(condition: unknown, lines: string[], n: number): string | undefined {
  if (condition === null || condition === undefined) return '--condition=None';
  const c = condition as { title?: unknown; expression?: unknown; description?: unknown };
  if (typeof c.expression !== 'string' || typeof c.title !== 'string') return undefined;
  const file = `"$tmp/condition-${n}.yaml"`;
  lines.push(
    `cat > ${file} <<'CONDITION'`,
    `title: ${JSON.stringify(c.title)}`,
    `expression: ${JSON.stringify(c.expression)}`,
    ...(typeof c.description === 'string' ? [`description: ${JSON.stringify(c.description)}`] : []),
    'CONDITION',
  );
  return `--condition-from-file=${file}`;
}

/** gcloud text for a plan; steps gcloud cannot express are left as comments to act on by hand. */
export function renderGcloud(steps: PlanStep[], title: string): string {
  const lines = [
    '#!/usr/bin/env bash',
    `# ${title}`,
    '# Generated by Access Discovery. Review before running; every step is listed in order.',
    'set -euo pipefail',
    'tmp=$(mktemp -d)',
    'trap \'rm -rf "$tmp"\' EXIT',
  ];
  steps.forEach((step, n) => {
    lines.push('', `# ${step.comment}`);
    if (step.kind !== 'call') {
      lines.push('# (not expressible as one gcloud command; see the structured plan)');
      return;
    }
    const p = step.parameters;
    const name = String(p.name ?? '');
    const sa = /^projects\/([^/]+)\/serviceAccounts\/(.+)$/.exec(name);
    switch (step.operation) {
      case 'projects.serviceAccounts.disable':
      case 'projects.serviceAccounts.enable':
      case 'projects.serviceAccounts.delete': {
        const verb = step.operation.split('.').at(-1)!;
        lines.push(
          `gcloud iam service-accounts ${verb} ${shellQuote(sa?.[2] ?? name)} --project=${shellQuote(sa?.[1] ?? '')}${verb === 'delete' ? ' --quiet' : ''}`,
        );
        return;
      }
      case 'removeIamPolicyBinding':
      case 'addIamPolicyBinding': {
        const target = resourceCommand(String(p.resource));
        const flag = conditionFlag(p.condition, lines, n);
        if (!target || !flag) {
          lines.push(
            `# by hand: ${step.operation} role ${String(p.role)} for ${String(p.member)} on ${String(p.resource)}`,
          );
          return;
        }
        const verb =
          step.operation === 'addIamPolicyBinding'
            ? 'add-iam-policy-binding'
            : 'remove-iam-policy-binding';
        lines.push(
          `${target.group} ${verb} ${shellQuote(target.id)} --member=${shellQuote(String(p.member))} --role=${shellQuote(String(p.role))} ${flag}`,
        );
        return;
      }
      case 'projects.roles.create':
      case 'organizations.roles.create': {
        const role = p.role as {
          title: string;
          description: string;
          includedPermissions: string[];
        };
        const [kind, id] = String(p.parent).split('/');
        const scope =
          kind === 'projects'
            ? `--project=${shellQuote(id!)}`
            : `--organization=${shellQuote(id!)}`;
        lines.push(
          `gcloud iam roles create ${shellQuote(String(p.roleId))} ${scope} --title=${shellQuote(role.title)} --description=${shellQuote(role.description)} --stage=GA --permissions=${shellQuote(role.includedPermissions.join(','))}`,
        );
        return;
      }
      default:
        lines.push(`# by hand: ${step.operation} ${JSON.stringify(p)}`);
    }
  });
  return `${lines.join('\n')}\n`;
}
