// `npm run bench -- scoring [--principals N] [--unique] [--db FILE]`: time the scoring engine (effective
// grants, usage, status, risk, tiers) on a large organization.
//
// `npm run bench -- scoring --world DIR [--db FILE]`: score a fixture world as ingested by
// `npm run bench -- ingest --world DIR` (its database, default `<DIR>.duckdb`): the `large`
// world's 20,000 principals with their real CloudTrail usage.
//
// Until the fixture generator's `large` world is merged, the organization is synthesised here,
// deterministically: 20 accounts under 3 OUs with SCPs, the real AWS managed policies of
// ../shared/realdata (1,643 documents), customer-managed and inline policies built from real
// action patterns, boundaries, groups, 90 days of log coverage and usage_daily rows. Principals
// are drawn from 400 role templates (20% also get an inline policy of their own); `--unique`
// gives every principal its own random set of policies, the worst case for fingerprinting.
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseConfig } from '../config/load.ts';
import { createLogger } from '../lib/log.ts';
import { Db } from '../model/db.ts';
import { insertRows } from '../model/insert.ts';
import { getAwsCatalog } from '../scoring/catalog/index.ts';
import { ensureCatalog, scoreAssessment } from '../scoring/engine/score.ts';

const args = process.argv.slice(3);
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const PRINCIPALS = Number(option('--principals') ?? 20_000);
const DB_PATH = option('--db') ?? ':memory:';
const UNIQUE = args.includes('--unique');
const REALDATA = join(import.meta.dirname, '..', '..', 'shared', 'realdata');
const A = 'bench';
const I = 'bench';
const END = '2026-11-21';
const DAYS = 90;

// Deterministic PRNG (mulberry32).
let seed = 42;
function rand(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
const day = (offset: number) =>
  new Date(Date.parse(`${END}T00:00:00Z`) - offset * 86_400_000).toISOString().slice(0, 10);

interface Managed {
  name: string;
  arn: string;
  document: unknown;
}

function managedPolicies(): Managed[] {
  const file = join(REALDATA, 'aws', 'managed-policies.jsonl.gz');
  if (!existsSync(file)) throw new Error(`bench needs ${file} (the shared real-world samples)`);
  return gunzipSync(readFileSync(file))
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Managed)
    .map((m) => ({ ...m, arn: m.arn ?? `arn:aws:iam::aws:policy/${m.name}` }));
}

