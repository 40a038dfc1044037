import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, type Role } from '../../api/auth/tokens.ts';
import { buildTestApp, enc, type TestApp } from './helpers.ts';
import { FORMULA_ID, IGNORED_ID, QUOTED_ID, seedWorld } from './world.ts';

interface Case {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  /** OpenAPI path the case covers. */
  route: string;
  body?: unknown;
  allowed: Role[];
  audit?: string;
}

const ALL: Role[] = ['admin', 'analyst', 'auditor'];
const P = enc(QUOTED_ID);

const CASES: Case[] = [
  { method: 'GET', url: '/api/v1/me', route: '/api/v1/me', allowed: ALL },
  { method: 'GET', url: '/api/v1/integrations', route: '/api/v1/integrations', allowed: ALL },
  {
    method: 'GET',
    url: '/api/v1/integrations/prod',
    route: '/api/v1/integrations/{integrationId}',
    allowed: ALL,
  },
  { method: 'GET', url: '/api/v1/assessments', route: '/api/v1/assessments', allowed: ALL },
  {
    method: 'GET',
    url: '/api/v1/assessments/prod-current',
    route: '/api/v1/assessments/{assessmentId}',
    allowed: ALL,
  },
  {
    method: 'GET',
    url: '/api/v1/assessments/prod-current/principals',
    route: '/api/v1/assessments/{assessmentId}/principals',
    allowed: ALL,
  },
  {
    method: 'GET',
    url: '/api/v1/assessments/prod-current/widgets',
    route: '/api/v1/assessments/{assessmentId}/widgets',
    allowed: ALL,
  },
  {
    method: 'GET',
    url: '/api/v1/principals?filter=risk%20%3E%2050',
    route: '/api/v1/principals',
    allowed: ALL,
  },
  { method: 'GET', url: '/api/v1/widgets', route: '/api/v1/widgets', allowed: ALL },
  {
    method: 'GET',
    url: `/api/v1/principals/${P}?integrationId=prod`,
    route: '/api/v1/principals/{principalId}',
    allowed: ALL,
  },
  {
    method: 'GET',
    url: `/api/v1/principals/${P}/recommendations?integrationId=prod`,
    route: '/api/v1/principals/{principalId}/recommendations',
    allowed: ALL,
  },
  {
    method: 'GET',
    url: `/api/v1/principals/${P}/used-by?integrationId=prod`,
    route: '/api/v1/principals/{principalId}/used-by',
    allowed: ALL,
  },
  {
    method: 'GET',
    url: `/api/v1/principals/${P}/used-for?integrationId=prod`,
    route: '/api/v1/principals/{principalId}/used-for',
    allowed: ALL,
  },
  { method: 'GET', url: '/api/v1/ignores', route: '/api/v1/ignores', allowed: ALL },
  { method: 'GET', url: '/api/v1/remediations', route: '/api/v1/remediations', allowed: ALL },
  {
    method: 'GET',
    url: '/api/v1/remediations/rem-1',
    route: '/api/v1/remediations/{remediationId}',
    allowed: ALL,
  },
  {
    method: 'GET',
    url: '/api/v1/audit-log',
    route: '/api/v1/audit-log',
    allowed: ['admin', 'auditor'],
  },
  { method: 'GET', url: '/api/v1/tokens', route: '/api/v1/tokens', allowed: ['admin'] },
  {
    method: 'POST',
    url: '/api/v1/tokens',
    route: '/api/v1/tokens',
    body: { name: 'ci', role: 'auditor' },
    allowed: ['admin'],
    audit: 'token.create',
  },
  {
    method: 'DELETE',
    url: '/api/v1/tokens/tok_0000000000000000',
    route: '/api/v1/tokens/{tokenId}',
    allowed: ['admin'],
    audit: 'token.revoke',
  },
  {
    method: 'POST',
    url: '/api/v1/assessments',
    route: '/api/v1/assessments',
    body: { integrationId: 'prod' },
    allowed: ['admin'],
    audit: 'assessment.run',
  },
  {
    method: 'POST',
    url: `/api/v1/principals/${enc(FORMULA_ID)}/ignore`,
    route: '/api/v1/principals/{principalId}/ignore',
    body: { reason: 'reviewed by the test' },
    allowed: ['admin', 'analyst'],
    audit: 'ignore.create',
  },
  {
    method: 'DELETE',
    url: `/api/v1/principals/${enc(IGNORED_ID)}/ignore`,
    route: '/api/v1/principals/{principalId}/ignore',
    allowed: ['admin', 'analyst'],
    audit: 'ignore.remove',
  },
  {
    method: 'POST',
    url: '/api/v1/recommendations/rec-1/preview',
    route: '/api/v1/recommendations/{recommendationId}/preview',
    body: { option: 'quarantine' },
    allowed: ['admin'],
    audit: 'remediation.preview',
  },
  {
    method: 'POST',
    url: '/api/v1/recommendations/rec-1/apply',
    route: '/api/v1/recommendations/{recommendationId}/apply',
    body: { option: 'quarantine' },
    allowed: ['admin'],
    audit: 'remediation.apply',
  },
  {
    method: 'POST',
    url: '/api/v1/remediations/rem-1/rollback',
    route: '/api/v1/remediations/{remediationId}/rollback',
    allowed: ['admin'],
    audit: 'remediation.rollback',
  },
  {
    method: 'GET',
    url: '/api/v1/assessments/prod-current/report?format=csv',
    route: '/api/v1/assessments/{assessmentId}/report',
    allowed: ['admin', 'auditor'],
    audit: 'report.export',
  },
  {
    method: 'GET',
    url: '/api/v1/integrations/prod/report?format=json',
    route: '/api/v1/integrations/{integrationId}/report',
    allowed: ['admin', 'auditor'],
    audit: 'report.export',
  },
];

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp({ seed: async (db) => void (await seedWorld(db)) });
});

