import type { Db } from '../../model/db.ts';
import { type PrincipalSpec, seedAssessment, seedIntegration } from './seed.ts';

/**
 * A small deterministic world for API tests: two integrations, a week of assessments for the
 * trend, a current assessment with generated and hand-made principals (awkward names and
 * tags), ignore rules in every state, recommendations, identities, policies and coverage.
 */

export const ACCOUNTS = [
  { id: '111111111111', name: 'prod-main' },
  { id: '222222222222', name: 'prod-data' },
];
export const CURRENT = 'prod-current';
export const GCP_CURRENT = 'gcp-current';
export const RUNNING = 'prod-running';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LEVELS = ['LIST', 'READ', 'TAGGING', 'WRITE', 'IAM', 'ADMIN'];
const TIERS = ['Critical', 'High', 'Medium', 'Low'];
const STATUSES = ['active', 'dormant', 'new', 'no-coverage'];
const KINDS = ['role', 'user', 'group'];
const OWNERS = ['team-a', 'team-b', null];
const ENVS = ['prod', 'dev', 'staging'];

export function generatePrincipals(n: number, seed: number, prefix = 'gen'): PrincipalSpec[] {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const out: PrincipalSpec[] = [];
  for (let i = 0; i < n; i++) {
    const kind = pick(KINDS);
    const account = pick(ACCOUNTS).id;
    const name = `${prefix}-${kind}-${String(i).padStart(3, '0')}`;
    const op = r() < 0.15 ? null : Math.round(r() * 1000) / 10;
    const hr = r() < 0.4 ? null : Math.round(r() * 1000) / 10;
    const unused = LEVELS.filter(() => r() < 0.3);
    const tags: Record<string, string> = {};
    if (r() < 0.7) tags.env = pick(ENVS);
    if (r() < 0.3) tags.team = pick(['Blue', 'red', 'GREEN']);
    out.push({
      id: `arn:aws:iam::${account}:${kind}/${name}`,
      name,
      kind,
      account,
      status: pick(STATUSES),
      tier: pick(TIERS),
      risk: Math.floor(r() * 101),
      overprivilege: op,
      highRisk: hr,
      // Half-days keep relative-date filters away from the boundaries.
      lastUsedDaysAgo: r() < 0.2 ? null : Math.floor(r() * 200) + 0.5,
      createdDaysAgo: Math.floor(r() * 800) + 1,
      owner: pick(OWNERS),
      tags,
      unusedLevels: unused,
      serviceLinked: r() < 0.05,
      human: Math.floor(r() * 4),
      machine: Math.floor(r() * 3),
    });
  }
  return out;
}

export const SPECIAL: PrincipalSpec[] = [
  {
    id: 'arn:aws:iam::111111111111:role/Admin"Quoted\\Role',
    name: 'Admin"Quoted\\Role',
    kind: 'role',
    account: '111111111111',
    status: 'active',
    tier: 'Critical',
    risk: 97,
    overprivilege: 91.5,
    highRisk: 88,
    lastUsedDaysAgo: 2.5,
    owner: 'team-a',
    tags: { env: 'prod', 'a/b': 'slash', 'team.name': 'dots', 'q"k': 'quote', '~tilde': 'yes' },
    unusedLevels: ['IAM', 'ADMIN'],
    human: 2,
    machine: 1,
  },
  {
    id: 'arn:aws:iam::111111111111:user/=cmd|calc',
    name: '=cmd|calc',
    kind: 'user',
    account: '111111111111',
    status: 'dormant',
    tier: 'High',
    risk: 70,
    overprivilege: 100,
    highRisk: null,
    lastUsedDaysAgo: null,
    owner: '@evil',
    tags: {},
    unusedLevels: ['READ'],
  },
  {
    id: 'arn:aws:iam::222222222222:role/aws-service-role/ÜnicodeRöle',
    name: 'ÜnicodeRöle',
    kind: 'role',
    account: '222222222222',
    status: 'active',
    tier: 'Low',
    risk: 5,
    overprivilege: 0,
    highRisk: 0,
    lastUsedDaysAgo: 0.5,
    owner: null,
    tags: { env: 'PROD' },
    unusedLevels: [],
    serviceLinked: true,
    machine: 4,
  },
  {
    id: 'arn:aws:iam::222222222222:role/ignored-breakglass',
    name: 'ignored-breakglass',
    kind: 'role',
    account: '222222222222',
    status: 'dormant',
    tier: 'Critical',
    risk: 99,
    overprivilege: 99,
    highRisk: 99,
    lastUsedDaysAgo: 300.5,
    owner: 'team-b',
    tags: { 'break-glass': 'true' },
    unusedLevels: ['ADMIN'],
    evidenceGap: 'used in ap-southeast-2, where the trail does not log',
  },
];

