import { describe, expect, it } from 'vitest';
import { policyChars } from '../../recommend/limits.ts';
import {
  buildProof,
  checkArtifacts,
  type PolicyDoc,
  PolicyEvaluator,
  statementContainment,
} from '../../recommend/proof.ts';
import type { Artifact } from '../../recommend/types.ts';
import { getAwsCatalog } from '../../scoring/catalog/index.ts';
import { parsePolicyDocument } from '../../scoring/policy/parse.ts';
import { memoryDb } from '../helpers/db.ts';
import { find, option, proofOf, recommend } from './helpers.ts';
import { allow, Snapshot } from './snapshot.ts';

const expander = getAwsCatalog().expander;
const evaluator = new PolicyEvaluator(expander);

function doc(id: string, document: unknown): PolicyDoc {
  return { cloud: 'aws', id, parsed: parsePolicyDocument(document) };
}

function artifact(name: string, document: unknown, limit = 6144): Artifact {
  const content = typeof document === 'string' ? document : JSON.stringify(document);
  return {
    name,
    format: 'json',
    content,
    policy: { kind: 'managed', name, chars: policyChars(content), limit },
  };
}

describe('evaluator', () => {
  it('intersects identity policies with the boundary and applies explicit denies from any layer', () => {
    const identity = doc('id', allow(['s3:*', 'iam:GetRole']));
    const boundary = doc('b', {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['s3:Get*', 'iam:*'], Resource: '*' },
        { Effect: 'Deny', Action: 's3:GetObject', Resource: '*' },
      ],
    });
    const set = { identity: [identity], boundary };
    const effective = evaluator.effective(set);
    expect(effective.has('s3:GetBucketPolicy')).toBe(true);
    expect(effective.has('s3:PutObject')).toBe(false);
    expect(effective.has('s3:GetObject')).toBe(false);
    expect(effective.has('iam:GetRole')).toBe(true);
    expect(evaluator.decide(set, 's3:GetObject')).toEqual({ decision: 'explicit-deny', by: 'b' });
    expect(evaluator.decide(set, 's3:PutObject')).toEqual({
      decision: 'implicit-deny',
      missing: 'boundary',
    });
    expect(evaluator.decide(set, 'ec2:RunInstances')).toEqual({
      decision: 'implicit-deny',
      missing: 'identity',
    });
  });

  it('treats a conditional or resource-scoped deny as not removing the action', () => {
    const set = {
      identity: [
        doc('id', {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 's3:*', Resource: '*' },
            { Effect: 'Deny', Action: 's3:DeleteBucket', Resource: 'arn:aws:s3:::prod' },
            {
              Effect: 'Deny',
              Action: 's3:PutObject',
              Resource: '*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
          ],
        }),
      ],
    };
    expect(evaluator.decide(set, 's3:DeleteBucket').decision).toBe('allow');
    expect(evaluator.decide(set, 's3:PutObject').decision).toBe('allow');
  });

  it('requires every SCP level to allow', () => {
    const set = {
      identity: [doc('id', allow('*'))],
      scps: [[doc('root', allow('*'))], [doc('ou', allow(['s3:*']))]],
    };
    expect(evaluator.decide(set, 's3:GetObject').decision).toBe('allow');
    expect(evaluator.decide(set, 'ec2:RunInstances')).toEqual({
      decision: 'implicit-deny',
      missing: 'scp',
    });
  });
});

