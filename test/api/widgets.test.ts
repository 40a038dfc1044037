import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Widget } from '../../api/widgets.ts';
import { buildTestApp, type TestApp } from './helpers.ts';
import { IGNORED_ID, seedWorld } from './world.ts';

interface ListItem {
  principalId: string;
  overprivilegePct: number | null;
  highRiskOverprivilegePct: number | null;
  ignored: boolean;
}

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp({ seed: async (db) => void (await seedWorld(db)) });
});

afterAll(async () => {
  await t.close();
});

async function get<T>(url: string): Promise<T> {
  const response = await t.call('auditor', 'GET', url);
  expect(response.statusCode, response.body).toBe(200);
  return JSON.parse(response.body) as T;
}

async function principals(
  filter: string,
  scope = '',
): Promise<{ total: number; items: ListItem[] }> {
  return get(`/api/v1/principals?limit=500&filter=${encodeURIComponent(filter)}${scope}`);
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

describe.each([
  ['current view', '/api/v1/widgets', ''],
  ['one integration', '/api/v1/widgets?integrationId=prod', '&integrationId=prod'],
  ['a past assessment', '/api/v1/assessments/prod-d3/widgets', '&assessmentId=prod-d3'],
])('widgets, %s', (_name, url, scope) => {
  it("each widget's filter gives exactly its principals in the principals list", async () => {
    const { widgets } = await get<{ widgets: Widget[] }>(url);
    expect(widgets.map((w) => w.id)).toEqual([
      'overprivilege',
      'overprivilege-trend',
      'dormant-principals',
      'high-risk-overprivileged-principals',
      'principals-by-type',
      'principals-by-tier',
    ]);
    for (const w of widgets) {
      const list = await principals(w.filter, scope);
      expect(list.total, `${w.id}: ${w.filter}`).toBe(w.count);
      expect(list.items.every((i) => !i.ignored)).toBe(true);
      for (const b of w.buckets ?? []) {
        expect((await principals(b.filter, scope)).total, `${w.id} ${b.key}`).toBe(b.count);
      }
      if (w.buckets) expect(w.buckets.reduce((s, b) => s + b.count, 0)).toBe(w.count);
    }
    const byId = Object.fromEntries(widgets.map((w) => [w.id, w]));
    const op = await principals(byId.overprivilege!.filter, scope);
    expect(byId.overprivilege!.value).toBeCloseTo(
      mean(op.items.map((i) => i.overprivilegePct!))!,
      9,
    );
    expect(byId['dormant-principals']!.value).toBe(byId['dormant-principals']!.count);
    expect(byId['high-risk-overprivileged-principals']!.value).toBe(
      byId['high-risk-overprivileged-principals']!.count,
    );
  });
});

describe('widgets and ignores', () => {
  it('leave ignored principals out of every figure', async () => {
    const { widgets } = await get<{ widgets: Widget[] }>('/api/v1/widgets?integrationId=prod');
    const tiers = widgets.find((w) => w.id === 'principals-by-tier')!;
    const all = await principals('', '&integrationId=prod');
    expect(all.total).toBe(64);
    expect(tiers.count).toBe(63);
    expect(
      (await principals(tiers.filter, '&integrationId=prod')).items.map((i) => i.principalId),
    ).not.toContain(IGNORED_ID);
    expect(tiers.buckets!.map((b) => b.key)).toEqual(['Critical', 'High', 'Medium', 'Low']);
  });
});

describe('overprivilege trend', () => {
  it('has one point per UTC day for 7 days, from the last finished assessment of each day', async () => {
    const { widgets } = await get<{ widgets: Widget[] }>('/api/v1/widgets?integrationId=prod');
    const points = widgets.find((w) => w.id === 'overprivilege-trend')!.points!;
    expect(points).toHaveLength(7);
    // Expected values computed here from the stored rows, by UTC day of started_at.
    const finished = await t.db.all(
      `SELECT assessment_id, CAST(CAST(started_at AS DATE) AS VARCHAR) AS day, started_at FROM assessment
       WHERE integration_id = 'prod' AND status IN ('succeeded', 'partial') ORDER BY started_at`,
    );
    const lastOfDay = new Map<string, string>();
    for (const a of finished) lastOfDay.set(String(a.day), String(a.assessment_id));
    const today = new Date().toISOString().slice(0, 10);
    expect(points.at(-1)!.day).toBe(today);
    for (const p of points) {
      const id = lastOfDay.get(p.day);
      expect(p.assessmentIds, p.day).toEqual(id ? [id] : []);
      if (!id) {
        expect(p).toMatchObject({ all: null, privileged: null, principals: 0 });
        continue;
      }
      const scores = await t.db.all(
        'SELECT principal_id, overprivilege_pct AS op, high_risk_overprivilege_pct AS hr FROM principal_score WHERE assessment_id = $id',
        { id },
      );
      const kept = scores.filter((s) => s.principal_id !== IGNORED_ID);
      const ops = kept.map((s) => s.op).filter((v) => v !== null) as number[];
      const hrs = kept.map((s) => s.hr).filter((v) => v !== null) as number[];
      expect(p.all!).toBeCloseTo(mean(ops)!, 9);
      expect(p.privileged!).toBeCloseTo(mean(hrs)!, 9);
      expect(p.principals).toBe(ops.length);
      expect(p.privilegedPrincipals).toBe(hrs.length);
    }
    expect(points.some((p) => p.assessmentIds.includes('prod-d2-early'))).toBe(false);
    expect(points.filter((p) => p.assessmentIds.length === 0).length).toBeGreaterThan(0);
  });

  it("of a past assessment ends on that assessment's day", async () => {
    const { widgets } = await get<{ widgets: Widget[] }>('/api/v1/assessments/prod-d3/widgets');
    const points = widgets.find((w) => w.id === 'overprivilege-trend')!.points!;
    const day = String(
      await t.db.scalar(
        "SELECT CAST(CAST(started_at AS DATE) AS VARCHAR) FROM assessment WHERE assessment_id = 'prod-d3'",
      ),
    );
    expect(points.at(-1)!.day).toBe(day);
    expect(points.at(-1)!.assessmentIds).toEqual(['prod-d3']);
  });
});
