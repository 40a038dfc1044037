import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SORT_NAMES, toListItem } from '../../api/principals.ts';
import { principalItem } from '../../api/routes/principals.ts';
import { buildTestApp, enc, type TestApp } from './helpers.ts';
import {
  CURRENT,
  FORMULA_ID,
  GCP_CURRENT,
  IGNORED_ID,
  QUOTED_ID,
  RUNNING,
  seedWorld,
} from './world.ts';

interface Item {
  principalId: string;
  name: string;
  assessmentId: string;
  integrationId: string;
  riskScore: number;
  ignored: boolean;
  tags: Record<string, string>;
  account: { id: string; name: string | null };
  [key: string]: unknown;
}
interface Page {
  total: number;
  items: Item[];
  scope: Array<{ assessmentId: string }>;
}

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp({ seed: async (db) => void (await seedWorld(db)) });
});

afterAll(async () => {
  await t.close();
});

async function get<T>(url: string, role: 'admin' | 'analyst' | 'auditor' = 'analyst'): Promise<T> {
  const response = await t.call(role, 'GET', url);
  expect(response.statusCode, response.body).toBe(200);
  return JSON.parse(response.body) as T;
}

async function status(url: string): Promise<{ statusCode: number; body: Record<string, unknown> }> {
  const response = await t.call('analyst', 'GET', url);
  return { statusCode: response.statusCode, body: JSON.parse(response.body) };
}

describe('current data', () => {
  it('reads the latest finished assessment of each integration, never a running or failed one', async () => {
    const page = await get<Page>('/api/v1/principals?limit=500');
    expect(page.scope.map((s) => s.assessmentId).sort()).toEqual([CURRENT, GCP_CURRENT].sort());
    expect(page.total).toBe(66);
    expect(
      page.items.every((i) => i.assessmentId !== RUNNING && !i.name.startsWith('half-written')),
    ).toBe(true);
  });

  it('narrows to one integration or one assessment', async () => {
    const gcp = await get<Page>('/api/v1/principals?integrationId=gcp');
    expect(gcp.total).toBe(2);
    const old = await get<Page>('/api/v1/assessments/prod-d3/principals');
    expect(old.total).toBe(12);
    expect(old.items.every((i) => i.assessmentId === 'prod-d3')).toBe(true);
  });

  it('refuses a running assessment (409), unknown ids (404) and mismatched scope (400)', async () => {
    expect((await status(`/api/v1/assessments/${RUNNING}/principals`)).statusCode).toBe(409);
    const missing = await status('/api/v1/assessments/nope/principals');
    expect(missing.statusCode).toBe(404);
    expect(missing.body.message).toBe('assessment "nope" does not exist');
    expect((await status('/api/v1/principals?integrationId=nope')).statusCode).toBe(404);
    expect(
      (await status(`/api/v1/principals?integrationId=gcp&assessmentId=${CURRENT}`)).statusCode,
    ).toBe(400);
  });
});

