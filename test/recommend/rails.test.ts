import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.ts';
import { runRecommendations } from '../../recommend/index.ts';
import { setRecommendationState } from '../../recommend/store.ts';
import { memoryDb } from '../helpers/db.ts';
import { find, recommend, storedRecommendations } from './helpers.ts';
import {
  ACCOUNT,
  ALLOW_ALL,
  allow,
  END,
  INTEGRATION,
  OTHER_ACCOUNT,
  Snapshot,
  testConfig,
} from './snapshot.ts';

/** An admin user, dormant: three recommendations of different severities. */
function dormantAdmin(s: Snapshot, name: string, options: Parameters<Snapshot['user']>[1] = {}) {
  const admin = s.managed('AdministratorAccess', ALLOW_ALL, { awsManaged: true });
  const user = s.user(name, options);
  s.attach(user, admin);
  return user;
}

function withActivity(s: Snapshot): Snapshot {
  s.use(s.role('bystander'), ['s3:ListAllMyBuckets']);
  return s;
}

describe('safety rails', () => {
  it('never touches a service-linked role', async () => {
    const db = await memoryDb();
    try {
      const s = withActivity(new Snapshot());
      const role = s.role('AWSServiceRoleForSupport', { serviceLinked: true });
      s.attach(role, s.managed('AdministratorAccess', ALLOW_ALL, { awsManaged: true }));
      const { recs, summary } = await recommend(db, s);
      expect(recs.filter((r) => r.principalId === role)).toEqual([]);
      expect(summary.untouchable).toBe(1);
    } finally {
      db.closeAll();
    }
  });

  it('suppresses a break-glass principal, with the reason', async () => {
    const db = await memoryDb();
    try {
      const s = withActivity(new Snapshot());
      const user = dormantAdmin(s, 'emergency', { tags: { 'break-glass': 'true' } });
      const { recs } = await recommend(db, s);
      const mine = recs.filter((r) => r.principalId === user);
      expect(mine.length).toBeGreaterThan(0);
      for (const r of mine) {
        expect(r.state).toBe('suppressed');
        expect(r.stateReason).toMatch(/break-glass principal \(tag break-glass=true\)/);
        expect(r.rank).toBe(0);
      }
    } finally {
      db.closeAll();
    }
  });

  it('honours a configured break-glass tag value and leaves other values alone', async () => {
    const db = await memoryDb();
    try {
      const s = withActivity(new Snapshot());
      const tagged = dormantAdmin(s, 'a', { tags: { tier: 'emergency' } });
      const other = s.user('b', { tags: { tier: 'normal' } });
      s.attach(other, s.managed('AdministratorAccess', ALLOW_ALL, { awsManaged: true }));
      const config = testConfig({ breakGlassTag: { key: 'tier', value: 'emergency' } });
      const { recs } = await recommend(db, s, config);
      expect(find(recs, tagged, 'dormant-principal').state).toBe('suppressed');
      expect(find(recs, other, 'dormant-principal').state).toBe('open');
    } finally {
      db.closeAll();
    }
  });

  it('suppresses principals younger than the window, unless the rail is switched off', async () => {
    const db = await memoryDb();
    try {
      const s = withActivity(new Snapshot());
      const policy = s.managed('p', allow(['s3:*', 'iam:*']));
      const young = s.user('newcomer', { createdAt: `${END}T00:00:00Z` });
      s.attach(young, policy).use(young, ['s3:GetObject']);
      const { recs } = await recommend(db, s);
      const rec = find(recs, young, 'overprivileged-policy', policy);
      expect(rec.state).toBe('suppressed');
      expect(rec.stateReason).toMatch(/younger than the 30-day evidence window/);

      const db2 = await memoryDb();
      try {
        const off = testConfig({ exclusions: { skipYoungerThanWindow: false } });
        const again = await recommend(db2, s, off);
        expect(find(again.recs, young, 'overprivileged-policy', policy).state).toBe('open');
      } finally {
        db2.closeAll();
      }
    } finally {
      db.closeAll();
    }
  });

  it('marks an ignored principal ignored with the rule reason, and honours expiry', async () => {
    const db = await memoryDb();
    try {
      const s = withActivity(new Snapshot());
      const user = dormantAdmin(s, 'parked');
      const other = dormantAdmin(s, 'expired-ignore');
      await db.exec(
        `INSERT INTO ignore_rule (ignore_id, principal_id, integration_id, reason, created_by, created_at, expires_at)
         VALUES ('ign_1', $p, NULL, 'owned by the audit team', 'cli:alice', now(), NULL),
                ('ign_2', $o, $i, 'temporary', 'cli:alice', now() - INTERVAL 2 DAY, now() - INTERVAL 1 DAY)`,
        { p: user, o: other, i: INTEGRATION },
      );
      const { recs } = await recommend(db, s);
      const rec = find(recs, user, 'dormant-principal');
      expect(rec.state).toBe('ignored');
      expect(rec.stateReason).toBe('ignore ign_1: owned by the audit team');
      expect(find(recs, other, 'dormant-principal').state).toBe('open');
    } finally {
      db.closeAll();
    }
  });

  it('refuses removal recommendations when the usage data is stale, with no artifacts at all', async () => {
    const db = await memoryDb();
    try {
      const s = new Snapshot();
      const user = dormantAdmin(s, 'someone');
      // The newest usage of the whole integration is 10 days before the window end.
      s.use(s.role('bystander'), ['s3:ListAllMyBuckets'], { daysAgo: 10 });
      const { recs } = await recommend(db, s, testConfig({ staleUsageDays: 3 }));
      const rec = find(recs, user, 'dormant-principal');
      expect(rec.state).toBe('suppressed');
      expect(rec.stateReason).toMatch(
        /usage data is stale: the newest day is 2026-11-11, 10 days before 2026-11-21/,
      );
      expect(rec.options).toEqual([]);
      expect(rec.proof.options).toEqual([]);
    } finally {
      db.closeAll();
    }
  });

  it('refuses removals for a principal whose account the logs do not cover for the window', async () => {
    const db = await memoryDb();
    try {
      const s = withActivity(new Snapshot());
      const policy = s.managed('p', allow(['s3:*']));
      const user = s.user('far-away', { account: '100000000009' });
      s.attach(user, policy).use(user, ['s3:GetObject'], { account: '100000000009' });
      s.cover('100000000009', 5);
      const { recs } = await recommend(db, s);
      const rec = find(recs, user, 'overprivileged-policy', policy);
      expect(rec.state).toBe('suppressed');
      expect(rec.stateReason).toMatch(/cover account 100000000009 on 5 of the 28 days required/);
      expect(rec.options).toEqual([]);
    } finally {
      db.closeAll();
    }
  });

  it('suppresses principals excluded by config patterns', async () => {
    const db = await memoryDb();
    try {
      const s = withActivity(new Snapshot());
      const user = dormantAdmin(s, 'ci-legacy', { path: '/ci/' });
      const config = testConfig({
        exclusions: { principals: [`arn:aws:iam::${ACCOUNT}:user/ci/*`] },
      });
      const { recs } = await recommend(db, s, config);
      expect(find(recs, user, 'dormant-principal').stateReason).toMatch(/excluded by the config/);
    } finally {
      db.closeAll();
    }
  });
});

