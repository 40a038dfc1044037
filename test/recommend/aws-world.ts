import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { AwsSession } from '../../ingest/aws/clients.ts';
import {
  type BuiltWorld,
  buildWorld,
  EXTERNAL_ID,
  MGMT,
  ORG_ID,
  PROD,
  TRAIL_BUCKET,
} from '../fixtures/cloud/world-builder.ts';

/**
 * The fixture-cloud world for apply, rollback and delete tests: the standard test world, with
 * the PROD account extended by a few principals whose recommendations are known in advance.
 *
 * - alice (user): login profile, two access keys, a virtual MFA device, the developers group,
 *   an attached and an inline policy, boundary dev-boundary; active.
 * - ci-bot (user): an access key, an SSH key, a signing certificate, a CodeCommit credential.
 * - bob (user): app-deploy (lambda:*) + inline s3 reads, boundary dev-boundary; dormant.
 * - dan (user): AdministratorAccess, boundary dev-boundary; dormant.
 * - app-deployer (role): app-deploy + inline, an instance profile; active (creates Lambda functions).
 */

export const DEV_BOUNDARY = `arn:aws:iam::${PROD}:policy/dev-boundary`;
export const DEV_BOUNDARY_DOC = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'DevScope',
      Effect: 'Allow',
      Action: ['s3:*', 'iam:*', 'ec2:Describe*', 'lambda:*'],
      Resource: '*',
    },
  ],
};

export function buildApplyWorld(): BuiltWorld {
  const world = buildWorld({ days: 5, filesPerDay: 2, recordsPerFile: 20 });
  // As AWS does (a node keeps at least one SCP, FullAWSAccess by default), every OU has
  // FullAWSAccess: the Prod OU's DenyLeaveOrganization then only takes that one action away.
  const orgFile = join(world.dir, 'aws', 'organization.json');
  const org = JSON.parse(readFileSync(orgFile, 'utf8')) as {
    organizationalUnits: Array<{ Id: string; Arn: string; Name: string }>;
    policies: Array<{ PolicySummary: { Id: string }; Targets: Array<Record<string, string>> }>;
  };
  const full = org.policies.find((p) => p.PolicySummary.Id === 'p-FullAWSAccess')!;
  for (const ou of org.organizationalUnits) {
    full.Targets.push({ TargetId: ou.Id, Arn: ou.Arn, Name: ou.Name, Type: 'ORGANIZATIONAL_UNIT' });
  }
  writeFileSync(orgFile, `${JSON.stringify(org, null, 2)}\n`);
  const file = join(world.dir, 'aws', 'accounts', `${PROD}.json`);
  const account = JSON.parse(readFileSync(file, 'utf8')) as {
    authorizationDetails: {
      UserDetailList: Array<Record<string, unknown>>;
      Policies: Array<Record<string, unknown>>;
    };
  };
  const details = account.authorizationDetails;
  const created = (details.UserDetailList[0] as { CreateDate: string }).CreateDate;
  details.Policies.push({
    PolicyName: 'dev-boundary',
    PolicyId: 'ANPAPRODDEVBOUNDARY1',
    Arn: DEV_BOUNDARY,
    Path: '/',
    DefaultVersionId: 'v1',
    AttachmentCount: 0,
    PermissionsBoundaryUsageCount: 3,
    IsAttachable: true,
    CreateDate: created,
    UpdateDate: created,
    PolicyVersionList: [
      { Document: DEV_BOUNDARY_DOC, VersionId: 'v1', IsDefaultVersion: true, CreateDate: created },
    ],
  });
  // alice gets every kind of attachment a user can have, for the delete script.
  const alice = details.UserDetailList.find((u) => u.UserName === 'alice')!;
  alice.UserPolicyList = [
    {
      PolicyName: 'alice-notes',
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
      },
    },
  ];
  alice.AttachedManagedPolicies = [
    { PolicyName: 'app-deploy', PolicyArn: `arn:aws:iam::${PROD}:policy/app-deploy` },
  ];
  alice.PermissionsBoundary = {
    PermissionsBoundaryType: 'Policy',
    PermissionsBoundaryArn: DEV_BOUNDARY,
  };
  const bob = details.UserDetailList.find((u) => u.UserName === 'bob')!;
  bob.PermissionsBoundary = {
    PermissionsBoundaryType: 'Policy',
    PermissionsBoundaryArn: DEV_BOUNDARY,
  };
  details.UserDetailList.push({
    Path: '/',
    UserName: 'dan',
    UserId: `AIDA${PROD}DAN000`,
    Arn: `arn:aws:iam::${PROD}:user/dan`,
    CreateDate: created,
    UserPolicyList: [],
    GroupList: [],
    AttachedManagedPolicies: [
      {
        PolicyName: 'AdministratorAccess',
        PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
      },
    ],
    PermissionsBoundary: {
      PermissionsBoundaryType: 'Policy',
      PermissionsBoundaryArn: DEV_BOUNDARY,
    },
    Tags: [{ Key: 'owner', Value: 'data-team' }],
  });
  writeFileSync(file, `${JSON.stringify(account, null, 2)}\n`);
  return world;
}

export function applyConfig(url: string): Config {
  return parseConfig({
    lookbackDays: 5,
    dormancyDays: 5,
    ownerTagKey: 'owner',
    owner: 'security-team',
    integrations: [
      {
        id: 'fixture-org',
        kind: 'aws-organization',
        managementRoleArn: `arn:aws:iam::${MGMT}:role/AccessDiscoveryReadOnly`,
        memberRoleName: 'AccessDiscoveryReadOnly',
        remediationRoleName: 'AccessDiscoveryRemediation',
        externalId: EXTERNAL_ID,
        regions: ['us-east-1', 'eu-west-1'],
        trail: { bucket: TRAIL_BUCKET, prefix: '', organizationId: ORG_ID },
        endpoints: { aws: url },
        concurrency: 4,
      },
    ],
  });
}

/** A session as the remediation role of an account: what a test uses to read state back or to drift it. */
export function remediationSession(url: string): AwsSession {
  return new AwsSession({
    endpoint: url,
    region: 'us-east-1',
    externalId: EXTERNAL_ID,
    maxAttempts: 2,
  });
}

export function remediationRole(account: string): string {
  return `arn:aws:iam::${account}:role/AccessDiscoveryRemediation`;
}
