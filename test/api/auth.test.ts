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

/**
 * Everything the shared app logs, at the most verbose level, for the whole file: the last
 * test checks that no token used anywhere in this file ever reached it.
 */
const appLog: string[] = [];
const logStream = new Writable({
  write(chunk, _enc, done) {
    appLog.push(String(chunk));
    done();
  },
});
/** Every token this file sends or creates, valid or not. */
const usedTokens = new Set<string>();

beforeAll(async () => {
  t = await buildTestApp({
    seed: async (db) => void (await seedWorld(db)),
    logger: { stream: logStream, level: 'trace' },
  });
  for (const token of Object.values(t.tokens)) usedTokens.add(token);
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
        if (c.method === 'GET') {
          const head = await t.call(role, 'HEAD', c.url);
          expect(head.statusCode, `HEAD as ${role}`).toBe(response.statusCode);
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

/** Values for the path parameters of the OpenAPI document (any value: auth comes first). */
const PATH_VALUES: Record<string, string> = {
  integrationId: 'prod',
  assessmentId: 'prod-current',
  principalId: P,
  recommendationId: 'rec-1',
  remediationId: 'rem-1',
  tokenId: 'tok_0000000000000000',
};

interface SpecRoute {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
  path: string;
  url: string;
  body: boolean;
  secured: boolean;
}

async function specRoutes(): Promise<SpecRoute[]> {
  const doc = JSON.parse((await t.app.inject({ method: 'GET', url: '/docs/json' })).body) as {
    paths: Record<
      string,
      Record<
        string,
        {
          security?: unknown[];
          requestBody?: unknown;
          parameters?: Array<{ in: string; name: string; required?: boolean }>;
        }
      >
    >;
  };
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const query = (op.parameters ?? [])
        .filter((p) => p.in === 'query' && p.required)
        .map((p) => `${p.name}=${p.name === 'format' ? 'json' : 'x'}`);
      const url =
        path.replace(/\{(\w+)\}/g, (_m, name: string) => PATH_VALUES[name] ?? 'x') +
        (query.length ? `?${query.join('&')}` : '');
      return {
        method: method.toUpperCase() as SpecRoute['method'],
        path,
        url,
        body: op.requestBody !== undefined,
        secured: (op.security ?? []).length > 0,
      };
    }),
  );
}

