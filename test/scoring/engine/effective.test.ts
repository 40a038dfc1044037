import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../../model/db.ts';
import { getAwsCatalog } from '../../../scoring/catalog/index.ts';
import { memoryDb } from '../../helpers/db.ts';
import { ACCOUNT, allow, deny, doc, effectiveOf, MANAGEMENT, scoreOf, World } from './world.ts';

const user = (name: string, account = ACCOUNT) => `arn:aws:iam::${account}:user/${name}`;
const pol = (name: string) => `arn:aws:iam::${ACCOUNT}:policy/${name}`;
const expand = (pattern: string) => getAwsCatalog().expander.expand(pattern);

let db: Db;
beforeEach(async () => {
  db = await memoryDb();
});
afterEach(() => db.closeAll());

describe('effective permissions', () => {
  it('removes actions an unconditional Deny on every resource names, and flags conditional or resource-scoped denies', async () => {
    const w = new World()
      .account(ACCOUNT)
      .principal(user('u'))
      .policy(
        pol('p'),
        doc(
          allow('s3:*'),
          deny('s3:DeleteBucket'),
          deny('s3:PutObject', { Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'false' } } }),
          deny('s3:GetObject', { Resource: 'arn:aws:s3:::secret-bucket/*' }),
        ),
      )
      .attach(user('u'), pol('p'));
    await w.score(db);

    const eff = await effectiveOf(db, user('u'));
    expect(eff.size).toBe(expand('s3:*').length - 1);
    expect(eff.has('s3:DeleteBucket')).toBe(false);
    expect(eff.get('s3:PutObject')).toMatchObject({ deny_partial: true, conditional: false });
    expect(eff.get('s3:GetObject')).toMatchObject({ deny_partial: true, resource_scope: 'all' });
    expect(eff.get('s3:ListBucket')).toMatchObject({ deny_partial: false });
  });

  it('intersects with the permissions boundary', async () => {
    const w = new World()
      .account(ACCOUNT)
      .principal(user('bounded'), { boundary_policy_id: pol('boundary') })
      .principal(user('free'))
      .policy(pol('broad'), doc(allow(['s3:*', 'iam:*'])))
      .policy(pol('boundary'), doc(allow('s3:Get*'), deny('s3:GetObject')))
      .attach(user('bounded'), pol('broad'))
      .attach(user('bounded'), pol('boundary'), 'boundary')
      .attach(user('free'), pol('broad'));
    await w.score(db);

    const bounded = await effectiveOf(db, user('bounded'));
    expect([...bounded.keys()].sort()).toEqual(
      expand('s3:Get*')
        .filter((a) => a !== 's3:GetObject')
        .slice()
        .sort(),
    );
    const free = await effectiveOf(db, user('free'));
    expect(free.size).toBe(expand('s3:*').length + expand('iam:*').length);
  });

  it('intersects with every level of the SCP path, never for the management account or service-linked roles', async () => {
    const root = 'r-ab12';
    const ou = 'ou-ab12-11111111';
    const w = new World()
      .account(ACCOUNT, { parent_path: [root, ou] })
      .account(MANAGEMENT, { parent_path: [root] })
      .scp(
        'arn:aws:organizations::999999999999:policy/o-x/service_control_policy/p-FullAWSAccess',
        doc(allow('*')),
        [root, ACCOUNT, MANAGEMENT],
      )
      .scp(
        'arn:aws:organizations::999999999999:policy/o-x/service_control_policy/p-ou',
        doc(allow(['s3:*', 'ec2:*'])),
        [ou],
      )
      .scp(
        'arn:aws:organizations::999999999999:policy/o-x/service_control_policy/p-deny',
        doc(deny('ec2:RunInstances')),
        [root],
      )
      .principal(user('member'))
      .principal(
        `arn:aws:iam::${ACCOUNT}:role/aws-service-role/x.amazonaws.com/AWSServiceRoleForX`,
        {
          service_linked: true,
        },
      )
      .principal(user('boss', MANAGEMENT))
      .policy(
        pol('p'),
        doc(allow(['s3:GetObject', 'ec2:RunInstances', 'ec2:DescribeVpcs', 'iam:CreateUser'])),
      )
      .attach(user('member'), pol('p'))
      .attach(
        `arn:aws:iam::${ACCOUNT}:role/aws-service-role/x.amazonaws.com/AWSServiceRoleForX`,
        pol('p'),
      )
      .attach(user('boss', MANAGEMENT), pol('p'));
    await w.score(db);

    expect([...(await effectiveOf(db, user('member'))).keys()].sort()).toEqual([
      'ec2:DescribeVpcs',
      's3:GetObject',
    ]);
    const all = ['ec2:DescribeVpcs', 'ec2:RunInstances', 'iam:CreateUser', 's3:GetObject'];
    expect([...(await effectiveOf(db, user('boss', MANAGEMENT))).keys()].sort()).toEqual(all);
    expect(
      [
        ...(
          await effectiveOf(
            db,
            `arn:aws:iam::${ACCOUNT}:role/aws-service-role/x.amazonaws.com/AWSServiceRoleForX`,
          )
        ).keys(),
      ].sort(),
    ).toEqual(all);
    const fp = await db.one<{ scp_path: string }>(
      `SELECT f.scp_path FROM scoring_fingerprint f JOIN principal_score s USING (assessment_id, fingerprint)
       WHERE s.principal_id = $p`,
      { p: user('member') },
    );
    expect(JSON.parse(fp!.scp_path)).toHaveLength(3);
  });

  it('lets an SCP level with deny statements only restrict through its denies', async () => {
    const ou = 'ou-ab12-11111111';
    const w = new World()
      .account(ACCOUNT, { parent_path: ['r-ab12', ou] })
      .scp(
        'arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess',
        doc(allow('*')),
        ['r-ab12'],
      )
      .scp(
        'arn:aws:organizations::999999999999:policy/o-x/service_control_policy/p-deny',
        doc(deny('s3:DeleteBucket')),
        [ou],
      )
      .principal(user('u'))
      .policy(pol('p'), doc(allow(['s3:DeleteBucket', 's3:ListAllMyBuckets'])))
      .attach(user('u'), pol('p'));
    await w.score(db);
    expect([...(await effectiveOf(db, user('u'))).keys()]).toEqual(['s3:ListAllMyBuckets']);
  });

  it('honours NotAction and NotResource, and keeps the resource scope and conditions of allows', async () => {
    const w = new World()
      .account(ACCOUNT)
      .principal(user('notaction'))
      .principal(user('scoped'))
      .policy(
        pol('na'),
        doc({ Effect: 'Allow', NotAction: ['iam:*', 'organizations:*'], Resource: '*' }),
      )
      .policy(
        pol('scoped'),
        doc(
          { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::one-bucket/*' },
          { Effect: 'Allow', Action: 's3:PutObject', NotResource: 'arn:aws:s3:::logs/*' },
          allow('ec2:DescribeVpcs', {
            Condition: { StringEquals: { 'aws:RequestedRegion': 'eu-west-1' } },
          }),
          { Effect: 'Allow', Action: 'sns:Publish', Resource: 'arn:aws:sns:*:*:*' },
        ),
      )
      .attach(user('notaction'), pol('na'))
      .attach(user('scoped'), pol('scoped'));
    await w.score(db);

    const na = await effectiveOf(db, user('notaction'));
    expect(na.size).toBe(
      getAwsCatalog().size - expand('iam:*').length - expand('organizations:*').length,
    );
    expect(na.has('iam:PassRole')).toBe(false);
    expect(na.get('s3:GetObject')?.resource_scope).toBe('all');

    const scoped = await effectiveOf(db, user('scoped'));
    expect(Object.fromEntries(scoped)).toEqual({
      's3:GetObject': {
        action: 's3:GetObject',
        resource_scope: 'specific',
        conditional: false,
        deny_partial: false,
      },
      's3:PutObject': {
        action: 's3:PutObject',
        resource_scope: 'all',
        conditional: false,
        deny_partial: false,
      },
      'ec2:DescribeVpcs': {
        action: 'ec2:DescribeVpcs',
        resource_scope: 'all',
        conditional: true,
        deny_partial: false,
      },
      'sns:Publish': {
        action: 'sns:Publish',
        resource_scope: 'all',
        conditional: false,
        deny_partial: false,
      },
    });
  });

  it('inherits group policies and shares one fingerprint between principals with the same policies', async () => {
    const group = `arn:aws:iam::${ACCOUNT}:group/devs`;
    const w = new World()
      .account(ACCOUNT)
      .principal(group)
      .principal(user('alice'))
      .principal(user('bob'))
      .policy(pol('dev'), doc(allow('lambda:GetFunction')))
      .policy(pol('own'), doc(allow('s3:ListAllMyBuckets')))
      .attach(group, pol('dev'))
      .attach(user('alice'), pol('dev'), 'group', group)
      .attach(user('alice'), pol('own'))
      .attach(user('bob'), pol('own'))
      .attach(user('bob'), pol('dev'), 'group', group);
    const summary = await w.score(db);

    expect([...(await effectiveOf(db, user('alice'))).keys()].sort()).toEqual([
      'lambda:GetFunction',
      's3:ListAllMyBuckets',
    ]);
    const a = await scoreOf(db, user('alice'));
    const fps = await db.all<{ principal_id: string; fingerprint: string }>(
      'SELECT principal_id, fingerprint FROM principal_score ORDER BY principal_id',
    );
    const byId = Object.fromEntries(fps.map((f) => [f.principal_id, f.fingerprint]));
    expect(byId[user('alice')]).toBe(byId[user('bob')]);
    expect(byId[group]).not.toBe(byId[user('alice')]);
    expect(summary.fingerprints).toBe(2);
    expect(a.granted_count).toBe(2);
  });

  it('keeps the valid statements of a policy with a bad one and records the parse error', async () => {
    const w = new World()
      .account(ACCOUNT)
      .principal(user('u'))
      .policy(
        pol('half'),
        doc(allow('s3:ListAllMyBuckets'), { Effect: 'Permit', Action: 'iam:*', Resource: '*' }),
      )
      .attach(user('u'), pol('half'));
    const summary = await w.score(db);

    expect([...(await effectiveOf(db, user('u'))).keys()]).toEqual(['s3:ListAllMyBuckets']);
    const p = await db.one<{ parse_error: string }>(
      'SELECT parse_error FROM policy WHERE policy_id = $p',
      {
        p: pol('half'),
      },
    );
    expect(p?.parse_error).toContain('$.Statement[1].Effect');
    expect(summary.policiesRejected).toBe(1);
  });

  it('re-scoring an assessment replaces its rows', async () => {
    const w = new World()
      .account(ACCOUNT)
      .principal(user('u'))
      .policy(pol('p'), doc(allow('s3:*')))
      .attach(user('u'), pol('p'));
    const first = await w.score(db);
    const counts = async () =>
      db.one(
        `SELECT (SELECT sum(len(actions)) FROM effective_action) AS e, (SELECT sum(len(actions)) FROM policy_action) AS pa,
                (SELECT count(*) FROM principal_score) AS s, (SELECT count(*) FROM policy_usage) AS pu,
                (SELECT count(*) FROM "grant") AS g`,
      );
    const before = await counts();
    const { scoreAssessment } = await import('../../../scoring/engine/score.ts');
    const { config } = await import('./world.ts');
    const { silentLogger } = await import('../../../lib/log.ts');
    const second = await scoreAssessment(db, 'a1', { config, logger: silentLogger });
    expect(await counts()).toEqual(before);
    expect(second.counts).toEqual(first.counts);
  });
});
