import { describe, expect, it } from 'vitest';
import { ActionExpander } from '../../../scoring/policy/expand.ts';
import { parsePolicyDocument } from '../../../scoring/policy/parse.ts';
import { matchesWildcard } from '../../../scoring/policy/wildcard.ts';

const CATALOG = [
  's3:GetObject',
  's3:GetObjectAcl',
  's3:PutObject',
  's3:ListBucket',
  'iam:CreateUser',
  'iam:GetUser',
  'iam:ListUsers',
  'iam:ListUserTags',
  'iam:CreateRole',
  'ec2:DescribeVpcs',
];

describe('ActionExpander', () => {
  const expander = new ActionExpander(CATALOG);

  it.each([
    { pattern: '*', expected: CATALOG },
    {
      pattern: 's3:*',
      expected: ['s3:GetObject', 's3:GetObjectAcl', 's3:PutObject', 's3:ListBucket'],
    },
    { pattern: 's3:Get*', expected: ['s3:GetObject', 's3:GetObjectAcl'] },
    { pattern: 'S3:get*', expected: ['s3:GetObject', 's3:GetObjectAcl'] },
    {
      pattern: 'iam:*User*',
      expected: ['iam:CreateUser', 'iam:GetUser', 'iam:ListUsers', 'iam:ListUserTags'],
    },
    { pattern: 'ec2:Describe?pcs', expected: ['ec2:DescribeVpcs'] },
    { pattern: 'iam:createuser', expected: ['iam:CreateUser'] },
    { pattern: '*:List*', expected: ['s3:ListBucket', 'iam:ListUsers', 'iam:ListUserTags'] },
    { pattern: 'iam:Nope*', expected: [] },
    { pattern: 'nope:*', expected: [] },
  ])('expands $pattern', ({ pattern, expected }) => {
    expect([...expander.expand(pattern)].sort()).toEqual([...expected].sort());
  });

  it('computes each distinct pattern once, whatever its case', () => {
    const fresh = new ActionExpander(CATALOG);
    const first = fresh.expand('s3:Get*');
    expect(fresh.expand('S3:GET*')).toBe(first);
    expect(fresh.cachedPatterns).toBe(1);
  });

  it('treats NotAction as the complement of its patterns', () => {
    const policy = parsePolicyDocument({
      Statement: { Effect: 'Allow', NotAction: ['iam:*', 's3:Put*'], Resource: '*' },
    });
    expect([...expander.allowedActions(policy)].sort()).toEqual(
      ['ec2:DescribeVpcs', 's3:GetObject', 's3:GetObjectAcl', 's3:ListBucket'].sort(),
    );
  });

  it('removes actions denied on every resource without condition, and only those', () => {
    const policy = parsePolicyDocument({
      Statement: [
        { Effect: 'Allow', Action: '*', Resource: '*' },
        { Effect: 'Deny', Action: 'iam:*', Resource: '*' },
        { Effect: 'Deny', Action: 's3:PutObject', Resource: 'arn:aws:s3:::one/*' },
        {
          Effect: 'Deny',
          Action: 'ec2:*',
          Resource: '*',
          Condition: { StringNotEquals: { 'aws:RequestedRegion': 'eu-west-1' } },
        },
      ],
    });
    const allowed = expander.allowedActions(policy);
    expect([...allowed].filter((a) => a.startsWith('iam:'))).toEqual([]);
    expect(allowed.has('s3:PutObject')).toBe(true);
    expect(allowed.has('ec2:DescribeVpcs')).toBe(true);
  });

  it('lists patterns that match no catalog action', () => {
    const policy = parsePolicyDocument({
      Statement: { Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjekt'], Resource: '*' },
    });
    expect(expander.unknownPatterns(policy)).toEqual(['s3:GetObjekt']);
  });

  it('knows canonical spellings', () => {
    expect(expander.canonicalName('IAM:CREATEUSER')).toBe('iam:CreateUser');
    expect(expander.has('iam:DeleteUser')).toBe(false);
  });
});

describe('matchesWildcard', () => {
  it.each([
    { pattern: 's3:Get*', value: 's3:getobject', expected: true },
    { pattern: 's3:Get?bject', value: 's3:GetObject', expected: true },
    { pattern: 's3:Get?', value: 's3:GetObject', expected: false },
    { pattern: 'a.b(c)', value: 'a.b(c)', expected: true },
    { pattern: 'a.b', value: 'axb', expected: false },
  ])('$pattern matches $value: $expected', ({ pattern, value, expected }) => {
    expect(matchesWildcard(pattern, value)).toBe(expected);
  });
});