describe('owners', () => {
  it('routes to the owner tag, else the integration owner, else nobody', async () => {
    const db = await memoryDb();
    try {
      const s = withActivity(new Snapshot());
      const tagged = dormantAdmin(s, 'tagged', { tags: { owner: 'payments-team' } });
      const untagged = dormantAdmin(s, 'untagged');
      const { recs } = await recommend(db, s);
      expect(find(recs, tagged, 'dormant-principal')).toMatchObject({
        owner: 'payments-team',
        ownerSource: 'tag',
      });
      expect(find(recs, untagged, 'dormant-principal')).toMatchObject({
        owner: 'security-team',
        ownerSource: 'integration',
      });
    } finally {
      db.closeAll();
    }

    const db2 = await memoryDb();
    try {
      const s = withActivity(new Snapshot());
      s.owner = null;
      const user = dormantAdmin(s, 'orphan');
      const config = testConfig({ ownerTagKey: undefined, owner: undefined });
      const { recs } = await recommend(db2, s, config);
      expect(find(recs, user, 'dormant-principal')).toMatchObject({
        owner: null,
        ownerSource: 'none',
      });
    } finally {
      db2.closeAll();
    }
  });
});

describe('ranking and state across assessments', () => {
  it('ranks by severity then risk reduction, and moves the next one up when one is applied', async () => {
    const db = await memoryDb();
    try {
      const s = withActivity(new Snapshot());
      const user = s.user('busy');
      const small = s.managed('small', allow(['s3:GetObject', 's3:PutObject', 's3:ListBucket']));
      const big = s.managed('big', allow(['iam:*', 'ec2:*']));
      s.attach(user, small).attach(user, big).use(user, ['s3:GetObject', 'ec2:DescribeInstances']);
      const { recs } = await recommend(db, s);
      const mine = recs
        .filter((r) => r.principalId === user && r.state === 'open')
        .sort((a, b) => a.rank - b.rank);
      expect(mine.map((r) => r.rank)).toEqual(mine.map((_, i) => i + 1));
      const order = ['critical', 'high', 'medium', 'low'];
      for (let i = 1; i < mine.length; i++) {
        const prev = mine[i - 1]!;
        const cur = mine[i]!;
        const bySeverity = order.indexOf(prev.severity) - order.indexOf(cur.severity);
        expect(bySeverity <= 0).toBe(true);
        if (bySeverity === 0)
          expect(prev.proof.riskReduction).toBeGreaterThanOrEqual(cur.proof.riskReduction);
      }
      expect(mine.length).toBe(3);

      await setRecommendationState(db, mine[0]!.recommendationId, 'applied', 'remediation rem_x');
      const after = (await storedRecommendations(db)).filter((r) => r.principalId === user);
      expect(after.find((r) => r.recommendationId === mine[0]!.recommendationId)!.rank).toBe(0);
      expect(after.find((r) => r.recommendationId === mine[1]!.recommendationId)!.rank).toBe(1);
      expect(after.find((r) => r.recommendationId === mine[2]!.recommendationId)!.rank).toBe(2);
    } finally {
      db.closeAll();
    }
  });

  it('keeps ids and states across assessments, and resolves what is no longer found', async () => {
    const db = await memoryDb();
    try {
      const first = withActivity(new Snapshot({ assessmentId: 'a1' }));
      const user = dormantAdmin(first, 'sleepy');
      const fixed = first.user('fixed-later');
      const policy = first.managed('wide', allow(['s3:*']));
      first.attach(fixed, policy).use(fixed, ['s3:GetObject']);
      const one = await recommend(db, first);
      const dormant = find(one.recs, user, 'dormant-principal');
      const wide = find(one.recs, fixed, 'overprivileged-policy', policy);
      await setRecommendationState(db, dormant.recommendationId, 'applied', 'remediation rem_1');

      // Second assessment: same principals, but the wide policy is gone from fixed-later.
      const second = withActivity(new Snapshot({ assessmentId: 'a2' }));
      dormantAdmin(second, 'sleepy');
      second.user('fixed-later');
      await second.write(db);
      const config = testConfig();
      await runRecommendations(db, 'a2', {
        config,
        integration: config.integrations[0]!,
        logger: silentLogger,
      });
      const two = await storedRecommendations(db);
      const again = two.find((r) => r.recommendationId === dormant.recommendationId)!;
      expect(again.assessmentId).toBe('a2');
      expect(again.state).toBe('applied');
      expect(again.stateReason).toBe('remediation rem_1');
      const gone = two.find((r) => r.recommendationId === wide.recommendationId)!;
      expect(gone.state).toBe('resolved');
      expect(gone.stateReason).toBe('no longer found by assessment a2');
      expect(gone.assessmentId).toBe('a2');
      expect(
        two.filter((r) => r.principalId === user && r.kind === 'dormant-principal'),
      ).toHaveLength(1);
    } finally {
      db.closeAll();
    }
  });

  it('leaves alone the recommendations of an account the next assessment could not read', async () => {
    const db = await memoryDb();
    try {
      const first = withActivity(new Snapshot({ assessmentId: 'a1' }));
      const user = dormantAdmin(first, 'elsewhere', { account: OTHER_ACCOUNT });
      const one = await recommend(db, first);
      const rec = find(one.recs, user, 'dormant-principal');

      const second = withActivity(new Snapshot({ assessmentId: 'a2' }));
      second.failedAccounts.add(OTHER_ACCOUNT);
      await second.write(db);
      const config = testConfig();
      await runRecommendations(db, 'a2', {
        config,
        integration: config.integrations[0]!,
        logger: silentLogger,
      });
      const after = (await storedRecommendations(db)).find(
        (r) => r.recommendationId === rec.recommendationId,
      )!;
      expect(after).toMatchObject({ state: 'open', assessmentId: 'a1' });
    } finally {
      db.closeAll();
    }
  });
});