afterAll(async () => {
  await t.close();
});

async function auditRows(requestId: string) {
  return t.db.all('SELECT * FROM audit_log WHERE request_id = $id', { id: requestId });
}

describe('roles', () => {
  it('every API route of the OpenAPI document has a role case here', async () => {
    const doc = JSON.parse((await t.app.inject({ method: 'GET', url: '/docs/json' })).body) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(doc.paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
      .filter((r) => r !== 'GET /api/v1/health');
    const covered = new Set(CASES.map((c) => `${c.method} ${c.route}`));
    expect(documented.filter((r) => !covered.has(r))).toEqual([]);
    expect(documented.length).toBe(covered.size);
  });

  it.each(CASES)(
    '$method $route: allowed for $allowed, 403 for the other roles, 401 without a token',
    async (c) => {
      for (const role of ALL) {
        const response = await t.call(role, c.method, c.url, c.body);
        if (c.allowed.includes(role)) {
          expect([401, 403], `${role} ${response.body}`).not.toContain(response.statusCode);
          // Without engines, running and remediating answer 503 not-configured; nothing else fails.
          if (response.statusCode >= 500) {
            expect(response.statusCode, `${role} ${response.body}`).toBe(503);
            expect(JSON.parse(response.body).error).toBe('not-configured');
          }
        } else {
          expect(response.statusCode, `${role} ${response.body}`).toBe(403);
          expect(JSON.parse(response.body).error).toBe('forbidden');
        }
        if (c.audit) {
          const rows = await auditRows(String(response.headers['x-request-id']));
          expect(rows, `${role} audit`).toHaveLength(1);
          expect(rows[0]).toMatchObject({
            action: c.audit,
            role,
            actor: `${role}-token (${t.tokens[role].slice(0, 20)})`,
            source_ip: '127.0.0.1',
            outcome: c.allowed.includes(role)
              ? response.statusCode < 400
                ? 'success'
                : 'failed'
              : 'denied',
          });
        }
      }
      const anonymous = await t.call(null, c.method, c.url, c.body);
      expect(anonymous.statusCode).toBe(401);
      expect(anonymous.headers['www-authenticate']).toContain('Bearer');
      if (c.audit) {
        const rows = await auditRows(String(anonymous.headers['x-request-id']));
        expect(rows[0]).toMatchObject({ action: c.audit, actor: 'anonymous', outcome: 'denied' });
      }
    },
  );

  it('refuses remediation to analysts and auditors before looking for the service', async () => {
    for (const role of ['analyst', 'auditor'] as Role[]) {
      const response = await t.call(role, 'POST', '/api/v1/recommendations/rec-1/apply', {
        option: 'quarantine',
      });
      expect(response.statusCode).toBe(403);
    }
    const admin = await t.call('admin', 'POST', '/api/v1/recommendations/rec-1/apply', {
      option: 'quarantine',
    });
    expect(admin.statusCode).toBe(503);
    expect(JSON.parse(admin.body)).toMatchObject({ error: 'not-configured' });
  });
});

describe('tokens', () => {
  it('stores only the SHA-256 of the secret and prints the token once', async () => {
    const { token, info } = await createToken(t.db, {
      name: 'hash-check',
      role: 'auditor',
      createdBy: 'test',
    });
    expect(token).toMatch(/^tok_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const row = await t.db.one('SELECT * FROM api_token WHERE token_id = $id', {
      id: info.tokenId,
    });
    const secret = token.slice(21);
    expect(row!.token_hash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(secret);
  });

  it('rejects expired, revoked, unknown, malformed and tampered tokens', async () => {
    const expired = await createToken(t.db, {
      name: 'old',
      role: 'admin',
      createdBy: 'test',
      expiresAt: new Date(Date.now() - 1000),
    });
    const revoked = await createToken(t.db, { name: 'gone', role: 'admin', createdBy: 'test' });
    await t.db.exec('UPDATE api_token SET revoked_at = now() WHERE token_id = $id', {
      id: revoked.info.tokenId,
    });
    const tampered = `${t.tokens.admin.slice(0, -1)}${t.tokens.admin.endsWith('A') ? 'B' : 'A'}`;
    const cases: Array<[string, RegExp]> = [
      [expired.token, /expired/],
      [revoked.token, /revoked/],
      [`tok_0123456789abcdef_${'a'.repeat(43)}`, /not valid/],
      ['not-a-token', /not valid/],
      [tampered, /not valid/],
    ];
    for (const [token, message] of cases) {
      const response = await t.app.inject({
        method: 'GET',
        url: '/api/v1/me',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.statusCode).toBe(401);
      expect(JSON.parse(response.body).message).toMatch(message);
    }
    const basic = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: 'Basic YWRtaW46YWRtaW4=' },
    });
    expect(basic.statusCode).toBe(401);
  });

  it('creates through the API, works at once, and stops working as soon as it is revoked', async () => {
    const created = await t.call('admin', 'POST', '/api/v1/tokens', {
      name: 'short-lived',
      role: 'analyst',
      expiresIn: '1h',
    });
    expect(created.statusCode).toBe(201);
    const { token, info } = JSON.parse(created.body) as {
      token: string;
      info: { tokenId: string; expiresAt: string };
    };
    expect(new Date(info.expiresAt).getTime() - Date.now()).toBeGreaterThan(3_500_000);
    const me = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(JSON.parse(me.body)).toMatchObject({ role: 'analyst', name: 'short-lived' });
    const listed = JSON.parse((await t.call('admin', 'GET', '/api/v1/tokens')).body) as {
      items: Array<Record<string, unknown>>;
    };
    expect(JSON.stringify(listed)).not.toContain(token.slice(21));
    // last_used_at is written in the background, at most once a minute per token.
    await expect
      .poll(() =>
        t.db.scalar('SELECT last_used_at FROM api_token WHERE token_id = $id', {
          id: info.tokenId,
        }),
      )
      .not.toBeNull();
    const revoked = await t.call('admin', 'DELETE', `/api/v1/tokens/${info.tokenId}`);
    expect(revoked.statusCode).toBe(200);
    const after = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(after.statusCode).toBe(401);
  });

  it('never writes a token to the log', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logged = await buildTestApp({ db: t.db, logger: { stream, level: 'info' } });
    const response = await logged.call('admin', 'GET', '/api/v1/me');
    expect(response.statusCode).toBe(200);
    await logged.app.close();
    const log = lines.join('');
    expect(log).toContain('"authorization":"[redacted]"');
    expect(log).toContain('/api/v1/me');
    expect(log).not.toContain(logged.tokens.admin.slice(21));
    expect(log).not.toContain(logged.tokens.admin);
  });
});
