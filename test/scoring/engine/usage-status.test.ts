import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/log.ts';
import type { Db } from '../../../model/db.ts';
import { insertRows } from '../../../model/insert.ts';
import { principalActionStates } from '../../../scoring/engine/actions.ts';
import { scoreAssessment } from '../../../scoring/engine/score.ts';
import { memoryDb } from '../../helpers/db.ts';
import {
  ACCOUNT,
  allow,
  config,
  days,
  doc,
  scoreOf,
  WINDOW_END,
  WINDOW_START,
  World,
} from './world.ts';

const role = (name: string, account = ACCOUNT) => `arn:aws:iam::${account}:role/${name}`;
const pol = (name: string) => `arn:aws:iam::${ACCOUNT}:policy/${name}`;
const DORMANCY_START = '2026-08-24'; // window end − 89 days
const COVERED = days(DORMANCY_START, '2026-11-19'); // the last two days may be missing

let db: Db;
beforeEach(async () => {
  db = await memoryDb();
});
afterEach(() => db.closeAll());

const app = pol('app');
const appDoc = doc(
  allow([
    'iam:PassRole',
    's3:GetObject',
    'ec2:DescribeVpcs',
    'ec2:DescribeInstances',
    'iam:CreateUser',
  ]),
);

describe('used, unused and unobservable', () => {
  it('calls never-logged actions and data events without data-event logging unobservable, and denied-only calls unused', async () => {
    const w = new World()
      .account(ACCOUNT)
      .principal(role('app'))
      .policy(app, appDoc)
      .attach(role('app'), app)
      .covered(ACCOUNT, COVERED, false)
      .used(role('app'), 'ec2:DescribeInstances', '2026-11-01')
      .used(role('app'), 'ec2:DescribeVpcs', '2026-11-02', 4, 4)
      .used(role('app'), 'dynamodb:Scan', '2026-11-03');
    await w.score(db);

    const s = await scoreOf(db, role('app'));
    expect(s).toMatchObject({
      granted_count: 5,
      used_count: 1,
      unused_count: 2,
      unobservable_count: 2,
      overprivilege_pct: 66.67,
      high_risk_overprivilege_pct: 100,
      status: 'active',
      last_used_source: 'import',
    });
    expect(s.levels).toMatchObject({
      LIST: { granted: 2, used: 1, unused: 1, unobservable: 0 },
      READ: { granted: 1, used: 0, unused: 0, unobservable: 1 },
      IAM: { granted: 1, used: 0, unused: 1, unobservable: 0 },
      ADMIN: { granted: 1, used: 0, unused: 0, unobservable: 1 },
    });
    expect(s.unused_levels).toEqual(['LIST', 'IAM']);
    // dynamodb:Scan succeeded but no policy of the role grants it: noted, never counted as used.
    expect(s.status_reason).toContain('1 action(s) it called successfully are not granted');
    expect(s.privileged_share).toBeCloseTo(2 / 5);

    const used = await db.all<{
      policy_id: string;
      privilege_level: string;
      granted: number;
      used: number;
      unused: number;
      unobservable: number;
    }>(
      `SELECT policy_id, privilege_level, granted, used, unused, unobservable FROM policy_usage
       WHERE principal_id = $p ORDER BY privilege_level`,
      { p: role('app') },
    );
    expect(used).toEqual([
      { policy_id: app, privilege_level: 'ADMIN', granted: 1, used: 0, unused: 0, unobservable: 1 },
      { policy_id: app, privilege_level: 'IAM', granted: 1, used: 0, unused: 1, unobservable: 0 },
      { policy_id: app, privilege_level: 'LIST', granted: 2, used: 1, unused: 1, unobservable: 0 },
      { policy_id: app, privilege_level: 'READ', granted: 1, used: 0, unused: 0, unobservable: 1 },
    ]);
  });

  it('counts data events as unused when the account records them, and as used when seen', async () => {
    const w = new World()
      .account(ACCOUNT)
      .principal(role('reader'))
      .principal(role('idle'))
      .policy(pol('read'), doc(allow(['s3:GetObject', 's3:ListBucket'])))
      .attach(role('reader'), pol('read'))
      .attach(role('idle'), pol('read'))
      .covered(ACCOUNT, COVERED, true)
      .used(role('reader'), 's3:GetObject', '2026-10-01');
    await w.score(db);

    expect(await scoreOf(db, role('reader'))).toMatchObject({
      used_count: 1,
      unused_count: 1,
      unobservable_count: 0,
    });
    expect(await scoreOf(db, role('idle'))).toMatchObject({
      used_count: 0,
      unused_count: 2,
      unobservable_count: 0,
      overprivilege_pct: 100,
      status: 'dormant',
    });
  });

  it('calls data events of resource types the trail does not select unobservable', async () => {
    const w = new World()
      .account(ACCOUNT)
      .principal(role('tables'))
      .policy(pol('rw'), doc(allow(['s3:GetObject', 'dynamodb:GetItem', 'sqs:SendMessage'])))
      .attach(role('tables'), pol('rw'))
      .covered(ACCOUNT, COVERED, true)
      .used(role('tables'), 'sqs:SendMessage', '2026-11-01');
    await w.load(db);
    await insertRows(db, 'log_source', [
      {
        integration_id: 'hand',
        source_id: 'arn:aws:cloudtrail:us-east-1:111111111111:trail/org',
        account_id: ACCOUNT,
        kind: 'cloudtrail',
        details: {},
        data_event_selectors: {
          EventSelectors: [
            { DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3'] }] },
          ],
        },
        observed_at: '2026-11-21T00:00:00Z',
      },
    ]);
    await scoreAssessment(db, 'a1', { config, logger: silentLogger });
    // s3:GetObject is selected (unused); dynamodb:GetItem is not (unobservable); sqs:SendMessage
    // is not selected either, but it was seen, so it is used.
    expect(await scoreOf(db, role('tables'))).toMatchObject({
      granted_count: 3,
      used_count: 1,
      unused_count: 1,
      unobservable_count: 1,
    });
  });

  it('leaves the percentages null when nothing observable is granted', async () => {
    const w = new World()
      .account(ACCOUNT)
      .principal(role('passer'))
      .policy(pol('pass'), doc(allow('iam:PassRole')))
      .attach(role('passer'), pol('pass'))
      .covered(ACCOUNT, COVERED);
    await w.score(db);
    expect(await scoreOf(db, role('passer'))).toMatchObject({
      granted_count: 1,
      unobservable_count: 1,
      overprivilege_pct: null,
      high_risk_overprivilege_pct: null,
    });
  });
});

describe('status', () => {
  it('tells active, new, no-coverage and dormant apart', async () => {
    const w = new World()
      .account(ACCOUNT)
      .account('222222222222')
      .principal(role('logged'))
      .principal(role('inventory'), {
        last_used_at: '2026-10-15T08:00:00Z',
        last_used_source: 'RoleLastUsed',
      })
      .principal(role('stale-inventory'), {
        last_used_at: '2026-01-15T08:00:00Z',
        last_used_source: 'RoleLastUsed',
      })
      .principal(role('fresh'), { created_at: '2026-11-01T00:00:00Z' })
      .principal(role('old'))
      .principal(role('elsewhere', '222222222222'))
      .covered(ACCOUNT, COVERED)
      .covered(
        '222222222222',
        COVERED.filter((d) => d !== '2026-09-10'),
      )
      .used(role('logged'), 'ec2:DescribeVpcs', '2026-09-01')
      .used(role('old'), 'ec2:DescribeVpcs', '2026-08-01'); // before the window
    await w.score(db);

    const status = async (id: string) => (await scoreOf(db, id)).status;
    expect(await status(role('logged'))).toBe('active');
    expect(await status(role('inventory'))).toBe('active');
    expect((await scoreOf(db, role('inventory'))).last_used_source).toBe('RoleLastUsed');
    expect(await status(role('stale-inventory'))).toBe('dormant');
    expect(await status(role('fresh'))).toBe('new');
    expect(await status(role('old'))).toBe('dormant');
    expect(await status(role('elsewhere', '222222222222'))).toBe('no-coverage');
    expect((await scoreOf(db, role('elsewhere', '222222222222'))).status_reason).toContain(
      '87 of the 88 days',
    );
    expect((await scoreOf(db, role('old'))).status_reason).toContain('all 88 days');
  });

  it('counts calls needing no permission as activity, but not calls that were all refused', async () => {
    const w = new World()
      .account(ACCOUNT)
      .principal(role('whoami'))
      .principal(role('refused'))
      .covered(ACCOUNT, COVERED)
      .identity(role('whoami'), 'i-0abc', 'machine', '2026-11-01')
      .identity(role('refused'), 'i-0def', 'machine', '2026-11-01')
      .used(role('refused'), 'iam:CreateUser', '2026-11-01', 1, 1);
    await w.score(db);
    expect((await scoreOf(db, role('whoami'))).status).toBe('active');
    expect((await scoreOf(db, role('refused'))).status).toBe('dormant');
  });

  it('never calls GCP public members anything but no-coverage, and counts directory members as covered', async () => {
    const gcp = { cloud: 'gcp' as const, path: null, created_at: null };
    const w = new World()
      .account('fx-prod-0001', { cloud: 'gcp' })
      .principal('allUsers', { ...gcp, kind: 'public', account_id: 'fx-prod-0001' })
      .principal('user:bob@fixture.example', { ...gcp, kind: 'user', account_id: '123456789012' });
    await w.score(db);
    expect((await scoreOf(db, 'allUsers')).status).toBe('no-coverage');
    expect((await scoreOf(db, 'user:bob@fixture.example')).status).toBe('dormant');
  });

  it('counts distinct human and machine identities and sets the assessment identity count', async () => {
    const w = new World()
      .account(ACCOUNT)
      .principal(role('shared'))
      .covered(ACCOUNT, COVERED)
      .identity(role('shared'), 'alice', 'human', '2026-10-01')
      .identity(role('shared'), 'alice', 'human', '2026-10-02')
      .identity(role('shared'), 'bob', 'human', '2026-10-02')
      .identity(role('shared'), 'i-0abc', 'machine', '2026-10-02');
    await w.score(db);
    expect(await scoreOf(db, role('shared'))).toMatchObject({
      human_identities: 2,
      machine_identities: 1,
    });
    const a = await db.one<{ identity_count: number }>(
      "SELECT identity_count FROM assessment WHERE assessment_id = 'a1'",
    );
    expect(a?.identity_count).toBe(3);
  });
});

describe('evidence gaps', () => {
  it("calls nothing unused when the account logs miss days of the principal's life, but judges a principal created after the gap", async () => {
    const w = new World()
      .account(ACCOUNT)
      .principal(role('old'))
      .principal(role('young'), { created_at: '2026-10-20T00:00:00Z' })
      .policy(app, appDoc)
      .attach(role('old'), app)
      .attach(role('young'), app)
      .covered(ACCOUNT, days('2026-10-15', '2026-11-19'))
      .used(role('old'), 'ec2:DescribeInstances', '2026-11-01')
      .used(role('young'), 'ec2:DescribeInstances', '2026-11-01');
    await w.score(db);

    const old = await scoreOf(db, role('old'));
    expect(old).toMatchObject({ used_count: 1, unused_count: 0, unobservable_count: 4 });
    expect(old.overprivilege_pct).toBe(0);
    const states = await principalActionStates(db, 'a1', { principals: [role('old')] });
    expect(states.find((a) => a.action === 'ec2:DescribeVpcs')).toMatchObject({
      state: 'unobservable',
      unobservableReason: `the logs of account ${ACCOUNT} cover only 36 of the 88 days from 2026-08-24 to 2026-11-19`,
    });
    // Created on 2026-10-20, after the logs began: its whole life is covered.
    const young = await scoreOf(db, role('young'));
    expect(young).toMatchObject({ used_count: 1, unused_count: 2, unobservable_count: 2 });
  });

  it('calls nothing unused when the inventory reports a use in a region the logs never cover', async () => {
    const w = new World()
      .account(ACCOUNT)
      .principal(role('apse2'), {
        last_used_at: '2026-11-20T03:00:00Z',
        last_used_source: 'RoleLastUsed',
        attributes: { lastUsedRegion: 'ap-southeast-2' },
      })
      .principal(role('home'), {
        last_used_at: '2026-11-20T03:00:00Z',
        last_used_source: 'RoleLastUsed',
        attributes: { lastUsedRegion: 'us-east-1' },
      })
      .policy(app, appDoc)
      .attach(role('apse2'), app)
      .attach(role('home'), app)
      .covered(ACCOUNT, COVERED);
    await w.score(db);

    expect(await scoreOf(db, role('apse2'))).toMatchObject({
      status: 'active',
      used_count: 0,
      unused_count: 0,
      unobservable_count: 5,
    });
    const gap = await db.scalar<string>(
      'SELECT evidence_gap FROM principal_score WHERE principal_id = $p',
      { p: role('apse2') },
    );
    expect(gap).toContain('ap-southeast-2');
    expect(await scoreOf(db, role('home'))).toMatchObject({ unused_count: 3 });
  });
});

describe('history', () => {
  it('keeps one principal_score row per assessment, so the 7-day trend comes from stored rows', async () => {
    const first = new World('day1')
      .account(ACCOUNT)
      .principal(role('app'))
      .policy(app, appDoc)
      .attach(role('app'), app)
      // covered from the first day of its own window (a missing day would make the unseen
      // actions unobservable: an evidence gap)
      .covered(ACCOUNT, days('2026-08-23', '2026-11-19'));
    await first.load(db, '2026-11-20', '2026-08-23');
    await scoreAssessment(db, 'day1', { config, logger: silentLogger });

    const second = new World('day2')
      .account(ACCOUNT)
      .principal(role('app'))
      .policy(app, appDoc)
      .attach(role('app'), app)
      .used(role('app'), 'iam:CreateUser', '2026-11-21');
    // log_coverage is per integration, not per snapshot: day 1 loaded it already.
    await second.load(db, WINDOW_END, WINDOW_START);
    await scoreAssessment(db, 'day2', { config, logger: silentLogger });

    const trend = await db.all<{ day: string; all_pct: number; privileged_pct: number }>(
      `SELECT a.window_end::VARCHAR AS day, avg(s.overprivilege_pct) AS all_pct,
              avg(s.high_risk_overprivilege_pct) AS privileged_pct
       FROM principal_score s JOIN assessment a USING (assessment_id)
       WHERE s.integration_id = 'hand' AND a.window_end > DATE '2026-11-21' - 7
       GROUP BY a.window_end ORDER BY a.window_end`,
    );
    expect(trend).toEqual([
      { day: '2026-11-20', all_pct: 100, privileged_pct: 100 },
      { day: '2026-11-21', all_pct: 66.67, privileged_pct: 0 },
    ]);
  });
});
