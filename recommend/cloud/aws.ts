import {
  AttachGroupPolicyCommand,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreatePolicyCommand,
  DeactivateMFADeviceCommand,
  DeleteAccessKeyCommand,
  DeleteGroupPolicyCommand,
  DeleteLoginProfileCommand,
  DeletePolicyCommand,
  DeleteRoleCommand,
  DeleteRolePermissionsBoundaryCommand,
  DeleteRolePolicyCommand,
  DeleteServiceSpecificCredentialCommand,
  DeleteSigningCertificateCommand,
  DeleteSSHPublicKeyCommand,
  DeleteUserCommand,
  DeleteUserPermissionsBoundaryCommand,
  DeleteUserPolicyCommand,
  DeleteVirtualMFADeviceCommand,
  DetachGroupPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetGroupPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  type IAMClient,
  ListAccessKeysCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  ListInstanceProfilesForRoleCommand,
  ListMFADevicesCommand,
  ListRolePoliciesCommand,
  ListServiceSpecificCredentialsCommand,
  ListSigningCertificatesCommand,
  ListSSHPublicKeysCommand,
  ListUserPoliciesCommand,
  PutGroupPolicyCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  PutUserPermissionsBoundaryCommand,
  PutUserPolicyCommand,
  RemoveRoleFromInstanceProfileCommand,
  RemoveUserFromGroupCommand,
} from '@aws-sdk/client-iam';
import { awsErrorName } from '../../ingest/aws/clients.ts';
import { errorMessage, RemediationError } from '../../lib/errors.ts';
import type { PlanStep } from '../types.ts';

/**
 * The only code of recommend/ that talks to AWS: IAM calls by operation name (so plans stored as
 * data can run), each recorded with its outcome for the remediation row.
 */

const COMMANDS = {
  AttachGroupPolicy: AttachGroupPolicyCommand,
  AttachRolePolicy: AttachRolePolicyCommand,
  AttachUserPolicy: AttachUserPolicyCommand,
  CreatePolicy: CreatePolicyCommand,
  DeactivateMFADevice: DeactivateMFADeviceCommand,
  DeleteAccessKey: DeleteAccessKeyCommand,
  DeleteGroupPolicy: DeleteGroupPolicyCommand,
  DeleteLoginProfile: DeleteLoginProfileCommand,
  DeletePolicy: DeletePolicyCommand,
  DeleteRole: DeleteRoleCommand,
  DeleteRolePermissionsBoundary: DeleteRolePermissionsBoundaryCommand,
  DeleteRolePolicy: DeleteRolePolicyCommand,
  DeleteServiceSpecificCredential: DeleteServiceSpecificCredentialCommand,
  DeleteSigningCertificate: DeleteSigningCertificateCommand,
  DeleteSSHPublicKey: DeleteSSHPublicKeyCommand,
  DeleteUser: DeleteUserCommand,
  DeleteUserPermissionsBoundary: DeleteUserPermissionsBoundaryCommand,
  DeleteUserPolicy: DeleteUserPolicyCommand,
  DeleteVirtualMFADevice: DeleteVirtualMFADeviceCommand,
  DetachGroupPolicy: DetachGroupPolicyCommand,
  DetachRolePolicy: DetachRolePolicyCommand,
  DetachUserPolicy: DetachUserPolicyCommand,
  GetGroupPolicy: GetGroupPolicyCommand,
  GetPolicy: GetPolicyCommand,
  GetPolicyVersion: GetPolicyVersionCommand,
  GetRole: GetRoleCommand,
  GetRolePolicy: GetRolePolicyCommand,
  GetUser: GetUserCommand,
  GetUserPolicy: GetUserPolicyCommand,
  ListAccessKeys: ListAccessKeysCommand,
  ListAttachedRolePolicies: ListAttachedRolePoliciesCommand,
  ListAttachedUserPolicies: ListAttachedUserPoliciesCommand,
  ListGroupsForUser: ListGroupsForUserCommand,
  ListInstanceProfilesForRole: ListInstanceProfilesForRoleCommand,
  ListMFADevices: ListMFADevicesCommand,
  ListRolePolicies: ListRolePoliciesCommand,
  ListServiceSpecificCredentials: ListServiceSpecificCredentialsCommand,
  ListSigningCertificates: ListSigningCertificatesCommand,
  ListSSHPublicKeys: ListSSHPublicKeysCommand,
  ListUserPolicies: ListUserPoliciesCommand,
  PutGroupPolicy: PutGroupPolicyCommand,
  PutRolePermissionsBoundary: PutRolePermissionsBoundaryCommand,
  PutRolePolicy: PutRolePolicyCommand,
  PutUserPermissionsBoundary: PutUserPermissionsBoundaryCommand,
  PutUserPolicy: PutUserPolicyCommand,
  RemoveRoleFromInstanceProfile: RemoveRoleFromInstanceProfileCommand,
  RemoveUserFromGroup: RemoveUserFromGroupCommand,
} as const;

