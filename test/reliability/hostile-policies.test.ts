import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.ts';
import { runAssessment } from '../../ingest/assessment.ts';
import { syncFor } from '../../ingest/registry.ts';
import { PolicyError } from '../../lib/errors.ts';
import { silentLogger } from '../../lib/log.ts';
import { Db } from '../../model/db.ts';
import { mapCloudTrailEvent } from '../../scoring/catalog/index.ts';
import { scoringStage } from '../../scoring/engine/score.ts';
import { parsePolicyDocument, parsePolicyDocumentLenient } from '../../scoring/policy/parse.ts';
import { tempDir } from '../helpers/db.ts';

/**
 * Hostile policy documents (issue 11.3): odd but valid shapes parse to the same statements
 * IAM would evaluate; invalid ones get a PolicyError naming the offending JSON path; through
 * ingestion (an import of get-account-authorization-details output) an invalid document costs
 * only its own statements, never the account, and the database stays sound.
 */

const ACCOUNT = '123456789012';
const many = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    Sid: `S${i}`,
    Effect: 'Allow',
    Action: 's3:GetObject',
    Resource: `arn:aws:s3:::bucket-${i}/*`,
  }));

interface ValidCase {
  name: string;
  doc: unknown;
  statements: number;
  check?: (p: ReturnType<typeof parsePolicyDocument>) => void;
}