describe('proofs reject tampered artifacts', () => {
  it('fails a right-sized policy that drops a used action', () => {
    const before = { identity: [doc('old', allow(['s3:*']))] };
    const tampered = allow(['s3:GetObject']);
    const proof = buildProof({
      option: 'right-size',
      expectation: 'preserve-usage',
      evaluator,
      subjects: [
        {
          id: 'p',
          before,
          after: { identity: [doc('new', tampered)] },
          used: new Set(['s3:GetObject', 's3:PutObject']),
        },
      ],
      artifacts: [artifact('new', tampered)],
    });
    expect(proof.result).toBe('fail');
    expect(proof.denied).toEqual(['s3:PutObject']);
    expect(proof.allowed).toBe(1);
    expect(proof.failures.join(' ')).toMatch(/refuse 1 actions used in the window/);
  });

  it('fails a rewrite that allows more than the original', () => {
    const before = { identity: [doc('old', allow(['s3:GetObject']))] };
    const wider = allow(['s3:Get*']);
    const proof = buildProof({
      option: 'right-size',
      expectation: 'preserve-usage',
      evaluator,
      subjects: [
        {
          id: 'p',
          before,
          after: { identity: [doc('new', wider)] },
          used: new Set(['s3:GetObject']),
        },
      ],
      artifacts: [artifact('new', wider)],
    });
    expect(proof.result).toBe('fail');
    expect(proof.neverWider).toBe(false);
    expect(proof.widened).toContain('s3:GetObjectAcl');
  });

  it('fails an artifact our parser rejects, or one over its quota', () => {
    const bad = checkArtifacts([
      artifact(
        'broken',
        '{"Version":"2012-10-17","Statement":[{"Effect":"Permit","Action":"s3:*","Resource":"*"}]}',
      ),
      artifact('huge', allow([...expander.expand('ec2:*')]), 2048),
    ]);
    expect(bad.checks.map((c) => c.valid)).toEqual([false, true]);
    expect(bad.failures[0]).toMatch(
      /broken is not a valid policy: invalid policy document at \$\.Statement\[0\]\.Effect/,
    );
    expect(bad.failures[1]).toMatch(/huge has \d+ characters, over the 2048 quota/);
  });

  it('detects a statement moved outside its original resource scope', () => {
    const original = parsePolicyDocument({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::data/*' }],
    });
    const escaped = parsePolicyDocument(allow(['s3:GetObject']));
    expect(statementContainment(expander, original, escaped)).toEqual([
      'statement 0 allows s3:GetObject, which no statement of the original allows with the same resources and condition',
    ]);
    const kept = parsePolicyDocument(allow(['s3:GetObject'], 'arn:aws:s3:::data/*'));
    expect(statementContainment(expander, original, kept)).toEqual([]);
  });

  it('flags a rewrite that loses a Deny statement of the original', () => {
    const original = parsePolicyDocument({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 's3:*', Resource: '*' },
        { Sid: 'Guard', Effect: 'Deny', Action: 's3:DeleteBucket', Resource: '*' },
      ],
    });
    expect(
      statementContainment(expander, original, parsePolicyDocument(allow(['s3:GetObject']))),
    ).toEqual(['the Deny statement Guard of the original is missing']);
  });

  it('re-checking a stored right-size artifact after tampering fails, while the original passes', async () => {
    const db = await memoryDb();
    try {
      const s = new Snapshot();
      const policy = s.managed('wide', allow(['s3:*', 'dynamodb:*']));
      const role = s.role('worker');
      s.attach(role, policy).use(role, ['s3:GetObject', 'dynamodb:Query']);
      const { recs } = await recommend(db, s);
      const rec = find(recs, role, 'overprivileged-policy', policy);
      expect(proofOf(rec, 'right-size').result).toBe('pass');
      const stored = option(rec, 'right-size').artifacts.find((a) => a.policy)!;
      const before = { identity: [doc(policy, allow(['s3:*', 'dynamodb:*']))] };
      const used = new Set(['s3:GetObject', 'dynamodb:Query']);
      const replay = (content: string) =>
        buildProof({
          option: 'right-size',
          expectation: 'preserve-usage',
          evaluator,
          subjects: [
            { id: role, before, after: { identity: [doc('new', JSON.parse(content))] }, used },
          ],
          artifacts: [{ ...stored, content }],
        });
      expect(replay(stored.content).result).toBe('pass');
      // Drop the DynamoDB patterns, as a hand edit might.
      const edited = JSON.parse(stored.content) as { Statement: Array<{ Action: string[] }> };
      for (const st of edited.Statement)
        st.Action = st.Action.filter((a) => !a.startsWith('dynamodb:'));
      edited.Statement = edited.Statement.filter((st) => st.Action.length > 0);
      const tampered = JSON.stringify(edited);
      const failed = replay(tampered);
      expect(failed.result).toBe('fail');
      expect(failed.denied).toEqual(['dynamodb:Query']);
    } finally {
      db.closeAll();
    }
  });
});