async function build(db: Db): Promise<void> {
  const catalog = getAwsCatalog();
  const actions = catalog.expander.allActions();
  const services = catalog.expander.services();
  const managed = managedPolicies();
  // Real organizations attach a few popular policies far more often than the rest.
  const popular = managed.filter((m) =>
    /ReadOnlyAccess$|AmazonS3|AmazonEC2|AWSLambda|CloudWatch|AmazonDynamoDB|AmazonSQS|AmazonSNS|AdministratorAccess$|PowerUserAccess$|IAMFullAccess$/.test(
      m.name,
    ),
  );
  const accounts = Array.from({ length: 20 }, (_, i) => String(100000000001 + i));
  const ous = ['ou-ab12-11111111', 'ou-ab12-22222222', 'ou-ab12-33333333'];
  const root = 'r-ab12';
  await db.exec(
    `INSERT INTO integration VALUES ($i, 'import', 'bench', NULL, '{}', now(), now())`,
    { i: I },
  );
  await db.exec(
    `INSERT INTO assessment (assessment_id, integration_id, status, trigger, stage, started_at,
       window_start, window_end, dormancy_days, errors)
     VALUES ($a, $i, 'running', 'cli', 'scoring', now(), $s::DATE, $e::DATE, 90, '[]')`,
    { a: A, i: I, s: day(DAYS - 1), e: END },
  );
  await insertRows(
    db,
    'account',
    accounts.map((id, i) => ({
      assessment_id: A,
      account_id: id,
      integration_id: I,
      cloud: 'aws',
      name: id,
      parent_path: i === 0 ? [root] : [root, ous[i % 3]!],
      status: 'ACTIVE',
      tags: { env: i % 3 === 0 ? 'prod' : 'dev' },
      risk_level: i % 3 === 0 ? 'high' : 'low',
      risk_source: 'tag',
      inventory_status: 'ok',
      inventory_error: null,
    })),
  );
  const policies: Array<Record<string, unknown>> = [];
  const policy = (id: string, kind: string, account: string | null, document: unknown) =>
    policies.push({
      assessment_id: A,
      policy_id: id,
      integration_id: I,
      account_id: account,
      cloud: 'aws',
      kind,
      name: id.split('/').pop(),
      version_id: null,
      document,
      size_chars: JSON.stringify(document).length,
      parse_error: null,
    });
  for (const m of managed) policy(m.arn, 'aws-managed', null, m.document);
  const scp = (name: string) =>
    `arn:aws:organizations::100000000001:policy/o-bench/service_control_policy/p-${name}`;
  const targets: Array<Record<string, unknown>> = [];
  const addScp = (name: string, document: unknown, on: string[]) => {
    policy(scp(name), 'scp', accounts[0]!, document);
    for (const t of on)
      targets.push({
        assessment_id: A,
        policy_id: scp(name),
        target_id: t,
        target_type: t.startsWith('r-')
          ? 'ROOT'
          : t.startsWith('ou-')
            ? 'ORGANIZATIONAL_UNIT'
            : 'ACCOUNT',
      });
  };
  const stmt = (
    effect: string,
    action: string[] | string,
    extra: Record<string, unknown> = {},
  ) => ({
    Effect: effect,
    Action: action,
    Resource: '*',
    ...extra,
  });
  const doc = (...statements: unknown[]) => ({ Version: '2012-10-17', Statement: statements });
  addScp('FullAWSAccess', doc(stmt('Allow', '*')), [root, ...ous, ...accounts]);
  addScp(
    'deny-leave',
    doc(stmt('Deny', ['organizations:LeaveOrganization', 'account:CloseAccount'])),
    [root],
  );
  addScp(
    'region-lock',
    doc(
      stmt('Deny', '*', {
        NotAction: ['iam:*', 'sts:*', 'organizations:*', 'support:*'],
        Action: undefined,
        Condition: { StringNotEquals: { 'aws:RequestedRegion': ['us-east-1', 'eu-west-1'] } },
      }),
    ),
    [ous[1]!],
  );
  addScp(
    'sandbox',
    doc(stmt('Allow', ['s3:*', 'ec2:*', 'lambda:*', 'logs:*', 'cloudwatch:*', 'dynamodb:*'])),
    [ous[2]!],
  );
  // Customer-managed policies: a few services each, some wildcards, some resource-scoped.
  const customer: string[] = [];
  for (let i = 0; i < 600; i++) {
    const account = pick(accounts);
    const id = `arn:aws:iam::${account}:policy/app-${i}`;
    const statements = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => {
      const service = pick(services);
      const r = rand();
      const action = r < 0.3 ? `${service}:*` : r < 0.6 ? `${service}:Get*` : pick(actions);
      return stmt(
        'Allow',
        [action, pick(actions)],
        rand() < 0.3 ? { Resource: `arn:aws:${service}:::app-${i}/*` } : {},
      );
    });
    if (rand() < 0.1) statements.push(stmt('Deny', pick(actions)));
    policy(id, 'customer-managed', account, doc(...statements));
    customer.push(id);
  }
  const boundaries = customer.slice(0, 20).map((id, i) => {
    const boundaryId = id.replace('/app-', '/boundary-');
    policy(
      boundaryId,
      'customer-managed',
      id.split(':')[4]!,
      doc(
        stmt('Allow', [
          's3:*',
          'ec2:*',
          'lambda:*',
          'sqs:*',
          'sns:*',
          'dynamodb:*',
          `${pick(services)}:*`,
        ]),
        stmt('Deny', `iam:${i % 2 ? 'Create*' : 'Put*'}`),
      ),
    );
    return boundaryId;
  });

  const makeTemplate = (): string[] => {
    const out = new Set<string>();
    const count = 1 + Math.floor(rand() * 3);
    for (let k = 0; k < count; k++) out.add((rand() < 0.8 ? pick(popular) : pick(managed)).arn);
    if (rand() < 0.5) out.add(pick(customer));
    return [...out];
  };
  const templates = Array.from({ length: 400 }, makeTemplate);
  const principals: Array<Record<string, unknown>> = [];
  const attachments: Array<Record<string, unknown>> = [];
  const usage: Array<Record<string, unknown>> = [];
  const groups = new Map<string, { arn: string; policies: string[] }[]>();
  for (const account of accounts) {
    groups.set(
      account,
      Array.from({ length: 10 }, (_, g) => ({
        arn: `arn:aws:iam::${account}:group/team-${g}`,
        policies: [pick(popular).arn, pick(customer)],
      })),
    );
  }
  const attached = new Set<string>();
  const attach = (principal: string, policyId: string, via: string, ref: string) => {
    const key = `${principal}|${policyId}|${via}|${ref}`;
    if (attached.has(key)) return;
    attached.add(key);
    attachments.push({
      assessment_id: A,
      principal_id: principal,
      policy_id: policyId,
      via,
      via_ref: ref,
      condition: null,
    });
  };
  const usedPool = popular.flatMap((m) =>
    getAwsCatalog()
      .expander.expand(`${m.name.includes('S3') ? 's3' : 'ec2'}:Describe*`)
      .slice(0, 5),
  );
  for (let n = 0; n < PRINCIPALS; n++) {
    const account = accounts[n % accounts.length]!;
    const isGroup = n % 40 === 0;
    const kind = isGroup ? 'group' : rand() < 0.7 ? 'role' : 'user';
    const id = isGroup
      ? groups.get(account)![(n / 40) % 10]!.arn
      : `arn:aws:iam::${account}:${kind}/p-${n}`;
    if (isGroup && principals.some((p) => p.principal_id === id)) continue;
    const boundary = !isGroup && rand() < 0.1 ? pick(boundaries) : null;
    const created = rand() < 0.05 ? day(Math.floor(rand() * 30)) : '2024-01-01';
    principals.push({
      assessment_id: A,
      principal_id: id,
      integration_id: I,
      account_id: account,
      cloud: 'aws',
      kind,
      name: id.split('/').pop(),
      path: '/',
      unique_id: null,
      identity_type: kind === 'role' ? 'machine' : 'human',
      created_at: `${created}T00:00:00Z`,
      last_used_at: null,
      last_used_source: null,
      tags: {},
      boundary_policy_id: boundary,
      trust_policy:
        kind === 'role'
          ? doc({
              Effect: 'Allow',
              Action: 'sts:AssumeRole',
              Principal: { AWS: `arn:aws:iam::${rand() < 0.02 ? '999999999999' : account}:root` },
            })
          : null,
      service_linked: false,
      console_access: null,
      mfa_enabled: null,
      owner: null,
      attributes: {},
    });
    if (isGroup) {
      for (const p of groups.get(account)!.find((g) => g.arn === id)!.policies)
        attach(id, p, 'direct', id);
      continue;
    }
    // Principals come from role templates (infrastructure as code, permission sets): a few
    // templates are very common. With --unique every principal gets its own combination.
    const template = UNIQUE
      ? makeTemplate()
      : templates[Math.floor(rand() ** 2 * templates.length)]!;
    for (const policyId of template) attach(id, policyId, 'direct', id);
    if (rand() < 0.2) {
      const inlineId = `${id}#inline/own`;
      policy(
        inlineId,
        'inline',
        account,
        doc(stmt('Allow', [pick(actions), pick(actions), `${pick(services)}:List*`])),
      );
      attach(id, inlineId, 'inline', id);
    }
    if (kind === 'user' && rand() < 0.5) {
      const g = pick(groups.get(account)!);
      for (const p of g.policies) attach(id, p, 'group', g.arn);
    }
    if (boundary) attach(id, boundary, 'boundary', id);
    // Activity: 70% of principals act, on a few actions over a few days.
    if (rand() < 0.7) {
      const seen = new Set<string>();
      const n = 3 + Math.floor(rand() * 25);
      for (let k = 0; k < n; k++) {
        const action = rand() < 0.5 ? pick(usedPool) : pick(actions);
        const d = day(Math.floor(rand() * DAYS));
        const key = `${action}|${d}`;
        if (seen.has(key)) continue;
        seen.add(key);
        usage.push({
          integration_id: I,
          principal_id: id,
          action,
          day: d,
          account_id: account,
          calls: 1 + Math.floor(rand() * 50),
          errors: 0,
          denied: rand() < 0.05 ? 1 : 0,
          first_seen: `${d}T08:00:00Z`,
          last_seen: `${d}T18:00:00Z`,
          source: 'cloudtrail-s3',
        });
      }
    }
  }
  const coverage = accounts.flatMap((account, i) =>
    Array.from({ length: DAYS }, (_, d) => ({
      integration_id: I,
      account_id: account,
      region: 'us-east-1',
      day: day(d),
      source: 'cloudtrail-s3',
      data_events: i % 2 === 0,
      records: 1000,
    })).filter((r) => !(i === 7 && r.day === day(20))),
  );
  await insertRows(db, 'principal', principals);
  await insertRows(db, 'policy', policies);
  await insertRows(db, 'policy_target', targets);
  await insertRows(db, 'principal_policy', attachments);
  await insertRows(db, 'usage_daily', usage);
  await insertRows(db, 'log_coverage', coverage);
  process.stdout.write(
    `synthetic organization: ${principals.length} principals, ${policies.length} policies, ${attachments.length} attachments, ${usage.length} usage rows\n`,
  );
}