const VALID: ValidCase[] = [
  {
    name: 'a single statement object instead of a list',
    doc: { Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 's3:*', Resource: '*' } },
    statements: 1,
    check: (p) => expect(p.statements[0]).toMatchObject({ actions: ['s3:*'], resources: ['*'] }),
  },
  {
    name: 'strings where arrays are usual, and arrays where strings are usual',
    doc: {
      Statement: [
        { Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' },
        { Effect: 'Deny', Action: ['iam:*'], Resource: ['arn:aws:iam::*:role/x', '*'] },
      ],
    },
    statements: 2,
    check: (p) => {
      expect(p.statements[0]!.actions).toEqual(['ec2:Describe*']);
      expect(p.statements[1]!.resources).toEqual(['arn:aws:iam::*:role/x', '*']);
    },
  },
  {
    name: 'unicode in Sid, resources and condition values',
    doc: {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'Données日本語🙂',
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::bücket/日本/𝔘𝔫𝔦/*',
          Condition: { StringEquals: { 'aws:PrincipalTag/équipe': ['sécurité', '安全'] } },
        },
      ],
    },
    statements: 1,
    check: (p) => {
      expect(p.statements[0]!.sid).toBe('Données日本語🙂');
      expect(p.statements[0]!.resources).toEqual(['arn:aws:s3:::bücket/日本/𝔘𝔫𝔦/*']);
    },
  },
  {
    name: 'the same document as JSON text, with whitespace and a 2008 version',
    doc: '\n {"Version":"2008-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:iam::*:*"}]} \n',
    statements: 1,
    check: (p) => expect(p.statements[0]!.notActions).toEqual(['iam:*']),
  },
  {
    name: 'numbers and booleans as condition values, a Principal wildcard, no Resource',
    doc: {
      Statement: {
        Effect: 'Allow',
        Principal: '*',
        Action: 'sts:AssumeRole',
        Condition: { Bool: { 'aws:SecureTransport': true }, NumericLessThan: { 'x:n': 5 } },
      },
    },
    statements: 1,
    check: (p) =>
      expect(p.statements[0]!.condition).toEqual({
        Bool: { 'aws:SecureTransport': ['true'] },
        NumericLessThan: { 'x:n': ['5'] },
      }),
  },
  {
    name: '10,000 statements',
    doc: { Version: '2012-10-17', Statement: many(10_000) },
    statements: 10_000,
    check: (p) => expect(p.statements[9_999]!.sid).toBe('S9999'),
  },
];

const INVALID: Array<{ name: string; doc: unknown; path: string; message: RegExp }> = [
  { name: 'null', doc: null, path: '$', message: /must be a JSON object, got null/ },
  { name: 'a list', doc: [], path: '$', message: /must be a JSON object, got an array/ },
  { name: 'text that is not JSON', doc: 'Allow everything', path: '$', message: /not valid JSON/ },
  { name: 'JSON null as text', doc: 'null', path: '$', message: /must be a JSON object/ },
  {
    name: 'no Statement',
    doc: { Version: '2012-10-17' },
    path: '$.Statement',
    message: /required/,
  },
  {
    name: 'an empty Statement list',
    doc: { Statement: [] },
    path: '$.Statement',
    message: /at least one statement/,
  },
  {
    name: 'a null statement',
    doc: { Statement: [null] },
    path: '$.Statement[0]',
    message: /must be an object, got null/,
  },
  {
    name: 'a lowercase Effect',
    doc: { Statement: { Effect: 'allow', Action: '*', Resource: '*' } },
    path: '$.Statement.Effect',
    message: /"Allow" or "Deny"/,
  },
  {
    name: 'a number as an action',
    doc: { Statement: [{ Effect: 'Allow', Action: [42], Resource: '*' }] },
    path: '$.Statement[0].Action[0]',
    message: /must be a string, got number 42/,
  },
  {
    name: 'an action with fullwidth letters',
    doc: { Statement: [{ Effect: 'Allow', Action: 'ｓ3:GetObject', Resource: '*' }] },
    path: '$.Statement[0].Action',
    message: /not an action pattern/,
  },
  {
    name: 'a __proto__ key in a statement',
    doc: '{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","__proto__":{"admin":true}}]}',
    path: '$.Statement[0].__proto__',
    message: /unknown statement field/,
  },
  {
    name: 'an unknown condition operator',
    doc: { Statement: { Effect: 'Allow', Action: '*', Resource: '*', Condition: { Eval: {} } } },
    path: '$.Statement.Condition.Eval',
    message: /unknown condition operator/,
  },
  {
    name: 'a nested object as a condition value',
    doc: {
      Statement: {
        Effect: 'Allow',
        Action: '*',
        Resource: '*',
        Condition: { StringEquals: { k: { deep: ['x'] } } },
      },
    },
    path: '$.Statement.Condition.StringEquals.k',
    message: /string, number or boolean/,
  },
  {
    name: 'a very long action string',
    doc: { Statement: { Effect: 'Allow', Action: `s3:${'A'.repeat(1_000_000)}!`, Resource: '*' } },
    path: '$.Statement.Action',
    message: /not an action pattern/,
  },
  {
    name: 'deeply nested arrays as a resource',
    doc: `{"Statement":{"Effect":"Allow","Action":"*","Resource":${'['.repeat(5000)}${']'.repeat(5000)}}}`,
    path: '$.Statement.Resource[0]',
    message: /must be a string, got an array/,
  },
];

describe('policy parser: odd but valid shapes', () => {
  it.each(VALID)('$name', ({ doc, statements, check }) => {
    const parsed = parsePolicyDocument(doc);
    expect(parsed.statements).toHaveLength(statements);
    check?.(parsed);
    expect(parsePolicyDocumentLenient(doc).errors).toEqual([]);
  });
});

describe('policy parser: invalid documents', () => {
  it.each(INVALID)('$name: a PolicyError at $path', ({ doc, path, message }) => {
    let error: unknown;
    try {
      parsePolicyDocument(doc);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PolicyError);
    const e = error as PolicyError;
    expect(e.details.path).toBe(path);
    expect(e.message).toMatch(message);
    expect(e.message.length).toBeLessThan(400);
    const lenient = parsePolicyDocumentLenient(doc);
    expect(lenient.errors[0]?.path).toBe(path);
  });
});

// --- through ingestion -------------------------------------------------------------------------

const stage = tempDir('ad-hostile-policies-');
afterAll(() => stage.cleanup());

const GARBLED = '%7B%22Statement%22%3A%5B%E0%A4%A';
const doc = (statement: unknown) => ({ Version: '2012-10-17', Statement: statement });
const arn = (kind: string, name: string) => `arn:aws:iam::${ACCOUNT}:${kind}/${name}`;

/** get-account-authorization-details output with one principal per hostile document. */
function authorizationDetails() {
  const user = (name: string, policy: unknown) => ({
    UserName: name,
    UserId: `AIDA${name.toUpperCase().padEnd(17, 'X').slice(0, 17)}`,
    Arn: arn('user', name),
    Path: '/',
    CreateDate: '2020-01-01T00:00:00Z',
    UserPolicyList: [{ PolicyName: `${name}-inline`, PolicyDocument: policy }],
  });
  return {
    UserDetailList: [
      user('single-statement', doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' })),
      user(
        'unicode',
        doc([
          {
            Sid: 'Données日本語',
            Effect: 'Allow',
            Action: 'ec2:Describe*',
            Resource: 'arn:aws:s3:::bücket/*',
          },
        ]),
      ),
      // URL-encoded, as IAM sends documents.
      user(
        'url-encoded',
        encodeURIComponent(
          JSON.stringify(doc({ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: '*' })),
        ),
      ),
      user(
        'half-valid',
        doc([
          { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: '*' },
          { Effect: 'allow', Action: 'dynamodb:*', Resource: '*' },
        ]),
      ),
      user('not-json', 'this is not a policy %7B'),
      user('bad-escape', '%7B%22Statement%22%3A%E0%A4%A'),
      user('empty-object', {}),
    ],
    GroupDetailList: [],
    RoleDetailList: [
      {
        RoleName: 'public-trust',
        RoleId: 'AROAPUBLICTRUST00001',
        Arn: arn('role', 'public-trust'),
        Path: '/',
        CreateDate: '2020-01-01T00:00:00Z',
        AssumeRolePolicyDocument: doc({
          Effect: 'Allow',
          Principal: '*',
          Action: 'sts:AssumeRole',
        }),
        AttachedManagedPolicies: [
          { PolicyArn: arn('policy', 'ten-thousand'), PolicyName: 'ten-thousand' },
        ],
      },
      // A trust policy that does not decode: the role is kept, its trust recorded as text.
      {
        RoleName: 'garbled-trust',
        RoleId: 'AROAGARBLEDTRUST0001',
        Arn: arn('role', 'garbled-trust'),
        Path: '/',
        CreateDate: '2020-01-01T00:00:00Z',
        AssumeRolePolicyDocument: GARBLED,
      },
    ],
    Policies: [
      {
        PolicyName: 'ten-thousand',
        Arn: arn('policy', 'ten-thousand'),
        DefaultVersionId: 'v1',
        IsAttachable: true,
        PolicyVersionList: [
          { Document: doc(many(10_000)), VersionId: 'v1', IsDefaultVersion: true },
        ],
      },
    ],
  };
}

describe('hostile policy documents through ingestion', () => {
  it('keeps every principal, grants what the valid statements grant, and records why the rest were left out', async () => {
    const dir = join(stage.dir, 'import');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'details.json'), JSON.stringify(authorizationDetails()));
    const config = parseConfig({
      integrations: [{ id: 'hostile', kind: 'import', directory: dir, accountId: ACCOUNT }],
    });
    const file = join(stage.dir, 'hostile.duckdb');
    const db = await Db.open(file);
    let assessmentId: string;
    try {
      const result = await runAssessment({
        db,
        config,
        integrationId: 'hostile',
        trigger: 'cli',
        logger: silentLogger,
        sync: syncFor({ mapper: (s, n) => mapCloudTrailEvent(s, n), stageDir: stage.dir }),
        stages: [scoringStage],
      });
      expect(result.errors).toEqual([]);
      expect(result.status).toBe('succeeded');
      assessmentId = result.assessmentId;
    } finally {
      db.closeAll();
    }

    // The file opens again, and holds what it should.
    const again = await Db.open(file);
    try {
      const a = { a: assessmentId };
      expect(
        await again.scalar<number>('SELECT count(*) FROM principal WHERE assessment_id = $a', a),
      ).toBe(9);
      const errors = new Map(
        (
          await again.all<{ name: string; parse_error: string | null }>(
            'SELECT name, parse_error FROM policy WHERE assessment_id = $a',
            a,
          )
        ).map((r) => [r.name, r.parse_error]),
      );
      const errorOf = (name: string) => {
        expect(errors.has(name), `policy ${name} loaded`).toBe(true);
        return errors.get(name);
      };
      expect(errorOf('single-statement-inline')).toBeNull();
      expect(errorOf('unicode-inline')).toBeNull();
      expect(errorOf('url-encoded-inline')).toBeNull();
      expect(errorOf('ten-thousand')).toBeNull();
      expect(errorOf('half-valid-inline')).toMatch(
        /\$\.Statement\[1\]\.Effect: must be "Allow" or "Deny"/,
      );
      expect(errorOf('not-json-inline')).toMatch(/not valid JSON/);
      expect(errorOf('bad-escape-inline')).toMatch(/not valid JSON|URI/);
      expect(errorOf('empty-object-inline')).toMatch(/\$\.Statement: is required/);

      const grants = async (policyLike: string) =>
        again.scalar<number>(
          `SELECT count(*) FROM "grant" g JOIN policy p USING (assessment_id, policy_id)
           WHERE g.assessment_id = $a AND p.name = $n`,
          { ...a, n: policyLike },
        );
      expect(await grants('ten-thousand')).toBe(10_000);
      expect(
        await again.scalar<string>(
          'SELECT trust_policy::VARCHAR FROM principal WHERE assessment_id = $a AND name = $n',
          { ...a, n: 'garbled-trust' },
        ),
      ).toBe(JSON.stringify(GARBLED));
      expect(await grants('half-valid-inline')).toBe(1);
      expect(await grants('not-json-inline')).toBe(0);
    } finally {
      again.closeAll();
    }
  });
});
