import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Widget } from '../../api/widgets.ts';
import { buildTestApp, enc, type TestApp } from './helpers.ts';
import { CURRENT, FORMULA_ID, GCP_SPECS, IGNORED_ID, QUOTED_ID, seedWorld } from './world.ts';

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp({ seed: async (db) => void (await seedWorld(db)) });
});

afterAll(async () => {
  await t.close();
});

async function dormantCount(): Promise<number> {
  const r = await t.call('analyst', 'GET', '/api/v1/widgets?integrationId=prod');
  return (JSON.parse(r.body) as { widgets: Widget[] }).widgets.find(
    (w) => w.id === 'dormant-principals',
  )!.count;
}

async function recommendationStates(principalId: string) {
  return t.db.all(
    'SELECT recommendation_id, state, state_reason, rank FROM recommendation WHERE assessment_id = $a AND principal_id = $p ORDER BY 1',
    { a: CURRENT, p: principalId },
  );
}

describe('ignore and unignore', () => {
  it('ignores a principal: shown as ignored, left out of widgets, its open recommendations set aside, then restored', async () => {
    const before = await dormantCount();
    const created = await t.call(
      'analyst',
      'POST',
      `/api/v1/principals/${enc(FORMULA_ID)}/ignore`,
      {
        reason: 'owned by the red team exercise',
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      },
    );
    expect(created.statusCode, created.body).toBe(201);
    const rule = JSON.parse(created.body);
    expect(rule).toMatchObject({
      principalId: FORMULA_ID,
      integrationId: null,
      reason: 'owned by the red team exercise',
      createdBy: expect.stringContaining('analyst-token'),
      active: true,
    });
    const listed = await t.call(
      'analyst',
      'GET',
      `/api/v1/principals?filter=${enc(`arn = "${FORMULA_ID}" and ignored = true`)}`,
    );
    expect(JSON.parse(listed.body).total).toBe(1);
    expect(await dormantCount()).toBe(before - 1);
    expect(await recommendationStates(FORMULA_ID)).toEqual([
      {
        recommendation_id: 'rec-6',
        state: 'ignored',
        state_reason: `ignore ${rule.ignoreId}: owned by the red team exercise`,
        rank: 0,
      },
    ]);
    const audit = await t.db.one(
      "SELECT * FROM audit_log WHERE action = 'ignore.create' ORDER BY audit_id DESC LIMIT 1",
    );
    expect(audit).toMatchObject({ target: FORMULA_ID, outcome: 'success', role: 'analyst' });
    expect(JSON.parse(String(audit!.details))).toMatchObject({
      ignoreId: rule.ignoreId,
      reason: 'owned by the red team exercise',
    });

    const again = await t.call('admin', 'POST', `/api/v1/principals/${enc(FORMULA_ID)}/ignore`, {
      reason: 'twice',
    });
    expect(again.statusCode).toBe(409);

    const removed = await t.call(
      'analyst',
      'DELETE',
      `/api/v1/principals/${enc(FORMULA_ID)}/ignore`,
    );
    expect(removed.statusCode, removed.body).toBe(200);
    expect(JSON.parse(removed.body).removed).toMatchObject([
      { ignoreId: rule.ignoreId, active: false },
    ]);
    expect(await dormantCount()).toBe(before);
    expect(await recommendationStates(FORMULA_ID)).toEqual([
      { recommendation_id: 'rec-6', state: 'open', state_reason: null, rank: 1 },
    ]);
    const history = await t.call(
      'auditor',
      'GET',
      `/api/v1/ignores?principalId=${enc(FORMULA_ID)}`,
    );
    const items = JSON.parse(history.body).items as Array<{
      ignoreId: string;
      active: boolean;
      removedBy: string;
    }>;
    expect(items.map((i) => i.ignoreId)).toContain(rule.ignoreId);
    expect(items.find((i) => i.ignoreId === rule.ignoreId)!.removedBy).toContain('analyst-token');
    expect(items.find((i) => i.ignoreId === 'ign-expired')!.active).toBe(false);
  });

  it('limits an ignore to one integration', async () => {
    const r = await t.call('admin', 'POST', `/api/v1/principals/${enc(QUOTED_ID)}/ignore`, {
      reason: 'gcp side is a test project',
      integrationId: 'gcp',
    });
    expect(r.statusCode, r.body).toBe(201);
    const gcp = await t.call(
      'admin',
      'GET',
      `/api/v1/principals/${enc(QUOTED_ID)}?integrationId=gcp`,
    );
    expect(JSON.parse(gcp.body).ignored).toMatchObject({ reason: 'gcp side is a test project' });
    const prod = await t.call(
      'admin',
      'GET',
      `/api/v1/principals/${enc(QUOTED_ID)}?integrationId=prod`,
    );
    expect(JSON.parse(prod.body).ignored).toBeNull();
    expect((await recommendationStates(QUOTED_ID)).filter((r) => r.state === 'ignored')).toEqual(
      [],
    );
  });

  it('does not apply a rule of another integration', async () => {
    const r = await t.call('admin', 'GET', `/api/v1/principals/${enc(GCP_SPECS[0]!.id)}`);
    expect(JSON.parse(r.body).ignored).toBeNull();
  });

  it('refuses bad requests with a clear status', async () => {
    const url = `/api/v1/principals/${enc(IGNORED_ID)}/ignore`;
    const cases: Array<[unknown, number, string]> = [
      [{}, 400, 'invalid-request'],
      [{ reason: 'ok reason', extra: 1 }, 400, 'invalid-request'],
      [{ reason: 'no' }, 400, 'invalid-request'],
      [{ reason: 'past expiry', expiresAt: '2001-01-01T00:00:00Z' }, 400, 'invalid-request'],
      [{ reason: 'not a date', expiresAt: 'tomorrow' }, 400, 'invalid-request'],
      [{ reason: 'already ignored' }, 409, 'already-ignored'],
      ['{"reason": ', 400, 'bad-request'],
    ];
    for (const [body, code, error] of cases) {
      const r = await t.call('analyst', 'POST', url, body);
      expect(r.statusCode, JSON.stringify(body)).toBe(code);
      expect(JSON.parse(r.body).error, JSON.stringify(body)).toBe(error);
    }
    const unknown = await t.call(
      'analyst',
      'POST',
      `/api/v1/principals/${enc('arn:aws:iam::1:role/x')}/ignore`,
      {
        reason: 'does not exist',
      },
    );
    expect(unknown.statusCode).toBe(404);
    const wrongIntegration = await t.call(
      'analyst',
      'POST',
      `/api/v1/principals/${enc(FORMULA_ID)}/ignore`,
      {
        reason: 'not there',
        integrationId: 'gcp',
      },
    );
    expect(wrongIntegration.statusCode).toBe(404);
    const notIgnored = await t.call(
      'analyst',
      'DELETE',
      `/api/v1/principals/${enc(FORMULA_ID)}/ignore`,
    );
    expect(notIgnored.statusCode).toBe(404);
    expect(JSON.parse(notIgnored.body).error).toBe('not-ignored');
    const failures = await t.db.scalar<number>(
      "SELECT count(*) FROM audit_log WHERE action LIKE 'ignore.%' AND outcome = 'failed'",
    );
    expect(failures).toBeGreaterThanOrEqual(cases.length);
  });
});
