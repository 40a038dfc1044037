import type { PlanStep } from '../types.ts';
import { kebab, shellQuote } from './statements.ts';

/**
 * Delete plans for IAM users and roles, in the order IAM requires (DeleteUser and DeleteRole
 * refuse with DeleteConflict while anything below is left). Each step lists what exists at run
 * time rather than trusting the snapshot, so a credential created after the assessment is not
 * missed. The same steps render as AWS CLI text and run through the SDK (recommend/cloud/aws.ts).
 */

export function deleteUserPlan(userName: string): PlanStep[] {
  const user = { UserName: userName };
  return [
    {
      kind: 'call',
      service: 'iam',
      operation: 'DeleteLoginProfile',
      parameters: user,
      tolerate: ['NoSuchEntity', 'NoSuchEntityException'],
      comment: 'console password (absent is fine)',
    },
    {
      kind: 'for-each',
      service: 'iam',
      list: { operation: 'ListAccessKeys', parameters: user, itemsKey: 'AccessKeyMetadata' },
      calls: [
        { operation: 'DeleteAccessKey', parameters: user, from: { AccessKeyId: 'AccessKeyId' } },
      ],
      comment: 'access keys',
    },
    {
      kind: 'for-each',
      service: 'iam',
      list: { operation: 'ListSigningCertificates', parameters: user, itemsKey: 'Certificates' },
      calls: [
        {
          operation: 'DeleteSigningCertificate',
          parameters: user,
          from: { CertificateId: 'CertificateId' },
        },
      ],
      comment: 'signing certificates',
    },
    {
      kind: 'for-each',
      service: 'iam',
      list: { operation: 'ListSSHPublicKeys', parameters: user, itemsKey: 'SSHPublicKeys' },
      calls: [
        {
          operation: 'DeleteSSHPublicKey',
          parameters: user,
          from: { SSHPublicKeyId: 'SSHPublicKeyId' },
        },
      ],
      comment: 'SSH public keys (CodeCommit)',
    },
    {
      kind: 'for-each',
      service: 'iam',
      list: {
        operation: 'ListServiceSpecificCredentials',
        parameters: user,
        itemsKey: 'ServiceSpecificCredentials',
      },
      calls: [
        {
          operation: 'DeleteServiceSpecificCredential',
          parameters: user,
          from: { ServiceSpecificCredentialId: 'ServiceSpecificCredentialId' },
        },
      ],
      comment: 'service-specific credentials (CodeCommit, Keyspaces)',
    },
    {
      kind: 'for-each',
      service: 'iam',
      list: { operation: 'ListMFADevices', parameters: user, itemsKey: 'MFADevices' },
      calls: [
        {
          operation: 'DeactivateMFADevice',
          parameters: user,
          from: { SerialNumber: 'SerialNumber' },
        },
        {
          operation: 'DeleteVirtualMFADevice',
          parameters: {},
          from: { SerialNumber: 'SerialNumber' },
          when: { field: 'SerialNumber', pattern: '^arn:' },
        },
      ],
      comment: 'MFA devices (virtual ones are deleted too)',
    },
    {
      kind: 'for-each',
      service: 'iam',
      list: { operation: 'ListGroupsForUser', parameters: user, itemsKey: 'Groups' },
      calls: [
        { operation: 'RemoveUserFromGroup', parameters: user, from: { GroupName: 'GroupName' } },
      ],
      comment: 'group memberships',
    },
    {
      kind: 'for-each',
      service: 'iam',
      list: {
        operation: 'ListAttachedUserPolicies',
        parameters: user,
        itemsKey: 'AttachedPolicies',
      },
      calls: [
        { operation: 'DetachUserPolicy', parameters: user, from: { PolicyArn: 'PolicyArn' } },
      ],
      comment: 'attached managed policies',
    },
    {
      kind: 'for-each',
      service: 'iam',
      list: { operation: 'ListUserPolicies', parameters: user, itemsKey: 'PolicyNames' },
      calls: [{ operation: 'DeleteUserPolicy', parameters: user, from: { PolicyName: '.' } }],
      comment: 'inline policies',
    },
    {
      kind: 'call',
      service: 'iam',
      operation: 'DeleteUserPermissionsBoundary',
      parameters: user,
      tolerate: ['NoSuchEntity', 'NoSuchEntityException'],
      comment: 'permissions boundary (absent is fine)',
    },
    {
      kind: 'call',
      service: 'iam',
      operation: 'DeleteUser',
      parameters: user,
      comment: 'the user',
    },
  ];
}

