import { describe, expect, it } from 'vitest';
import { POLICY_LIMITS, policyChars } from '../../recommend/limits.ts';
import { getAwsCatalog } from '../../scoring/catalog/index.ts';
import { parsePolicyDocument } from '../../scoring/policy/parse.ts';
import { memoryDb } from '../helpers/db.ts';
import { find, option, policyJson, proofOf, recommend } from './helpers.ts';
import { ACCOUNT, ALLOW_ALL, allow, MANAGEMENT, Snapshot } from './snapshot.ts';

const catalog = getAwsCatalog();
const expander = catalog.expander;

function expandAll(docs: unknown[]): Set<string> {
  const out = new Set<string>();
  for (const d of docs) {
    for (const st of parsePolicyDocument(d).statements) {
      if (st.effect === 'Allow') for (const a of expander.expandStatement(st)) out.add(a);
    }
  }
  return out;
}

describe('recommendation kinds', () => {
  it('recommends quarantine or delete for a dormant admin user, critical, with a deny-all proof', async () => {
    const db = await memoryDb();
    try {
      const s = new Snapshot();
      const admin = s.managed('AdministratorAccess', ALLOW_ALL, { awsManaged: true });
      const user = s.user('old-admin');
      s.attach(user, admin);
      // Someone else's activity: the integration's usage data is fresh.
      s.use(s.role('bystander'), ['s3:ListAllMyBuckets']);
      const { recs } = await recommend(db, s);

      const dormant = find(recs, user, 'dormant-principal');
      expect(dormant.title).toBe('Dormant Principal Detected');
      expect(dormant.severity).toBe('critical');
      expect(dormant.rank).toBe(1);
      expect(dormant.options.map((o) => o.type)).toEqual(['quarantine', 'delete']);
      const quarantine = option(dormant, 'quarantine');
      expect(quarantine.applicable).toBe(true);
      expect(policyJson(quarantine)).toEqual([
        {
          Version: '2012-10-17',
          Statement: [
            { Sid: 'AccessDiscoveryQuarantineDenyAll', Effect: 'Deny', Action: '*', Resource: '*' },
          ],
        },
      ]);
      const proof = proofOf(dormant, 'quarantine');
      expect(proof).toMatchObject({
        expectation: 'deny-all',
        result: 'pass',
        grantedAfter: 0,
        neverWider: true,
      });
      expect(proof.grantedBefore).toBe(catalog.size);
      const del = option(dormant, 'delete');
      expect(del.applicable).toBe(false);
      expect(del.plan?.at(-1)).toMatchObject({ operation: 'DeleteUser' });
    } finally {
      db.closeAll();
    }
  });

  it('custom-quarantines unused privileged actions with a boundary that allows everything else', async () => {
    const db = await memoryDb();
    try {
      const s = new Snapshot();
      const policy = s.managed('platform', allow(['iam:*', 's3:*', 'ec2:Describe*']));
      const role = s.role('deployer');
      s.attach(role, policy).use(role, [
        's3:GetObject',
        'ec2:DescribeInstances',
        'iam:GetRole',
        'iam:CreateRole',
      ]);
      const { recs } = await recommend(db, s);

      const rec = find(recs, role, 'unused-privileged-permissions');
      expect(rec.severity).toBe('high');
      const cq = option(rec, 'custom-quarantine');
      expect(cq.applicable).toBe(true);
      expect(cq.artifacts[0]!.policy?.kind).toBe('boundary');
      const [boundary] = policyJson(cq) as Array<{ Statement: Array<Record<string, unknown>> }>;
      expect(boundary!.Statement[0]).toMatchObject({ Effect: 'Allow', Action: '*', Resource: '*' });
      const denied = new Set<string>();
      for (const st of parsePolicyDocument(boundary).statements) {
        if (st.effect === 'Deny') for (const a of expander.expandStatement(st)) denied.add(a);
      }
      // Used privileged actions and unobservable ones (iam:PassRole) are never denied.
      expect(denied.has('iam:CreateRole')).toBe(false);
      expect(denied.has('iam:PassRole')).toBe(false);
      expect(denied.has('iam:CreateUser')).toBe(true);
      expect(denied.has('s3:PutBucketPolicy')).toBe(true);
      expect(denied.has('s3:GetObject')).toBe(false);
      // The deny never reaches below the privileged levels.
      for (const a of denied) expect(catalog.find(a)!.levelRank).toBeGreaterThanOrEqual(4);
      const proof = proofOf(rec, 'custom-quarantine');
      expect(proof.result).toBe('pass');
      expect(proof.denied).toEqual([]);
      expect(proof.checkedActions).toEqual([
        'ec2:DescribeInstances',
        'iam:CreateRole',
        'iam:GetRole',
        's3:GetObject',
      ]);
      expect(proof.allowed).toBe(4);
      expect(proof.unobservableKept).toContain('iam:PassRole');
      expect(cq.reviewNotes.join(' ')).toMatch(/iam:PassRole/);
      expect(proof.grantedBefore - proof.grantedAfter).toBe(
        rec.proof.evidence.unusedPrivilegedCount,
      );
    } finally {
      db.closeAll();
    }
  });

  it('denies through identity policies when an admin has too many unused privileged actions for one boundary', async () => {
    const db = await memoryDb();
    try {
      const s = new Snapshot();
      const admin = s.managed('AdministratorAccess', ALLOW_ALL, { awsManaged: true });
      const role = s.role('admin-bot');
      s.attach(role, admin).use(role, ['s3:GetObject', 'iam:CreateRole']);
      const { recs } = await recommend(db, s);

      const rec = find(recs, role, 'unused-privileged-permissions');
      const cq = option(rec, 'custom-quarantine');
      const policies = cq.artifacts.filter((a) => a.policy);
      expect(
        policies.every((a) => a.policy!.kind === 'managed' || a.policy!.kind === 'inline-role'),
      ).toBe(true);
      for (const a of policies) expect(a.policy!.chars).toBeLessThanOrEqual(a.policy!.limit);
      expect(cq.reviewNotes.join(' ')).toMatch(/identity policies instead/);
      const proof = proofOf(rec, 'custom-quarantine');
      expect(proof.result).toBe('pass');
      expect(proof.grantedBefore - proof.grantedAfter).toBe(
        rec.proof.evidence.unusedPrivilegedCount,
      );
      expect(proof.unobservableKept).toContain('iam:PassRole');
    } finally {
      db.closeAll();
    }
  });

  it('right-sizes an overprivileged policy to exactly the used and unobservable actions, keeping resources and conditions', async () => {
    const db = await memoryDb();
    try {
      const s = new Snapshot();
      const doc = {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'Buckets',
            Effect: 'Allow',
            Action: 's3:*',
            Resource: ['arn:aws:s3:::data', 'arn:aws:s3:::data/*'],
          },
          {
            Sid: 'Ec2',
            Effect: 'Allow',
            Action: ['ec2:*', 'iam:PassRole'],
            Resource: '*',
            Condition: { StringEquals: { 'aws:RequestedRegion': 'eu-west-1' } },
          },
          { Sid: 'NoDelete', Effect: 'Deny', Action: 's3:DeleteBucket', Resource: '*' },
        ],
      };
      const policy = s.managed('app-policy', doc);
      const role = s.role('app');
      s.attach(role, policy).use(role, [
        's3:GetObject',
        's3:PutObject',
        'ec2:RunInstances',
        'ec2:DescribeInstances',
      ]);
      const { recs } = await recommend(db, s);

      const rec = find(recs, role, 'overprivileged-policy', policy);
      const rightSize = option(rec, 'right-size');
      const docs = policyJson(rightSize);
      expect(docs).toHaveLength(1);
      const parsed = parsePolicyDocument(docs[0]);
      const buckets = parsed.statements.find((st) => st.resources?.includes('arn:aws:s3:::data'))!;
      expect(buckets.resources).toEqual(['arn:aws:s3:::data', 'arn:aws:s3:::data/*']);
      // Used, plus what CloudTrail cannot show (object-version variants are logged as the plain event).
      const neverLogged = (pattern: string) =>
        expander.expand(pattern).filter((a) => catalog.find(a)!.observable === 'never');
      expect([...expander.expandStatement(buckets)].sort()).toEqual(
        [...new Set(['s3:GetObject', 's3:PutObject', ...neverLogged('s3:*')])].sort(),
      );
      const ec2 = parsed.statements.find((st) => st.condition)!;
      expect(ec2.condition).toEqual({ StringEquals: { 'aws:RequestedRegion': ['eu-west-1'] } });
      expect([...expander.expandStatement(ec2)].sort()).toEqual(
        [
          ...new Set([
            'ec2:DescribeInstances',
            'ec2:RunInstances',
            'iam:PassRole',
            ...neverLogged('ec2:*'),
          ]),
        ].sort(),
      );
      expect(parsed.statements.some((st) => st.effect === 'Deny' && st.sid === 'NoDelete')).toBe(
        true,
      );
      const proof = proofOf(rec, 'right-size');
      expect(proof).toMatchObject({ result: 'pass', neverWider: true, denied: [] });
      expect(proof.unobservableKept).toContain('iam:PassRole');
      const script = rightSize.artifacts.find((a) => a.format === 'shell')!.content;
      expect([...script.matchAll(/aws iam ([a-z-]+)/g)].map((m) => m[1])).toEqual([
        'create-policy',
        'attach-role-policy',
        'detach-role-policy',
      ]);

      const cq = option(rec, 'custom-quarantine');
      const [deny] = policyJson(cq);
      expect(cq.artifacts[0]!.policy?.kind).toBe('inline-role');
      const denied = new Set<string>();
      for (const st of parsePolicyDocument(deny).statements)
        for (const a of expander.expandStatement(st)) denied.add(a);
      for (const used of ['s3:GetObject', 's3:PutObject', 'ec2:RunInstances', 'iam:PassRole']) {
        expect(denied.has(used)).toBe(false);
      }
      expect(denied.has('s3:PutBucketPolicy')).toBe(true);
      expect(proofOf(rec, 'custom-quarantine').result).toBe('pass');
    } finally {
      db.closeAll();
    }
  });

  it('keeps NOREPO statements verbatim and never denies what they grant, flagging them', async () => {
    const db = await memoryDb();
    try {
      const s = new Snapshot();
      const user = s.user('ops');
      const policy = s.inline(user, 'ops-inline', {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'NOREPOBreakGlassUsers',
            Effect: 'Allow',
            Action: ['iam:CreateUser', 'iam:DeleteUser'],
            Resource: '*',
          },
          { Effect: 'Allow', Action: ['iam:*'], Resource: '*' },
        ],
      });
      s.use(user, ['iam:GetUser', 'iam:ListUsers']);
      const { recs } = await recommend(db, s);

      const unusedPriv = find(recs, user, 'unused-privileged-permissions');
      const [boundary] = policyJson(option(unusedPriv, 'custom-quarantine'));
      const denied = new Set<string>();
      for (const st of parsePolicyDocument(boundary).statements) {
        if (st.effect === 'Deny') for (const a of expander.expandStatement(st)) denied.add(a);
      }
      expect(denied.has('iam:CreateUser')).toBe(false);
      expect(denied.has('iam:DeleteUser')).toBe(false);
      expect(denied.has('iam:CreateRole')).toBe(true);
      expect(proofOf(unusedPriv, 'custom-quarantine').norepoKept).toEqual([
        { policyId: policy, sid: 'NOREPOBreakGlassUsers', actions: 2 },
      ]);

      const over = find(recs, user, 'overprivileged-policy', policy);
      const rightSize = option(over, 'right-size');
      const [doc] = policyJson(rightSize) as Array<{ Statement: Array<Record<string, unknown>> }>;
      expect(doc!.Statement).toContainEqual({
        Sid: 'NOREPOBreakGlassUsers',
        Effect: 'Allow',
        Action: ['iam:CreateUser', 'iam:DeleteUser'],
        Resource: '*',
      });
      expect(rightSize.reviewNotes.join(' ')).toMatch(/NOREPO/);
      expect(proofOf(over, 'right-size').norepoKept).toHaveLength(1);
      // It stayed an inline policy: it fits the user's 2,048-character quota.
      expect(rightSize.artifacts[0]!.policy).toMatchObject({
        kind: 'inline-user',
        limit: POLICY_LIMITS['inline-user'],
      });
    } finally {
      db.closeAll();
    }
  });

  it('encodes an existing managed boundary in the custom quarantine boundary and proves the intersection', async () => {
    const db = await memoryDb();
    try {
      const s = new Snapshot();
      const admin = s.managed('AdministratorAccess', ALLOW_ALL, { awsManaged: true });
      const existing = s.managed('dev-boundary', {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'Dev',
            Effect: 'Allow',
            Action: ['s3:*', 'iam:*', 'ec2:Describe*'],
            Resource: '*',
          },
          {
            Sid: 'NoOrg',
            Effect: 'Deny',
            Action: 'iam:DeleteAccountPasswordPolicy',
            Resource: '*',
          },
        ],
      });
      const user = s.user('dev');
      s.attach(user, admin)
        .boundary(user, existing)
        .use(user, ['s3:GetObject', 'iam:CreateRole', 'ec2:DescribeVpcs']);
      const { recs } = await recommend(db, s);

      const rec = find(recs, user, 'unused-privileged-permissions');
      const cq = option(rec, 'custom-quarantine');
      const [boundary] = policyJson(cq) as Array<{ Statement: Array<Record<string, unknown>> }>;
      // The existing boundary's statements, verbatim, then the deny.
      expect(boundary!.Statement.slice(0, 2)).toEqual([
        { Sid: 'Dev', Effect: 'Allow', Action: ['s3:*', 'iam:*', 'ec2:Describe*'], Resource: '*' },
        { Sid: 'NoOrg', Effect: 'Deny', Action: 'iam:DeleteAccountPasswordPolicy', Resource: '*' },
      ]);
      const proof = proofOf(rec, 'custom-quarantine');
      expect(proof.result).toBe('pass');
      // Before: identity (everything) ∩ boundary; after: that minus the unused privileged actions.
      const inBoundary = expandAll([
        {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: ['s3:*', 'iam:*', 'ec2:Describe*'], Resource: '*' },
          ],
        },
      ]);
      inBoundary.delete('iam:DeleteAccountPasswordPolicy');
      expect(proof.grantedBefore).toBe(inBoundary.size);
      const unused = rec.proof.evidence.unusedPrivilegedCount as number;
      expect(proof.grantedAfter).toBe(inBoundary.size - unused);
      // Nothing outside the old boundary became possible.
      expect(proof.neverWider).toBe(true);
      expect(cq.description).toMatch(/dev-boundary/);
    } finally {
      db.closeAll();
    }
  });

  it('splits the right-sized policy of a principal with hundreds of used actions into managed policies within the quota', async () => {
    const db = await memoryDb();
    try {
      const s = new Snapshot();
      const admin = s.managed('AdministratorAccess', ALLOW_ALL, { awsManaged: true });
      const role = s.role('platform');
      // Every 23rd action of the catalog: ~960 actions over most services, few shared prefixes.
      const used = expander.allActions().filter((_, i) => i % 23 === 0);
      s.attach(role, admin).use(role, used);
      const { recs } = await recommend(db, s);

      const rec = find(recs, role, 'overprivileged-policy', admin);
      const rightSize = option(rec, 'right-size');
      const docs = rightSize.artifacts.filter((a) => a.policy);
      expect(docs.length).toBeGreaterThan(1);
      for (const d of docs) {
        expect(d.policy!.kind).toBe('managed');
        expect(policyChars(d.content)).toBe(d.policy!.chars);
        expect(d.policy!.chars).toBeLessThanOrEqual(POLICY_LIMITS.managed);
      }
      expect(new Set(docs.map((d) => d.policy!.name)).size).toBe(docs.length);
      expect(docs[0]!.policy!.name).toBe('AdministratorAccess-rightsized-1');
      const allowed = expandAll(docs.map((d) => JSON.parse(d.content)));
      for (const a of used) expect(allowed.has(a)).toBe(true);
      // No wildcard reaches an action that was neither used nor unobservable.
      const unobservable = new Set(
        [...catalog.entries()].filter((c) => c.observable === 'never').map((c) => c.action),
      );
      for (const a of allowed) expect(used.includes(a) || unobservable.has(a)).toBe(true);
      const proof = proofOf(rec, 'right-size');
      expect(proof.result).toBe('pass');
      expect(proof.checkedActions).toHaveLength(used.length);
      expect(proof.allowed).toBe(used.length);
      expect(proof.artifacts.every((a) => a.valid && a.chars <= a.limit)).toBe(true);
    } finally {
      db.closeAll();
    }
  });

  it('moves an inline right-sized policy to managed policies when the inline quota cannot hold it', async () => {
    const db = await memoryDb();
    try {
      const s = new Snapshot();
      const user = s.user('analyst');
      const policy = s.inline(user, 'everything', ALLOW_ALL);
      const used = expander.allActions().filter((_, i) => i % 97 === 0);
      s.use(user, used);
      const { recs } = await recommend(db, s);
      const rightSize = option(find(recs, user, 'overprivileged-policy', policy), 'right-size');
      expect(
        rightSize.artifacts.filter((a) => a.policy).every((a) => a.policy!.kind === 'managed'),
      ).toBe(true);
      expect(rightSize.reviewNotes.join(' ')).toMatch(/inline quota/);
      const script = rightSize.artifacts.find((a) => a.format === 'shell')!.content;
      expect(script.trimEnd().split('\n').at(-1)).toBe(
        `aws iam delete-user-policy --user-name 'analyst' --policy-name 'everything'`,
      );
    } finally {
      db.closeAll();
    }
  });

  it('right-sizes a group policy on the union of its members usage and replays each member', async () => {
    const db = await memoryDb();
    try {
      const s = new Snapshot();
      const a = s.user('ann');
      const b = s.user('ben');
      const group = s.group('devs', [a, b]);
      const policy = s.managed('dev-access', allow(['s3:*', 'dynamodb:*']));
      s.attach(group, policy).member(a, group).member(b, group);
      s.use(a, ['s3:GetObject']).use(b, ['dynamodb:Query']);
      const { recs } = await recommend(db, s);

      const rec = find(recs, group, 'overprivileged-policy', policy);
      const allowed = expandAll(policyJson(option(rec, 'right-size')));
      const neverLogged = expander
        .expand('s3:*')
        .concat(expander.expand('dynamodb:*'))
        .filter((x) => catalog.find(x)!.observable === 'never');
      expect([...allowed].sort()).toEqual(
        [...new Set(['dynamodb:Query', 's3:GetObject', ...neverLogged])].sort(),
      );
      const proof = proofOf(rec, 'right-size');
      expect(proof.result).toBe('pass');
      expect(proof.checkedActions).toEqual(['dynamodb:Query', 's3:GetObject']);
      expect(rec.proof.evidence.members).toEqual([a, b]);
      // Members do not get their own recommendation for the inherited policy.
      expect(recs.some((r) => r.principalId === a && r.policyId === policy)).toBe(false);
      expect(option(rec, 'custom-quarantine').artifacts[0]!.policy?.kind).toBe('inline-group');
    } finally {
      db.closeAll();
    }
  });
});