describe('principals list', () => {
  it('shows every column the list needs', async () => {
    const page = await get<Page>(
      `/api/v1/principals?integrationId=prod&filter=${enc('principal = "ignored-breakglass"')}`,
    );
    expect(page.total).toBe(1);
    expect(page.items[0]).toMatchObject({
      principalId: IGNORED_ID,
      name: 'ignored-breakglass',
      type: 'role',
      cloud: 'aws',
      integrationId: 'prod',
      account: { id: '222222222222', name: 'prod-data' },
      status: 'dormant',
      tier: 'Critical',
      riskScore: 99,
      overprivilegePct: 99,
      highRiskOverprivilegePct: 99,
      owner: 'team-b',
      ignored: true,
      tags: { 'break-glass': 'true' },
      unusedLevels: ['ADMIN'],
    });
    expect(typeof page.items[0]!.lastUsedAt).toBe('string');
  });

  it('sends each item exactly as its row reads, with every field of the response schema', async () => {
    const page = await get<Page>('/api/v1/principals?limit=500&sort=arn&order=asc');
    expect(page.items).toHaveLength(66);
    const rows = await t.db.all(
      `SELECT * FROM principal_list WHERE assessment_id IN ($a, $b) ORDER BY principal_id ASC, row_no ASC`,
      { a: CURRENT, b: GCP_CURRENT },
    );
    expect(page.items).toEqual(rows.map(toListItem));
    const fields = Object.keys(principalItem.properties).sort();
    for (const item of page.items) expect(Object.keys(item).sort()).toEqual(fields);
    expect(page.items.some((i) => i.ignored)).toBe(true);
    expect(page.items.some((i) => i.name === 'Admin"Quoted\\Role')).toBe(true);
  });

  it('pages through everything exactly once with a stable order and a constant total', async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < 70; offset += 9) {
      const page = await get<Page>(
        `/api/v1/principals?limit=9&offset=${offset}&sort=tier&order=desc`,
      );
      expect(page.total).toBe(66);
      seen.push(...page.items.map((i) => `${i.assessmentId} ${i.principalId}`));
    }
    expect(seen).toHaveLength(66);
    expect(new Set(seen).size).toBe(66);
    const beyond = await get<Page>('/api/v1/principals?limit=9&offset=600&filter=risk%20%3E%2050');
    expect(beyond.items).toEqual([]);
    expect(beyond.total).toBe(
      (await get<Page>('/api/v1/principals?limit=1&filter=risk%20%3E%2050')).total,
    );
  });

  it.each(SORT_NAMES)('sorts by %s both ways, missing values last', async (sort) => {
    const key: Record<string, (i: Item) => unknown> = {
      principal: (i) => i.name,
      arn: (i) => i.principalId,
      account: (i) => i.account.id,
      account_name: (i) => i.account.name,
      integration: (i) => i.integrationId,
      type: (i) => i.type,
      status: (i) => i.status,
      tier: (i) => ['Low', 'Medium', 'High', 'Critical'].indexOf(String(i.tier)),
      risk: (i) => i.riskScore,
      overprivilege: (i) => i.overprivilegePct,
      high_risk_overprivilege: (i) => i.highRiskOverprivilegePct,
      last_used: (i) => i.lastUsedAt,
      created: (i) => i.createdAt,
      cloud: (i) => i.cloud,
      owner: (i) => i.owner,
    };
    for (const order of ['asc', 'desc']) {
      const page = await get<Page>(`/api/v1/principals?limit=500&sort=${sort}&order=${order}`);
      const values = page.items.map(key[sort]!);
      const present = values.filter((v) => v !== null);
      const firstNull = values.indexOf(null);
      if (firstNull >= 0) expect(values.slice(firstNull).every((v) => v === null)).toBe(true);
      for (let i = 1; i < present.length; i++) {
        const [a, b] = [present[i - 1] as string | number, present[i] as string | number];
        if (order === 'asc') expect(a <= b, `${sort} ${a} ${b}`).toBe(true);
        else expect(a >= b, `${sort} ${a} ${b}`).toBe(true);
      }
    }
  });

  it('validates paging and sorting parameters', async () => {
    for (const q of [
      'limit=501',
      'limit=0',
      'offset=-1',
      'sort=password',
      'order=sideways',
      'bogus=1',
    ]) {
      const r = await status(`/api/v1/principals?${q}`);
      expect(r.statusCode, q).toBe(400);
      expect(r.body.error).toBe('invalid-request');
    }
  });
});