async function timeScoring(db: Db, assessmentId: string): Promise<void> {
  const logger = createLogger({ quiet: true });
  const config = parseConfig({ integrations: [{ id: I, kind: 'import', directory: '.' }] });
  for (const run of ['first', 'second']) {
    const summary = await scoreAssessment(db, assessmentId, { config, logger });
    const steps = Object.entries(summary.timings)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(2)}s`)
      .join(', ');
    process.stdout.write(
      `scoring (${run} run): ${summary.principals} principals, ${summary.fingerprints} fingerprints, ${summary.effectiveRows} effective rows in ${(summary.durationMs / 1000).toFixed(2)} s (goal < 15 s); load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n  ${steps}\n`,
    );
  }
  const tiers = await db.all<{ tier: string; n: number }>(
    'SELECT tier, count(*) AS n FROM principal_score WHERE assessment_id = $a GROUP BY tier ORDER BY tier',
    { a: assessmentId },
  );
  const statuses = await db.all<{ status: string; n: number }>(
    'SELECT status, count(*) AS n FROM principal_score WHERE assessment_id = $a GROUP BY status ORDER BY status',
    { a: assessmentId },
  );
  process.stdout.write(
    `tiers: ${tiers.map((t) => `${t.tier} ${t.n}`).join(', ')}; statuses: ${statuses.map((s) => `${s.status} ${s.n}`).join(', ')}\n`,
  );
}

async function scoreWorld(world: string): Promise<void> {
  const path = resolve(option('--db') ?? `${resolve(world).replace(/\/+$/, '')}.duckdb`);
  if (!existsSync(path))
    throw new Error(
      `no database ${path}: ingest the world first (npm run bench -- ingest --world ${world})`,
    );
  const db = await Db.open(path);
  try {
    const latest = await db.one<{
      assessment_id: string;
      window_start: string;
      window_end: string;
    }>(
      `SELECT assessment_id, window_start::VARCHAR AS window_start, window_end::VARCHAR AS window_end
       FROM assessment WHERE status IN ('succeeded', 'partial') ORDER BY started_at DESC LIMIT 1`,
    );
    if (!latest) throw new Error(`${path} holds no finished assessment to score`);
    const counts = await db.one<{ principals: number; policies: number; usage: number }>(
      `SELECT (SELECT count(*) FROM principal WHERE assessment_id = $a) AS principals,
              (SELECT count(*) FROM policy WHERE assessment_id = $a) AS policies,
              (SELECT count(*) FROM usage_daily) AS usage`,
      { a: latest.assessment_id },
    );
    process.stdout.write(
      `world database ${path}: assessment ${latest.assessment_id} (${latest.window_start}..${latest.window_end}), ${counts?.principals} principals, ${counts?.policies} policies, ${counts?.usage} usage_daily rows\n`,
    );
    await ensureCatalog(db, createLogger({ quiet: true }));
    await timeScoring(db, latest.assessment_id);
  } finally {
    db.closeAll();
  }
}

const WORLD = option('--world');
if (WORLD !== undefined) {
  await scoreWorld(WORLD);
} else {
  const db = await Db.open(DB_PATH);
  try {
    await ensureCatalog(db, createLogger({ quiet: true }));
    const existing = await db.scalar<number>(
      'SELECT count(*) FROM principal WHERE assessment_id = $a',
      { a: A },
    );
    if (!existing) await build(db);
    await timeScoring(db, A);
  } finally {
    db.closeAll();
  }
}
