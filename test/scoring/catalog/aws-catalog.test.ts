import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../lib/errors.ts';
import { classifyAwsAction, getAwsCatalog } from '../../../scoring/catalog/aws.ts';
import { readAwsIamData } from '../../../scoring/catalog/iam-data.ts';
import {
  awsOverrides,
  observabilityRules,
  sensitivityRules,
} from '../../../scoring/catalog/rules.ts';

const catalog = getAwsCatalog();

describe('AWS action catalog', () => {
  it('holds every action of the bundled iam-data with its published access levels and resource types', () => {
    const data = readAwsIamData();
    expect(catalog.size).toBe(data.actions.length);
    expect(catalog.size).toBeGreaterThan(15_000);
    expect(catalog.dataVersion).toContain(`iam-data@${data.version}`);
    const putUserPolicy = classifyAwsAction('iam:PutUserPolicy');
    expect(putUserPolicy.accessLevels).toEqual(['Permissions management', 'Write']);
    expect(putUserPolicy.resourceTypes).toEqual(['user']);
    expect(putUserPolicy.resourceScopeable).toBe(true);
    const listBuckets = classifyAwsAction('s3:ListAllMyBuckets');
    expect(listBuckets.resourceScopeable).toBe(false);
  });

  it('finds actions whatever their case and returns the canonical spelling', () => {
    expect(classifyAwsAction('S3:getobject').action).toBe('s3:GetObject');
  });

  it('rejects an action the catalog lacks with a UsageError naming it', () => {
    expect(() => classifyAwsAction('s3:StealEverything')).toThrow(UsageError);
    expect(() => classifyAwsAction('s3:StealEverything')).toThrow(/s3:StealEverything/);
  });

  it('has no override, sensitivity or observability pattern that matches nothing', () => {
    expect(catalog.unmatchedPatterns).toEqual([]);
  });

  it('gives every rule a reason', () => {
    for (const o of awsOverrides().overrides) expect(o.reason.length).toBeGreaterThan(10);
    for (const r of sensitivityRules().aws) expect(r.reason.length).toBeGreaterThan(10);
    for (const e of observabilityRules().entries) expect(e.reason.length).toBeGreaterThan(10);
  });

  it.each([
    'iam:PassRole',
    'iam:CreateAccessKey',
    'iam:CreateLoginProfile',
    'iam:UpdateLoginProfile',
    'iam:CreatePolicyVersion',
    'iam:SetDefaultPolicyVersion',
    'iam:AttachUserPolicy',
    'iam:AttachGroupPolicy',
    'iam:AttachRolePolicy',
    'iam:PutUserPolicy',
    'iam:PutGroupPolicy',
    'iam:PutRolePolicy',
    'iam:UpdateAssumeRolePolicy',
    'iam:AddUserToGroup',
    'sts:AssumeRole',
    'organizations:LeaveOrganization',
    'sso:CreateAccountAssignment',
    'lambda:UpdateFunctionCode',
  ])('classifies the escalation primitive %s as ADMIN with a reason', (action) => {
    const c = classifyAwsAction(action);
    expect(c.level).toBe('ADMIN');
    expect(c.levelRank).toBe(5);
    expect(c.levelReason).toMatch(/override/);
    expect(c.sensitivity).toBeGreaterThanOrEqual(9);
  });

  it.each([
    { action: 's3:ListAllMyBuckets', level: 'LIST' },
    { action: 'ec2:DescribeInstances', level: 'LIST' },
    { action: 's3:GetObject', level: 'READ' },
    { action: 's3:PutObjectTagging', level: 'TAGGING' },
    { action: 'ec2:CreateTags', level: 'TAGGING' },
    { action: 's3:PutObject', level: 'WRITE' },
    { action: 's3:PutBucketPolicy', level: 'IAM' },
    { action: 'iam:CreateUser', level: 'IAM' },
    { action: 'iam:TagRole', level: 'IAM' },
    { action: 'sts:DecodeAuthorizationMessage', level: 'READ' },
  ])('classifies $action as $level', ({ action, level }) => {
    expect(classifyAwsAction(action).level).toBe(level);
  });

  it.each([
    { action: 's3:GetObject', min: 7 },
    { action: 'secretsmanager:GetSecretValue', min: 9 },
    { action: 'ssm:GetParameter', min: 8 },
    { action: 'ssm:GetParametersByPath', min: 8 },
    { action: 'kms:Decrypt', min: 8 },
    { action: 'ec2:GetPasswordData', min: 9 },
  ])(
    'raises the sensitivity of the data or credential read $action to at least $min',
    ({ action, min }) => {
      const c = classifyAwsAction(action);
      expect(c.sensitivity).toBeGreaterThanOrEqual(min);
      expect(c.sensitivityReasons[0]).toMatch(/^level base/);
      expect(c.sensitivityReasons.length).toBeGreaterThan(1);
    },
  );

  it('keeps plain reads at the level base sensitivity', () => {
    const c = classifyAwsAction('ec2:DescribeRegions');
    expect(c.sensitivity).toBe(sensitivityRules().levelBase[c.level]!.sensitivity);
    expect(c.sensitivityReasons).toHaveLength(1);
  });

  it('gives every action a level, a sensitivity between 0 and 10 and reasons', () => {
    const bad = [...catalog.entries()].filter(
      (c) =>
        c.sensitivity < 0 ||
        c.sensitivity > 10 ||
        c.levelReason.length === 0 ||
        c.sensitivityReasons.length === 0,
    );
    expect(bad).toEqual([]);
  });

  it.each([
    { action: 'iam:PassRole', observable: 'never' },
    { action: 'sts:TagSession', observable: 'never' },
    { action: 'execute-api:Invoke', observable: 'never' },
    { action: 's3:GetObject', observable: 'data-event' },
    { action: 'lambda:InvokeFunction', observable: 'data-event' },
    { action: 'dynamodb:GetItem', observable: 'data-event' },
    { action: 's3:GetBucketObjectLockConfiguration', observable: 'management' },
    { action: 's3:ListAllMyBuckets', observable: 'management' },
    { action: 'kms:Decrypt', observable: 'management' },
    { action: 'iam:CreateUser', observable: 'management' },
  ])('says whether CloudTrail shows $action: $observable', ({ action, observable }) => {
    expect(classifyAwsAction(action).observable).toBe(observable);
  });
});

describe('observability lists', () => {
  it('lists iam:PassRole as never observable and S3 object reads as data events', async () => {
    const { awsActionsByObservability } = await import('../../../scoring/catalog/index.ts');
    expect(awsActionsByObservability('never')).toContain('iam:PassRole');
    expect(awsActionsByObservability('data-event')).toContain('s3:GetObject');
    expect(awsActionsByObservability('management')).not.toContain('s3:GetObject');
  });
});
