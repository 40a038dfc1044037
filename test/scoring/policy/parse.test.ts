import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../../lib/errors.ts';
import { parsePolicyDocument, parsePolicyDocumentLenient } from '../../../scoring/policy/parse.ts';

describe('parsePolicyDocument', () => {
  it('normalizes a single statement with string fields into arrays', () => {
    const policy = parsePolicyDocument({
      Version: '2012-10-17',
      Statement: { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' },
    });
    expect(policy).toEqual({
      version: '2012-10-17',
      statements: [
        { index: 0, effect: 'Allow', actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/*'] },
      ],
    });
  });

  it('keeps NotAction, NotResource, Sid, Principal and stringifies condition values', () => {
    const policy = parsePolicyDocument(
      JSON.stringify({
        Statement: [
          {
            Sid: 'DenyOutside',
            Effect: 'Deny',
            NotAction: ['iam:*', 'sts:*'],
            NotResource: 'arn:aws:s3:::safe/*',
            Condition: {
              Bool: { 'aws:MultiFactorAuthPresent': false },
              NumericLessThan: { 'aws:x': [5, 6] },
            },
          },
          { Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' },
        ],
      }),
    );
    const [deny, trust] = policy.statements;
    expect(deny).toMatchObject({
      sid: 'DenyOutside',
      effect: 'Deny',
      notActions: ['iam:*', 'sts:*'],
      notResources: ['arn:aws:s3:::safe/*'],
      condition: {
        Bool: { 'aws:MultiFactorAuthPresent': ['false'] },
        NumericLessThan: { 'aws:x': ['5', '6'] },
      },
    });
    expect(deny?.actions).toBeUndefined();
    expect(trust).toMatchObject({
      index: 1,
      principal: { AWS: ['*'] },
      actions: ['sts:AssumeRole'],
    });
    expect(trust?.resources).toBeUndefined();
  });

  it.each([
    { name: 'not an object', doc: 42, path: '$', message: /must be a JSON object/ },
    { name: 'bad JSON text', doc: '{"Statement": [', path: '$', message: /not valid JSON/ },
    {
      name: 'missing Statement',
      doc: { Version: '2012-10-17' },
      path: '$.Statement',
      message: /required/,
    },
    {
      name: 'empty Statement array',
      doc: { Statement: [] },
      path: '$.Statement',
      message: /at least one/,
    },
    {
      name: 'unknown version',
      doc: { Version: '2020-01-01', Statement: { Effect: 'Allow', Action: '*', Resource: '*' } },
      path: '$.Version',
      message: /2012-10-17/,
    },
    {
      name: 'lower-case effect',
      doc: { Statement: [{ Effect: 'allow', Action: '*', Resource: '*' }] },
      path: '$.Statement[0].Effect',
      message: /"Allow" or "Deny"/,
    },
    {
      name: 'missing effect',
      doc: { Statement: [{ Action: '*', Resource: '*' }] },
      path: '$.Statement[0].Effect',
      message: /required/,
    },
    {
      name: 'Action and NotAction',
      doc: { Statement: [{ Effect: 'Allow', Action: '*', NotAction: 's3:*', Resource: '*' }] },
      path: '$.Statement[0]',
      message: /both Action and NotAction/,
    },
    {
      name: 'no action',
      doc: { Statement: [{ Effect: 'Allow', Resource: '*' }] },
      path: '$.Statement[0]',
      message: /Action or NotAction/,
    },
    {
      name: 'no resource',
      doc: { Statement: [{ Effect: 'Allow', Action: '*' }] },
      path: '$.Statement[0]',
      message: /Resource or NotResource/,
    },
    {
      name: 'bad action pattern',
      doc: { Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3 Get'], Resource: '*' }] },
      path: '$.Statement[0].Action[1]',
      message: /not an action pattern/,
    },
    {
      name: 'number in Resource',
      doc: { Statement: [{ Effect: 'Allow', Action: '*', Resource: [1] }] },
      path: '$.Statement[0].Resource[0]',
      message: /must be a string/,
    },
    {
      name: 'empty Action array',
      doc: { Statement: [{ Effect: 'Allow', Action: [], Resource: '*' }] },
      path: '$.Statement[0].Action',
      message: /empty array/,
    },
    {
      name: 'unknown operator',
      doc: {
        Statement: [
          {
            Effect: 'Allow',
            Action: '*',
            Resource: '*',
            Condition: { StringEqualz: { 'aws:x': 'y' } },
          },
        ],
      },
      path: '$.Statement[0].Condition.StringEqualz',
      message: /unknown condition operator/,
    },
    {
      name: 'unknown statement field',
      doc: { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Actions: 's3:*' }] },
      path: '$.Statement[0].Actions',
      message: /unknown statement field/,
    },
    {
      name: 'duplicate Sid',
      doc: {
        Statement: [
          { Sid: 'A', Effect: 'Allow', Action: '*', Resource: '*' },
          { Sid: 'A', Effect: 'Deny', Action: '*', Resource: '*' },
        ],
      },
      path: '$.Statement[1].Sid',
      message: /duplicate Sid/,
    },
  ])('rejects $name with a PolicyError naming $path', ({ doc, path, message }) => {
    let caught: unknown;
    try {
      parsePolicyDocument(doc);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PolicyError);
    const err = caught as PolicyError;
    expect(err.details.path).toBe(path);
    expect(err.message).toContain(path);
    expect(err.message).toMatch(message);
  });

  it('accepts qualified and IfExists condition operators', () => {
    const policy = parsePolicyDocument({
      Statement: {
        Effect: 'Allow',
        Action: 's3:*',
        Resource: '*',
        Condition: {
          'ForAnyValue:StringLike': { 'aws:TagKeys': ['a*'] },
          StringEqualsIfExists: { 'aws:RequestedRegion': 'eu-west-1' },
          Null: { 'aws:TokenIssueTime': 'true' },
        },
      },
    });
    expect(Object.keys(policy.statements[0]?.condition ?? {})).toHaveLength(3);
  });
});

describe('parsePolicyDocumentLenient', () => {
  it('keeps the valid statements and lists every problem of the others', () => {
    const result = parsePolicyDocumentLenient({
      Statement: [
        { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' },
        { Effect: 'Permit', Action: 's3:PutObject' },
        { Effect: 'Deny', Action: 'iam:*', Resource: '*' },
      ],
    });
    expect(result.policy.statements.map((s) => s.index)).toEqual([0, 2]);
    expect(result.errors.map((e) => e.path)).toEqual(['$.Statement[1].Effect', '$.Statement[1]']);
  });

  it('returns no statements and an error for a document that is not an object', () => {
    const result = parsePolicyDocumentLenient(null);
    expect(result.policy.statements).toEqual([]);
    expect(result.errors).toHaveLength(1);
  });
});