describe('every route of the OpenAPI document, enumerated from /docs/json', () => {
  it('declares bearer security on every route but the health check', async () => {
    const routes = await specRoutes();
    expect(routes.length).toBeGreaterThan(20);
    expect(routes.filter((r) => !r.secured).map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /api/v1/health',
    ]);
    const health = await t.app.inject({ method: 'GET', url: '/api/v1/health' });
    expect(health.statusCode).toBe(200);
  });

  it('refuses no token, a malformed, unknown, tampered, expired or revoked token, and other schemes, with 401 on every secured route', async () => {
    const expired = await createToken(t.db, {
      name: 'expired-admin',
      role: 'admin',
      createdBy: 'test',
      expiresAt: new Date(Date.now() - 60_000),
    });
    const revoked = await createToken(t.db, {
      name: 'revoked-admin',
      role: 'admin',
      createdBy: 'test',
    });
    await t.db.exec('UPDATE api_token SET revoked_at = now() WHERE token_id = $id', {
      id: revoked.info.tokenId,
    });
    const tampered = `${t.tokens.admin.slice(0, -2)}${t.tokens.admin.endsWith('AA') ? 'BB' : 'AA'}`;
    const unknown = `tok_0123456789abcdef_${'Z'.repeat(43)}`;
    for (const token of [expired.token, revoked.token, tampered, unknown]) usedTokens.add(token);
    const variants: Array<[string, Record<string, string>, RegExp]> = [
      ['no token', {}, /required/],
      ['malformed', { authorization: 'Bearer not-a-token' }, /not valid/],
      ['unknown', { authorization: `Bearer ${unknown}` }, /not valid/],
      ['tampered', { authorization: `Bearer ${tampered}` }, /not valid/],
      ['expired', { authorization: `Bearer ${expired.token}` }, /expired/],
      ['revoked', { authorization: `Bearer ${revoked.token}` }, /revoked/],
      ['basic', { authorization: 'Basic YWRtaW46YWRtaW4=' }, /not valid/],
      ['token without scheme', { authorization: t.tokens.admin }, /not valid/],
    ];
    const audited = new Set(CASES.filter((c) => c.audit).map((c) => `${c.method} ${c.route}`));
    for (const route of (await specRoutes()).filter((r) => r.secured)) {
      for (const [variant, headers, message] of variants) {
        const where = `${route.method} ${route.path} with ${variant}`;
        const response = await t.app.inject({
          method: route.method,
          url: route.url,
          headers: { ...headers, ...(route.body ? { 'content-type': 'application/json' } : {}) },
          ...(route.body ? { payload: '{}' } : {}),
        });
        expect(response.statusCode, `${where}: ${response.body}`).toBe(401);
        expect(JSON.parse(response.body), where).toMatchObject({
          error: 'unauthorized',
          message: expect.stringMatching(message),
        });
        expect(response.headers['www-authenticate'], where).toContain('Bearer');
        if (route.method === 'GET') {
          // Fastify answers HEAD for every GET route, outside the OpenAPI document.
          const head = await t.app.inject({ method: 'HEAD', url: route.url, headers });
          expect(head.statusCode, `HEAD ${route.path} with ${variant}`).toBe(401);
          expect(head.body).toBe('');
        }
        const rows = await auditRows(String(response.headers['x-request-id']));
        if (audited.has(`${route.method} ${route.path}`)) {
          expect(rows, where).toHaveLength(1);
          expect(rows[0], where).toMatchObject({
            actor: 'anonymous',
            role: null,
            outcome: 'denied',
          });
        } else {
          expect(rows, where).toEqual([]);
        }
      }
    }
  });

  it('lets every role through authentication on every secured route (a role answer, never 401)', async () => {
    for (const route of (await specRoutes()).filter((r) => r.secured)) {
      // Read-only methods only: the mutations run in the role table above with real bodies.
      if (route.method !== 'GET') continue;
      for (const role of ALL) {
        const response = await t.call(role, route.method, route.url);
        expect(response.statusCode, `${role} ${route.method} ${route.url}`).not.toBe(401);
      }
    }
  });
});

describe('report exports', () => {
  it('audits every export, in every format, with who, what, the format and its size', async () => {
    for (const format of ['csv', 'json', 'parquet', 'arrow', 'html']) {
      for (const url of [
        `/api/v1/assessments/prod-current/report?format=${format}`,
        `/api/v1/integrations/prod/report?format=${format}`,
      ]) {
        const response = await t.call('auditor', 'GET', url);
        expect(response.statusCode, `${url} ${response.body.slice(0, 200)}`).toBe(200);
        const rows = await auditRows(String(response.headers['x-request-id']));
        expect(rows, url).toHaveLength(1);
        expect(rows[0]).toMatchObject({
          action: 'report.export',
          role: 'auditor',
          target: 'prod-current',
          outcome: 'success',
        });
        const details = JSON.parse(String(rows[0]!.details)) as Record<string, unknown>;
        expect(details).toMatchObject({ status: 200, format, bytes: response.rawPayload.length });
      }
    }
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
    for (const tok of [expired.token, revoked.token, tampered]) usedTokens.add(tok);
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
    usedTokens.add(token);
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

  it('wrote no token, valid or not, to the log or the audit log in this whole file', async () => {
    const log = appLog.join('');
    // The log is real: requests were logged, with the header redacted.
    expect(log).toContain('"authorization":"[redacted]"');
    expect(log).toContain('/api/v1/tokens');
    const audit = JSON.stringify(await t.db.all('SELECT * FROM audit_log'));
    expect(usedTokens.size).toBeGreaterThan(8);
    for (const token of usedTokens) {
      const secret = token.slice(21);
      expect(log.includes(token), `token ${token.slice(0, 21)} in the log`).toBe(false);
      expect(audit.includes(token), `token ${token.slice(0, 21)} in audit_log`).toBe(false);
      if (secret.length >= 20) {
        expect(log.includes(secret), `secret of ${token.slice(0, 21)} in the log`).toBe(false);
        expect(audit.includes(secret), `secret of ${token.slice(0, 21)} in audit_log`).toBe(false);
      }
    }
  });
});