describe('principal details', () => {
  const P = `/api/v1/principals/${enc(QUOTED_ID)}`;

  it('asks which integration when the same id lives in two (409)', async () => {
    const r = await status(P);
    expect(r.statusCode).toBe(409);
    expect(r.body.error).toBe('ambiguous-principal');
  });

  it('returns account, risk with breakdown, ARN, identities, last use, overprivilege and the top 3 open recommendations', async () => {
    const d = await get<Record<string, unknown>>(`${P}?integrationId=prod`);
    expect(d).toMatchObject({
      principalId: QUOTED_ID,
      arn: QUOTED_ID,
      name: 'Admin"Quoted\\Role',
      account: { id: '111111111111', name: 'prod-main', riskLevel: 'high' },
      risk: { score: 97, breakdown: [{ component: 'unused-admin', points: 97, reason: 'test' }] },
      identities: { human: 2, machine: 1 },
      overprivilege: { pct: 91.5, highRiskPct: 88, unusedLevels: ['IAM', 'ADMIN'] },
      tier: 'Critical',
      ignored: null,
      recommendations: { counts: { open: 4, applied: 1 } },
    });
    const top = (d.recommendations as { top: Array<{ recommendationId: string }> }).top;
    expect(top.map((r) => r.recommendationId)).toEqual(['rec-2', 'rec-1', 'rec-3']);
    expect(typeof (d.lastUsed as { at: string }).at).toBe('string');
  });

  it('says why the logs cannot show all of a principal’s use, and null when they can', async () => {
    const gap = await get<{ overprivilege: { evidenceGap: string | null } }>(
      `/api/v1/principals/${enc(IGNORED_ID)}`,
    );
    expect(gap.overprivilege.evidenceGap).toBe(
      'used in ap-southeast-2, where the trail does not log',
    );
    const covered = await get<{ overprivilege: { evidenceGap: string | null } }>(
      `${P}?integrationId=prod`,
    );
    expect(covered.overprivilege.evidenceGap).toBeNull();
  });

  it('shows the ignore rule in force', async () => {
    const d = await get<{ ignored: { ignoreId: string; reason: string } }>(
      `/api/v1/principals/${enc(IGNORED_ID)}`,
    );
    expect(d.ignored).toMatchObject({
      ignoreId: 'ign-active',
      reason: 'break-glass role, reviewed quarterly',
    });
    const expired = await get<{ ignored: unknown }>(`/api/v1/principals/${enc(FORMULA_ID)}`);
    expect(expired.ignored).toBeNull();
  });

  it('answers 404 with the id for an unknown principal', async () => {
    const r = await status(`/api/v1/principals/${enc('arn:aws:iam::999999999999:role/nobody')}`);
    expect(r.statusCode).toBe(404);
    expect(r.body.message).toContain('arn:aws:iam::999999999999:role/nobody');
  });

  it('lists all recommendations on request, with options and remediations', async () => {
    const open = await get<{ items: unknown[] }>(
      `${P}/recommendations?integrationId=prod&state=open`,
    );
    expect(open.items).toHaveLength(4);
    const all = await get<{
      items: Array<{ recommendationId: string; remediations: unknown[]; options: unknown[] }>;
    }>(`${P}/recommendations?integrationId=prod`);
    expect(all.items).toHaveLength(5);
    expect(all.items.find((r) => r.recommendationId === 'rec-5')!.remediations).toHaveLength(2);
    expect(all.items[0]!.options).toHaveLength(2);
  });

  it('used by: identities in the window with their kind and last 5 logins', async () => {
    const u = await get<{
      counts: { human: number; machine: number; total: number };
      identities: Array<{
        identity: string;
        kind: string;
        calls: number;
        lastSourceIp: string;
        logins: Array<{ at: string; userAgent: string }>;
      }>;
    }>(`${P}/used-by?integrationId=prod`);
    expect(u.counts).toEqual({ human: 2, machine: 1, total: 4 });
    const names = u.identities.map((i) => i.identity);
    expect(names).toEqual(['i-0abc', 'alice@example.com', 'bob@example.com', 'carol@example.com']);
    expect(names).not.toContain('too-old');
    const alice = u.identities.find((i) => i.identity === 'alice@example.com')!;
    expect(alice).toMatchObject({ kind: 'human', calls: 15, lastSourceIp: '203.0.113.8' });
    expect(alice.logins.map((l) => l.userAgent)).toEqual([
      'agent-1',
      'agent-2',
      'agent-3',
      'agent-4',
      'agent-5',
    ]);
    const carol = u.identities.find((i) => i.identity === 'carol@example.com')!;
    expect(carol.logins).toHaveLength(1);
    const paged = await get<{ identities: unknown[]; total: number }>(
      `${P}/used-by?integrationId=prod&limit=1&offset=1`,
    );
    expect(paged.total).toBe(4);
    expect(paged.identities).toHaveLength(1);
  });

  it('used for: attached policies with used and unused per level and the policy JSON', async () => {
    const u = await get<{
      usageAvailable: boolean;
      policies: Array<{
        policyId: string;
        attachments: Array<{ via: string }>;
        levels: Record<string, { granted: number; unused: number }> | null;
        totals: { granted: number; used: number; unused: number; unobservable: number };
        document: { Statement: Array<{ Action: string }> };
      }>;
    }>(`${P}/used-for?integrationId=prod`);
    expect(u.usageAvailable).toBe(true);
    const admin = u.policies.find(
      (p) => p.policyId === 'arn:aws:iam::aws:policy/AdministratorAccess',
    )!;
    expect(admin.attachments.map((a) => a.via).sort()).toEqual(['direct', 'group']);
    expect(Object.keys(admin.levels!)).toEqual(['READ', 'ADMIN']);
    expect(admin.levels!.ADMIN).toEqual({ granted: 40, used: 1, unused: 39, unobservable: 0 });
    expect(admin.totals).toEqual({ granted: 3040, used: 121, unused: 2839, unobservable: 80 });
    expect(admin.document.Statement[0]!.Action).toBe('*');
    const none = await get<{ usageAvailable: boolean; policies: unknown[] }>(
      `/api/v1/principals/${enc(IGNORED_ID)}/used-for`,
    );
    expect(none).toMatchObject({ usageAvailable: false, policies: [] });
  });
});