export type IamOperation = keyof typeof COMMANDS;

export function isIamOperation(name: string): name is IamOperation {
  return Object.hasOwn(COMMANDS, name);
}

type AnyCommand = Parameters<IAMClient['send']>[0];

/** One call as recorded in `remediation.calls` / `rollback_calls`. */
export interface RecordedCall {
  service: string;
  operation: string;
  accountId: string;
  parameters: Record<string, unknown>;
  outcome: 'ok' | 'tolerated' | 'error';
  error?: string;
  at: string;
}

/** An IAM client bound to one account that records every call it makes. */
export class RecordingIam {
  readonly calls: RecordedCall[] = [];

  constructor(
    private readonly client: IAMClient,
    readonly accountId: string,
  ) {}

  /** Send one IAM call; errors named in `tolerate` are recorded and answer undefined. */
  async send(
    operation: IamOperation,
    parameters: Record<string, unknown>,
    tolerate: readonly string[] = [],
  ): Promise<Record<string, unknown> | undefined> {
    const Ctor = COMMANDS[operation] as unknown as new (
      input: Record<string, unknown>,
    ) => AnyCommand;
    const entry: RecordedCall = {
      service: 'iam',
      operation,
      accountId: this.accountId,
      parameters,
      outcome: 'ok',
      at: new Date().toISOString(),
    };
    this.calls.push(entry);
    try {
      const out = await this.client.send(new Ctor(parameters));
      return out as unknown as Record<string, unknown>;
    } catch (err) {
      const name = awsErrorName(err);
      entry.error = `${name ?? 'Error'}: ${errorMessage(err)}`;
      if (name && tolerate.includes(name)) {
        entry.outcome = 'tolerated';
        return undefined;
      }
      entry.outcome = 'error';
      throw err;
    }
  }

  /** Every item of a listing, following IAM's Marker / IsTruncated paging. */
  async listAll(
    operation: IamOperation,
    parameters: Record<string, unknown>,
    itemsKey: string,
  ): Promise<unknown[]> {
    const items: unknown[] = [];
    let marker: string | undefined;
    const seen = new Set<string>();
    for (;;) {
      const page = await this.send(
        operation,
        marker ? { ...parameters, Marker: marker } : parameters,
      );
      const list = page?.[itemsKey];
      if (Array.isArray(list)) items.push(...list);
      marker =
        page?.IsTruncated === true && typeof page.Marker === 'string' ? page.Marker : undefined;
      if (!marker) return items;
      if (seen.has(marker)) throw new RemediationError(`${operation} repeated its paging marker`);
      seen.add(marker);
    }
  }
}

function field(item: unknown, name: string): string {
  if (name === '.') return String(item);
  const value = (item as Record<string, unknown> | null)?.[name];
  if (typeof value !== 'string') {
    throw new RemediationError(`listed item has no ${name}`, { item });
  }
  return value;
}

/** Run an IAM plan (delete scripts, right-size scripts) step by step; stops at the first error. */
export async function runIamPlan(iam: RecordingIam, steps: PlanStep[]): Promise<void> {
  for (const step of steps) {
    if (step.service !== 'iam') {
      throw new RemediationError(`plan step for ${step.service} cannot run against IAM`);
    }
    if (step.kind === 'call') {
      if (!isIamOperation(step.operation)) {
        throw new RemediationError(`unsupported IAM operation ${step.operation}`);
      }
      await iam.send(step.operation, step.parameters, step.tolerate ?? []);
      continue;
    }
    if (!isIamOperation(step.list.operation)) {
      throw new RemediationError(`unsupported IAM operation ${step.list.operation}`);
    }
    const items = await iam.listAll(step.list.operation, step.list.parameters, step.list.itemsKey);
    for (const item of items) {
      for (const call of step.calls) {
        if (!isIamOperation(call.operation)) {
          throw new RemediationError(`unsupported IAM operation ${call.operation}`);
        }
        if (call.when && !new RegExp(call.when.pattern).test(field(item, call.when.field)))
          continue;
        const params: Record<string, unknown> = { ...call.parameters };
        for (const [param, from] of Object.entries(call.from)) params[param] = field(item, from);
        await iam.send(call.operation, params);
      }
    }
  }
}