describe('SCP-aware effective permissions', () => {
  it('never counts as unused what an SCP already blocks, and spares the management account', async () => {
    const db = await memoryDb();
    try {
      const s = new Snapshot();
      s.parentPath.set(ACCOUNT, ['r-ab12', 'ou-ab12-11111111']);
      s.scp('FullAWSAccess', ALLOW_ALL, ['r-ab12']);
      s.scp('OnlyStorage', allow(['s3:*', 'iam:Get*', 'iam:List*']), ['ou-ab12-11111111']);
      const admin = s.managed('AdministratorAccess', ALLOW_ALL, { awsManaged: true });
      const member = s.user('member-admin');
      const root = s.user('mgmt-admin', { account: MANAGEMENT });
      s.attach(member, admin).attach(root, admin);
      s.use(member, ['s3:GetObject']).use(root, ['s3:GetObject'], { account: MANAGEMENT });
      const { recs } = await recommend(db, s);

      const rec = find(recs, member, 'unused-privileged-permissions');
      const unused = rec.proof.evidence.unusedPrivileged as string[];
      expect(unused.every((a) => a.startsWith('s3:'))).toBe(true);
      expect(unused).toContain('s3:PutBucketPolicy');
      const proof = proofOf(rec, 'custom-quarantine');
      const inScp = new Set([
        ...expander.expand('s3:*'),
        ...expander.expand('iam:Get*'),
        ...expander.expand('iam:List*'),
      ]);
      expect(proof.grantedBefore).toBe(inScp.size);
      expect(proof.result).toBe('pass');
      // The management account is outside every SCP: its admin keeps everything.
      expect(
        proofOf(find(recs, root, 'overprivileged-policy', admin), 'right-size').grantedBefore,
      ).toBe(catalog.size);
    } finally {
      db.closeAll();
    }
  });
});

