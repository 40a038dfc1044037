import {
  DeleteRoleCommand,
  DeleteUserCommand,
  GetRoleCommand,
  GetUserCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureCloud, startFixtureCloud } from '../../fixtures/cloud/index.ts';
import {
  deleteRolePlan,
  deleteUserPlan,
  renderAwsCli,
} from '../../recommend/artifacts/delete-script.ts';
import { RecordingIam, runIamPlan } from '../../recommend/cloud/aws.ts';
import { ACCESS_KEY_ID, type BuiltWorld, PROD, SECRET } from '../fixtures/cloud/world-builder.ts';
import { buildApplyWorld, remediationRole, remediationSession } from './aws-world.ts';

/**
 * Delete plans executed step by step against the fixture cloud, which refuses DeleteUser and
 * DeleteRole with IAM's DeleteConflict while anything is left: the principal is gone afterwards
 * only if the plan removed everything, in an order IAM accepts.
 */

let world: BuiltWorld;
let cloud: FixtureCloud;
let client: IAMClient;

async function errorName(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return (err as Error).name;
  }
}

beforeAll(async () => {
  world = buildApplyWorld();
  cloud = await startFixtureCloud({ dir: world.dir });
  process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = SECRET;
  const session = remediationSession(cloud.url);
  client = session.iam(session.assumeRole(remediationRole(PROD)));
});

afterAll(async () => {
  await cloud?.close();
  world?.cleanup();
});

describe('delete scripts against the fixture cloud', () => {
  it('deletes a user with a login profile, keys, MFA, a group, policies and a boundary', async () => {
    // IAM refuses while anything is attached: the order of the plan matters.
    expect(await errorName(client.send(new DeleteUserCommand({ UserName: 'alice' })))).toMatch(
      /DeleteConflict/,
    );

    const iam = new RecordingIam(client, PROD);
    await runIamPlan(iam, deleteUserPlan('alice'));

    expect(await errorName(client.send(new GetUserCommand({ UserName: 'alice' })))).toMatch(
      /NoSuchEntity/,
    );
    const done = iam.calls.filter((c) => !c.operation.startsWith('List')).map((c) => c.operation);
    expect(done).toEqual([
      'DeleteLoginProfile',
      'DeleteAccessKey',
      'DeleteAccessKey',
      'DeactivateMFADevice',
      'DeleteVirtualMFADevice',
      'RemoveUserFromGroup',
      'DetachUserPolicy',
      'DeleteUserPolicy',
      'DeleteUserPermissionsBoundary',
      'DeleteUser',
    ]);
    expect(iam.calls.every((c) => c.outcome === 'ok')).toBe(true);
  });

  it('deletes a user with an SSH key, a signing certificate and service-specific credentials', async () => {
    const iam = new RecordingIam(client, PROD);
    await runIamPlan(iam, deleteUserPlan('ci-bot'));
    expect(await errorName(client.send(new GetUserCommand({ UserName: 'ci-bot' })))).toMatch(
      /NoSuchEntity/,
    );
    const done = iam.calls.filter((c) => !c.operation.startsWith('List')).map((c) => c.operation);
    expect(done).toEqual([
      'DeleteLoginProfile',
      'DeleteAccessKey',
      'DeleteSigningCertificate',
      'DeleteSSHPublicKey',
      'DeleteServiceSpecificCredential',
      'DeleteUserPermissionsBoundary',
      'DeleteUser',
    ]);
    // No login profile and no boundary: tolerated, recorded as such.
    expect(iam.calls.filter((c) => c.outcome === 'tolerated').map((c) => c.operation)).toEqual([
      'DeleteLoginProfile',
      'DeleteUserPermissionsBoundary',
    ]);
  });

  it('deletes a role with an instance profile, attached and inline policies', async () => {
    expect(
      await errorName(client.send(new GetRoleCommand({ RoleName: 'app-deployer' }))),
    ).toBeUndefined();
    expect(
      await errorName(client.send(new DeleteRoleCommand({ RoleName: 'app-deployer' }))),
    ).toMatch(/DeleteConflict/);
    const iam = new RecordingIam(client, PROD);
    await runIamPlan(iam, deleteRolePlan('app-deployer'));
    expect(await errorName(client.send(new GetRoleCommand({ RoleName: 'app-deployer' })))).toMatch(
      /NoSuchEntity/,
    );
    expect(
      iam.calls.filter((c) => !c.operation.startsWith('List')).map((c) => c.operation),
    ).toEqual([
      'RemoveRoleFromInstanceProfile',
      'DetachRolePolicy',
      'DeleteRolePolicy',
      'DeleteRole',
    ]);
  });

  it('renders the same sequence as AWS CLI text, guarded by the account id', () => {
    const text = renderAwsCli(deleteUserPlan('alice'), {
      title: 'Delete user alice',
      accountId: PROD,
    });
    expect(text).toContain(`if [ "$account" != '${PROD}' ]; then`);
    const commands = [...text.matchAll(/aws iam ([a-z-]+)/g)].map((m) => m[1]);
    expect(commands).toEqual([
      'delete-login-profile',
      'list-access-keys',
      'delete-access-key',
      'list-signing-certificates',
      'delete-signing-certificate',
      'list-ssh-public-keys',
      'delete-ssh-public-key',
      'list-service-specific-credentials',
      'delete-service-specific-credential',
      'list-mfa-devices',
      'deactivate-mfa-device',
      'delete-virtual-mfa-device',
      'list-groups-for-user',
      'remove-user-from-group',
      'list-attached-user-policies',
      'detach-user-policy',
      'list-user-policies',
      'delete-user-policy',
      'delete-user-permissions-boundary',
      'delete-user',
    ]);
    expect(text).toContain(
      `for item in $(aws iam list-access-keys --user-name 'alice' --query 'AccessKeyMetadata[].AccessKeyId' --output text); do`,
    );
    expect(text).toContain(`aws iam delete-access-key --user-name 'alice' --access-key-id "$item"`);
    expect(text).toContain(
      `if [[ "$item" =~ ^arn: ]]; then aws iam delete-virtual-mfa-device --serial-number "$item"; fi`,
    );
    expect(text).toContain('case "$out" in *NoSuchEntity*|*NoSuchEntityException*) ;;');
  });
});