export const IGNORED_ID = 'arn:aws:iam::222222222222:role/ignored-breakglass';
export const QUOTED_ID = SPECIAL[0]!.id;
export const FORMULA_ID = SPECIAL[1]!.id;

export const GCP_SPECS: PrincipalSpec[] = [
  {
    id: 'serviceAccount:deployer@fx-project-01.iam.gserviceaccount.com',
    name: 'deployer@fx-project-01.iam.gserviceaccount.com',
    kind: 'service-account',
    cloud: 'gcp',
    account: 'fx-project-01',
    status: 'active',
    tier: 'High',
    risk: 75,
    overprivilege: 60,
    highRisk: 40,
    lastUsedDaysAgo: 1.5,
    tags: { env: 'prod' },
    unusedLevels: ['IAM'],
    machine: 2,
  },
  {
    // The same id as a prod principal: ambiguous without integrationId.
    id: QUOTED_ID,
    name: 'Admin"Quoted\\Role',
    kind: 'role',
    cloud: 'gcp',
    account: 'fx-project-01',
    status: 'new',
    tier: 'Low',
    risk: 1,
    overprivilege: null,
    highRisk: null,
    lastUsedDaysAgo: null,
  },
];

export async function seedWorld(db: Db): Promise<{ principals: PrincipalSpec[] }> {
  await seedIntegration(db, 'prod', 'aws-account', 'secops@example.com');
  await seedIntegration(db, 'gcp', 'gcp-project', null);
  // A week of history: one assessment a day, two on day 2 (the later one counts), none on day 4.
  const history: Array<[string, number, number]> = [
    ['prod-d8', 8.5, 11],
    ['prod-d6', 6.5, 12],
    ['prod-d5', 5.5, 13],
    ['prod-d3', 3.5, 14],
    ['prod-d2-early', 2.9, 15],
    ['prod-d2-late', 2.1, 16],
    ['prod-d1', 1.5, 17],
  ];
  for (const [id, daysAgo, seed] of history) {
    await seedAssessment(db, {
      id,
      integrationId: 'prod',
      startedDaysAgo: daysAgo,
      accounts: ACCOUNTS,
      principals: generatePrincipals(12, seed, id),
    });
  }
  // Two runs on the same UTC day, whatever the time of day the tests run.
  await db.exec(`UPDATE assessment SET started_at = CAST(current_date - 2 AS TIMESTAMPTZ) + INTERVAL 2 HOUR,
    finished_at = CAST(current_date - 2 AS TIMESTAMPTZ) + INTERVAL 3 HOUR WHERE assessment_id = 'prod-d2-early'`);
  await db.exec(`UPDATE assessment SET started_at = CAST(current_date - 2 AS TIMESTAMPTZ) + INTERVAL 20 HOUR,
    finished_at = CAST(current_date - 2 AS TIMESTAMPTZ) + INTERVAL 21 HOUR WHERE assessment_id = 'prod-d2-late'`);
  const principals = [...generatePrincipals(60, 7), ...SPECIAL];
  await seedAssessment(db, {
    id: CURRENT,
    integrationId: 'prod',
    startedDaysAgo: 0.01,
    accounts: [
      ...ACCOUNTS,
      {
        id: '333333333333',
        name: 'prod-broken',
        inventoryStatus: 'failed',
        inventoryError: 'AccessDenied on sts:AssumeRole',
      },
    ],
    principals,
    errors: [
      { accountId: '333333333333', service: 'sts', call: 'AssumeRole', message: 'AccessDenied' },
      { accountId: null, service: 's3', call: 'GetObject', message: 'one object was corrupt' },
    ],
  });
  // Newer than the current one but failed: never current.
  await seedAssessment(db, {
    id: 'prod-failed',
    integrationId: 'prod',
    status: 'failed',
    startedDaysAgo: 0.005,
    accounts: [],
    principals: [],
  });
  // Running: half-written rows that no read may show.
  await seedAssessment(db, {
    id: RUNNING,
    integrationId: 'prod',
    status: 'running',
    startedDaysAgo: 0.001,
    accounts: ACCOUNTS,
    principals: generatePrincipals(5, 99, 'half-written'),
  });
  await seedAssessment(db, {
    id: GCP_CURRENT,
    integrationId: 'gcp',
    startedDaysAgo: 0.02,
    accounts: [{ id: 'fx-project-01', name: 'fx project', cloud: 'gcp' }],
    principals: GCP_SPECS,
  });
  await db.exec(`
    INSERT INTO ignore_rule VALUES
      ('ign-active', '${IGNORED_ID}', NULL, 'break-glass role, reviewed quarterly', 'analyst-token', now() - INTERVAL 3 DAY, NULL, NULL, NULL),
      ('ign-expired', 'arn:aws:iam::111111111111:user/=cmd|calc', NULL, 'expired', 'x', now() - INTERVAL 30 DAY, now() - INTERVAL 1 DAY, NULL, NULL),
      ('ign-removed', 'arn:aws:iam::222222222222:role/aws-service-role/ÜnicodeRöle', NULL, 'removed', 'x', now() - INTERVAL 30 DAY, NULL, now() - INTERVAL 2 DAY, 'y'),
      ('ign-gcp-only', 'serviceAccount:deployer@fx-project-01.iam.gserviceaccount.com', 'prod', 'wrong integration', 'x', now() - INTERVAL 1 DAY, NULL, NULL, NULL)
  `);
  const options = JSON.stringify([
    {
      type: 'quarantine',
      title: 'Quarantine',
      description: 'Attach a deny-all boundary',
      applicable: true,
      artifacts: [],
    },
    {
      type: 'delete',
      title: 'Delete',
      description: 'Delete script',
      applicable: false,
      artifacts: [{ name: 'delete.sh', format: 'shell', content: 'aws iam delete-role' }],
    },
  ]);
  const recs: Array<[string, string, string, number, string, string | null]> = [
    ['rec-1', QUOTED_ID, 'Unused privileged permissions', 2, 'open', 'team-a'],
    ['rec-2', QUOTED_ID, 'Overprivileged policy', 1, 'open', 'team-a'],
    ['rec-3', QUOTED_ID, 'Overprivileged policy (inline)', 3, 'open', null],
    ['rec-4', QUOTED_ID, 'Fourth finding', 4, 'open', null],
    ['rec-5', QUOTED_ID, 'Applied earlier', 5, 'applied', 'team-a'],
    ['rec-6', FORMULA_ID, 'Dormant Principal Detected', 1, 'open', '@evil'],
    ['rec-7', IGNORED_ID, 'Dormant Principal Detected', 1, 'open', 'team-b'],
  ];
  for (const [id, principal, title, rank, state, owner] of recs) {
    await db.exec(
      `INSERT INTO recommendation VALUES ($id, $a, 'prod', $p, NULL, 'dormant-principal', $title,
         'high', $rank, $options, NULL, $owner, $source, $state, NULL, now())`,
      {
        id,
        a: CURRENT,
        p: principal,
        title,
        rank,
        options,
        owner,
        source: owner ? 'tag' : 'integration',
        state,
      },
    );
  }
  await db.exec(
    `INSERT INTO remediation VALUES ('rem-1', 'rec-5', 'prod', $p, '111111111111', 'quarantine', 'applied',
       '[{"call":"PutRolePermissionsBoundary"}]', '{"boundary":null}', NULL, 'admin-token (tok_x)', now() - INTERVAL 1 DAY, NULL, NULL, NULL),
      ('rem-2', 'rec-5', 'prod', $p, '111111111111', 'quarantine', 'rolled-back',
       '[]', '{}', '[]', 'admin-token (tok_x)', now() - INTERVAL 2 DAY, now() - INTERVAL 1 DAY, 'a', NULL)`,
    { p: QUOTED_ID },
  );
  // Used by: two humans, one machine; alice has 7 logins (only 5 are kept in the answer).
  await db.exec(
    `INSERT INTO identity_usage VALUES
      ('prod', $p, 'alice@example.com', 'human', 'sso', current_date - 3, 10, now() - INTERVAL 3 DAY, now() - INTERVAL 3 DAY, 'aws-cli/2.15', '203.0.113.7'),
      ('prod', $p, 'alice@example.com', 'human', 'sso', current_date - 2, 5, now() - INTERVAL 2 DAY, now() - INTERVAL 2 DAY, 'console.amazonaws.com', '203.0.113.8'),
      ('prod', $p, 'bob@example.com', 'human', 'saml', current_date - 10, 1, now() - INTERVAL 10 DAY, now() - INTERVAL 10 DAY, 'Mozilla/5.0', '198.51.100.1'),
      ('prod', $p, 'i-0abc', 'machine', 'instance', current_date - 1, 500, now() - INTERVAL 1 DAY, now() - INTERVAL 1 DAY, 'Boto3/1.34', '10.0.0.5'),
      ('prod', $p, 'too-old', 'human', 'sso', current_date - 200, 1, now() - INTERVAL 200 DAY, now() - INTERVAL 200 DAY, 'x', 'y')`,
    { p: QUOTED_ID },
  );
  for (let i = 1; i <= 7; i++) {
    await db.exec(
      `INSERT INTO identity_login VALUES ('prod', $p, 'alice@example.com', now() - to_days(CAST($d AS INTEGER)), 'AssumeRoleWithSAML', $ua, '203.0.113.7')`,
      { p: QUOTED_ID, d: i + 1, ua: `agent-${i}` },
    );
  }
  await db.exec(
    `INSERT INTO identity_login VALUES ('prod', $p, 'carol@example.com', now() - INTERVAL 4 DAY, 'ConsoleLogin', 'Mozilla/5.0', '192.0.2.1')`,
    { p: QUOTED_ID },
  );
  // Used for: a managed policy attached directly and through a group, an inline policy.
  await db.exec(
    `INSERT INTO policy VALUES
      ($a, 'arn:aws:iam::aws:policy/AdministratorAccess', 'prod', NULL, 'aws', 'aws-managed', 'AdministratorAccess', 'v1',
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}', 60, NULL),
      ($a, $inline, 'prod', '111111111111', 'aws', 'inline', 'extra', NULL,
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}', 70, NULL)`,
    { a: CURRENT, inline: `${QUOTED_ID}#inline/extra` },
  );
  await db.exec(
    `INSERT INTO principal_policy VALUES
      ($a, $p, 'arn:aws:iam::aws:policy/AdministratorAccess', 'direct', $p, NULL),
      ($a, $p, 'arn:aws:iam::aws:policy/AdministratorAccess', 'group', 'arn:aws:iam::111111111111:group/admins', NULL),
      ($a, $p, $inline, 'inline', $p, NULL)`,
    { a: CURRENT, p: QUOTED_ID, inline: `${QUOTED_ID}#inline/extra` },
  );
  await db.exec(
    `INSERT INTO policy_usage VALUES
      ($a, $p, 'arn:aws:iam::aws:policy/AdministratorAccess', 'ADMIN', 40, 1, 39, 0),
      ($a, $p, 'arn:aws:iam::aws:policy/AdministratorAccess', 'READ', 3000, 120, 2800, 80),
      ($a, $p, $inline, 'READ', 1, 1, 0, 0)`,
    { a: CURRENT, p: QUOTED_ID, inline: `${QUOTED_ID}#inline/extra` },
  );
  // Coverage: prod-main fully covered (90 days), prod-data only 30 days, the broken account none.
  await db.exec(
    `INSERT INTO log_coverage
     SELECT 'prod', '111111111111', 'us-east-1', CAST(d AS DATE), 'cloudtrail-s3', true, 1000
       FROM range(current_date - 90, current_date, INTERVAL 1 DAY) t(d)
     UNION ALL
     SELECT 'prod', '222222222222', 'eu-west-1', CAST(d AS DATE), 'cloudtrail-s3', false, 10
       FROM range(current_date - 30, current_date, INTERVAL 1 DAY) t(d)`,
  );
  return { principals };
}