describe('GCP recommendations', () => {
  it('offers disable or delete for a dormant service account, and a smaller custom role or binding removal for its roles', async () => {
    const db = await memoryDb();
    try {
      const s = new Snapshot();
      const project = 'fx-prod-0001';
      const storage = s.gcpRole('roles/storage.admin', [
        'storage.buckets.create',
        'storage.buckets.delete',
        'storage.objects.get',
        'storage.objects.list',
        'storage.buckets.setIamPolicy',
      ]);
      const viewer = s.gcpRole('roles/compute.viewer', [
        'compute.instances.get',
        'compute.instances.list',
      ]);
      const idle = s.serviceAccount(`idle@${project}.iam.gserviceaccount.com`, project);
      const busy = s.serviceAccount(`ci@${project}.iam.gserviceaccount.com`, project);
      s.bind(idle, storage, `projects/${project}`);
      s.bind(busy, storage, `projects/${project}`).bind(busy, viewer, `projects/${project}`);
      s.use(busy, ['storage.objects.get', 'storage.buckets.create'], { account: project });
      const { recs } = await recommend(db, s);

      const dormant = find(recs, idle, 'dormant-principal');
      expect(dormant.options.map((o) => o.type)).toEqual(['gcp-disable', 'gcp-delete']);
      const disable = option(dormant, 'gcp-disable');
      expect(disable.applicable).toBe(true);
      expect(disable.artifacts[0]!.content).toContain(
        `gcloud iam service-accounts disable 'idle@${project}.iam.gserviceaccount.com' --project='${project}'`,
      );
      const del = option(dormant, 'gcp-delete');
      expect(del.artifacts[0]!.content).toContain(
        `gcloud projects remove-iam-policy-binding '${project}' --member='${idle}' --role='roles/storage.admin' --condition=None`,
      );
      expect(del.artifacts[0]!.content).toContain('gcloud iam service-accounts delete');

      const custom = find(recs, busy, 'overprivileged-policy', storage);
      const role = option(custom, 'gcp-custom-role');
      // Reads are data-access events: logged here (coverage has data events), so unused ones go.
      expect(JSON.parse(role.artifacts[0]!.content)).toEqual({
        includedPermissions: ['storage.buckets.create', 'storage.objects.get'],
      });
      expect(role.artifacts[1]!.content).toMatch(
        /gcloud iam roles create 'ad_storage\.admin_[0-9a-f]{8}' --project='fx-prod-0001'/,
      );
      expect(proofOf(custom, 'gcp-custom-role')).toMatchObject({
        result: 'pass',
        denied: [],
        neverWider: true,
      });
      const removal = find(recs, busy, 'overprivileged-policy', viewer);
      expect(removal.options.map((o) => o.type)).toEqual(['gcp-remove-binding']);
    } finally {
      db.closeAll();
    }
  });

  it("shrinks a GCP group's role to what its members used, proven for each member, and removes one nobody used", async () => {
    const db = await memoryDb();
    try {
      const s = new Snapshot();
      const project = 'fx-prod-0001';
      const org = '123456789012';
      const storage = s.gcpRole('roles/storage.admin', [
        'storage.buckets.create',
        'storage.buckets.delete',
        'storage.objects.get',
        'storage.objects.list',
      ]);
      const viewer = s.gcpRole('roles/compute.viewer', [
        'compute.instances.get',
        'compute.instances.list',
      ]);
      const data = s.gcpGroup('data@fixture.example', org);
      const ops = s.gcpGroup('ops@fixture.example', org);
      const empty = s.gcpGroup('empty@fixture.example', org);
      s.bind(data, storage, `projects/${project}`);
      s.bind(ops, viewer, `projects/${project}`);
      s.bind(empty, storage, `projects/${project}`);
      const sa = s.serviceAccount(`etl@${project}.iam.gserviceaccount.com`, project);
      const user = s.gcpUser('ana@fixture.example', org);
      s.member(sa, data).member(user, data).member(user, ops);
      s.use(sa, ['storage.buckets.create'], { account: project });
      s.use(user, ['storage.objects.get'], { account: project });
      const { recs } = await recommend(db, s);

      const rec = find(recs, data, 'overprivileged-policy', storage);
      const custom = option(rec, 'gcp-custom-role');
      expect(JSON.parse(custom.artifacts[0]!.content)).toEqual({
        includedPermissions: ['storage.buckets.create', 'storage.objects.get'],
      });
      expect(custom.artifacts[1]!.content).toContain(
        `gcloud projects remove-iam-policy-binding '${project}' --member='${data}' --role='roles/storage.admin'`,
      );
      const proof = proofOf(rec, 'gcp-custom-role');
      expect(proof).toMatchObject({ result: 'pass', denied: [], neverWider: true });
      expect(proof.checkedActions).toEqual(['storage.buckets.create', 'storage.objects.get']);
      expect(proof.allowed).toBe(2);
      expect(rec.proof.evidence).toMatchObject({ members: 2, unusedCount: 2 });

      const removal = find(recs, ops, 'overprivileged-policy', viewer);
      expect(removal.options.map((o) => o.type)).toEqual(['gcp-remove-binding']);
      expect(proofOf(removal, 'gcp-remove-binding')).toMatchObject({
        result: 'pass',
        // The member keeps the storage role of the other group.
        grantedBefore: 6,
        grantedAfter: 4,
      });
      // A group without members is left alone (nobody's use to measure), as for AWS.
      expect(recs.filter((r) => r.principalId === empty)).toEqual([]);
      // Members get no recommendation of their own for roles that come through the group.
      expect(recs.filter((r) => r.principalId === user)).toEqual([]);
    } finally {
      db.closeAll();
    }
  });

  it('keeps reads as unobservable when the project does not log Data Access', async () => {
    const db = await memoryDb();
    try {
      const s = new Snapshot();
      const project = 'fx-prod-0002';
      const storage = s.gcpRole('roles/storage.admin', [
        'storage.buckets.delete',
        'storage.objects.get',
        'storage.objects.list',
      ]);
      const sa = s.serviceAccount(`etl@${project}.iam.gserviceaccount.com`, project);
      s.bind(sa, storage, `projects/${project}`).use(sa, ['storage.buckets.create'], {
        account: project,
      });
      s.cover(project, 30, false);
      const { recs } = await recommend(db, s);
      const rec = find(recs, sa, 'overprivileged-policy', storage);
      const role = option(rec, 'gcp-custom-role');
      expect(JSON.parse(role.artifacts[0]!.content).includedPermissions).toEqual([
        'storage.objects.get',
        'storage.objects.list',
      ]);
      expect(proofOf(rec, 'gcp-custom-role').unobservableKept).toEqual([
        'storage.objects.get',
        'storage.objects.list',
      ]);
    } finally {
      db.closeAll();
    }
  });
});