describe('integrations and assessments', () => {
  it('lists integrations with current and last assessments', async () => {
    const { items } = await get<{ items: Array<Record<string, unknown>> }>('/api/v1/integrations');
    const prod = items.find((i) => i.integrationId === 'prod')!;
    expect(prod).toMatchObject({
      name: 'Production',
      configured: true,
      running: false,
      currentAssessment: { assessmentId: CURRENT },
      lastAssessment: { assessmentId: RUNNING, status: 'running' },
    });
    expect((await status('/api/v1/integrations/nope')).statusCode).toBe(404);
  });

  it('shows an assessment with its counts and errors per account', async () => {
    const a = await get<Record<string, unknown>>(`/api/v1/assessments/${CURRENT}`);
    expect(a).toMatchObject({
      assessmentId: CURRENT,
      integrationId: 'prod',
      status: 'succeeded',
      current: true,
      accountCount: 3,
      principalCount: 64,
      errorCount: 2,
    });
    const accounts = a.accounts as Array<Record<string, unknown>>;
    expect(accounts.find((x) => x.accountId === '333333333333')).toMatchObject({
      inventoryStatus: 'failed',
      inventoryError: 'AccessDenied on sts:AssumeRole',
      errors: [{ service: 'sts', call: 'AssumeRole', message: 'AccessDenied' }],
    });
    expect((a.errors as unknown[]).length).toBe(2);
  });

  it('lists assessments newest first, filtered by integration and status', async () => {
    const all = await get<{
      total: number;
      items: Array<{ assessmentId: string; current: boolean }>;
    }>('/api/v1/assessments?integrationId=prod');
    expect(all.total).toBe(10);
    expect(all.items[0]!.assessmentId).toBe(RUNNING);
    expect(all.items.filter((i) => i.current).map((i) => i.assessmentId)).toEqual([CURRENT]);
    const failed = await get<{ total: number }>('/api/v1/assessments?status=failed');
    expect(failed.total).toBe(1);
  });
});