export function deleteRolePlan(roleName: string): PlanStep[] {
  const role = { RoleName: roleName };
  return [
    {
      kind: 'for-each',
      service: 'iam',
      list: {
        operation: 'ListInstanceProfilesForRole',
        parameters: role,
        itemsKey: 'InstanceProfiles',
      },
      calls: [
        {
          operation: 'RemoveRoleFromInstanceProfile',
          parameters: role,
          from: { InstanceProfileName: 'InstanceProfileName' },
        },
      ],
      comment: 'instance profiles',
    },
    {
      kind: 'for-each',
      service: 'iam',
      list: {
        operation: 'ListAttachedRolePolicies',
        parameters: role,
        itemsKey: 'AttachedPolicies',
      },
      calls: [
        { operation: 'DetachRolePolicy', parameters: role, from: { PolicyArn: 'PolicyArn' } },
      ],
      comment: 'attached managed policies',
    },
    {
      kind: 'for-each',
      service: 'iam',
      list: { operation: 'ListRolePolicies', parameters: role, itemsKey: 'PolicyNames' },
      calls: [{ operation: 'DeleteRolePolicy', parameters: role, from: { PolicyName: '.' } }],
      comment: 'inline policies',
    },
    {
      kind: 'call',
      service: 'iam',
      operation: 'DeleteRole',
      parameters: role,
      comment: 'the role',
    },
  ];
}

/** Field of a listed item as the AWS CLI `--query` names it (`.` is the item itself). */
function queryField(itemsKey: string, field: string): string {
  return field === '.' ? `${itemsKey}[]` : `${itemsKey}[].${field}`;
}

function cliArgs(parameters: Record<string, unknown>, files: Record<string, string> = {}): string {
  return Object.entries(parameters)
    .map(([k, v]) => {
      const file = files[k];
      return `--${kebab(k)} ${file ? `"file://$here/${file}"` : shellQuote(String(v))}`;
    })
    .join(' ');
}

function renderCall(service: string, operation: string, args: string): string {
  return `aws ${service} ${kebab(operation)}${args ? ` ${args}` : ''}`;
}

/**
 * AWS CLI text for a plan. It refuses to run in another account than the one the plan was made
 * for, stops at the first unexpected error, and tolerates only the errors the plan allows.
 */
export function renderAwsCli(
  steps: PlanStep[],
  header: { title: string; accountId: string },
): string {
  const lines = [
    '#!/usr/bin/env bash',
    `# ${header.title}`,
    '# Generated by Access Discovery. Review before running; every step is listed in order.',
    ...(steps.some((s) => s.kind === 'call' && s.files)
      ? ['# The policy documents it names are the .json files beside this script.']
      : []),
    'set -euo pipefail',
    ...(steps.some((s) => s.kind === 'call' && s.files)
      ? ['here="$(cd "$(dirname "$0")" && pwd)"']
      : []),
    '',
    'account=$(aws sts get-caller-identity --query Account --output text)',
    `if [ "$account" != ${shellQuote(header.accountId)} ]; then`,
    `  echo "these credentials are for account $account, not ${header.accountId}" >&2`,
    '  exit 1',
    'fi',
  ];
  for (const step of steps) {
    lines.push('', `# ${step.comment}`);
    if (step.kind === 'call') {
      const command = renderCall(
        step.service,
        step.operation,
        cliArgs(step.parameters, step.files),
      );
      if (step.tolerate?.length) {
        const codes = step.tolerate.map((t) => `*${t}*`).join('|');
        lines.push(
          `if ! out=$(${command} 2>&1); then`,
          `  case "$out" in ${codes}) ;; *) echo "$out" >&2; exit 1 ;; esac`,
          'fi',
        );
      } else {
        lines.push(command);
      }
      continue;
    }
    const fields = [...new Set(step.calls.flatMap((c) => Object.values(c.from)))];
    if (fields.length !== 1) {
      throw new RangeError(
        `a for-each step must read one field per item, got ${fields.join(', ')}`,
      );
    }
    const field = fields[0]!;
    const list = renderCall(step.service, step.list.operation, cliArgs(step.list.parameters));
    lines.push(
      `for item in $(${list} --query ${shellQuote(queryField(step.list.itemsKey, field))} --output text); do`,
    );
    for (const call of step.calls) {
      const param = Object.keys(call.from)[0]!;
      const args = [cliArgs(call.parameters), `--${kebab(param)} "$item"`]
        .filter(Boolean)
        .join(' ');
      const command = renderCall(step.service, call.operation, args);
      if (call.when) {
        lines.push(`  if [[ "$item" =~ ${call.when.pattern} ]]; then ${command}; fi`);
      } else {
        lines.push(`  ${command}`);
      }
    }
    lines.push('done');
  }
  return `${lines.join('\n')}\n`;
}
