import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryDb } from '../helpers/db.ts';
import { buildTestApp, enc, type TestApp, testConfig } from './helpers.ts';
import { IGNORED_ID, seedWorld } from './world.ts';

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp({ seed: async (db) => void (await seedWorld(db)) });
});

afterAll(async () => {
  await t.close();
});

describe('headers', () => {
  it('sends security headers and a CSP that allows only this origin', async () => {
    const r = await t.call('analyst', 'GET', '/api/v1/me');
    expect(r.headers['content-security-policy']).toContain("default-src 'self'");
    expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(r.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['x-powered-by']).toBeUndefined();
    expect(r.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('has CORS off by default', async () => {
    const r = await t.call('analyst', 'GET', '/api/v1/me', undefined, {
      origin: 'https://evil.example.com',
    });
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await t.call(null, 'OPTIONS', '/api/v1/me', undefined, {
      origin: 'https://evil.example.com',
      'access-control-request-method': 'GET',
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows exactly the configured CORS origins', async () => {
    const cors = await buildTestApp({
      db: await memoryDb(),
      config: testConfig({
        server: { corsOrigins: ['https://dash.example.com'], rateLimitPerMinute: 1000 },
      }),
    });
    try {
      const ok = await cors.call('analyst', 'GET', '/api/v1/me', undefined, {
        origin: 'https://dash.example.com',
      });
      expect(ok.headers['access-control-allow-origin']).toBe('https://dash.example.com');
      expect(ok.headers.vary).toContain('Origin');
      const preflight = await cors.call(null, 'OPTIONS', '/api/v1/principals', undefined, {
        origin: 'https://dash.example.com',
        'access-control-request-method': 'GET',
      });
      expect(preflight.statusCode).toBe(204);
      expect(preflight.headers['access-control-allow-headers']).toContain('authorization');
      const other = await cors.call('analyst', 'GET', '/api/v1/me', undefined, {
        origin: 'https://evil.example.com',
      });
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await cors.close();
    }
  });
});

describe('request checks', () => {
  const url = `/api/v1/principals/${enc(IGNORED_ID)}/ignore`;

  it('refuses bodies over 1 MB (413) and bodies that are not JSON (415)', async () => {
    const big = await t.call('analyst', 'POST', url, { reason: 'x'.repeat(1_100_000) });
    expect(big.statusCode).toBe(413);
    expect(JSON.parse(big.body).error).toBe('payload-too-large');
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const r = await t.call('analyst', 'POST', url, 'reason=x', { 'content-type': type });
      expect(r.statusCode, type).toBe(415);
      expect(JSON.parse(r.body).error).toBe('unsupported-media-type');
    }
  });

  it('answers unknown routes and ids with 404 and a clear message', async () => {
    const route = await t.call('analyst', 'GET', '/api/v1/nothing-here');
    expect(route.statusCode).toBe(404);
    expect(JSON.parse(route.body).message).toBe('no route GET /api/v1/nothing-here');
    const id = await t.call('analyst', 'GET', '/api/v1/remediations/rem-404');
    expect(JSON.parse(id.body)).toMatchObject({
      error: 'not-found',
      message: 'remediation "rem-404" does not exist',
    });
  });
});

describe('errors', () => {
  it('hides the cause of a 500 from the client and logs it with the request id', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _e, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const db = await memoryDb();
    const broken = await buildTestApp({ db, logger: { stream, level: 'error' } });
    try {
      await db.exec('DROP TABLE remediation');
      const r = await broken.call('auditor', 'GET', '/api/v1/remediations');
      expect(r.statusCode).toBe(500);
      const body = JSON.parse(r.body);
      expect(body).toEqual({
        error: 'internal',
        message: 'internal error; quote the request id to an administrator',
        requestId: r.headers['x-request-id'],
      });
      expect(r.body).not.toMatch(/remediation|catalog|duckdb|stack/i);
      const logged = lines.join('');
      expect(logged).toContain(String(r.headers['x-request-id']));
      expect(logged).toMatch(/remediation/i);
    } finally {
      await broken.close();
    }
  });
});

describe('rate limiting', () => {
  it('limits each token separately, and requests without a valid token by address', async () => {
    const limited = await buildTestApp({
      db: await memoryDb(),
      config: testConfig({ server: { rateLimitPerMinute: 5 } }),
    });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 6; i++)
        codes.push((await limited.call('analyst', 'GET', '/api/v1/me')).statusCode);
      expect(codes).toEqual([200, 200, 200, 200, 200, 429]);
      const last = await limited.call('analyst', 'GET', '/api/v1/me');
      expect(JSON.parse(last.body)).toMatchObject({ error: 'rate-limited' });
      expect(last.headers['retry-after']).toBeDefined();
      expect((await limited.call('auditor', 'GET', '/api/v1/me')).statusCode).toBe(200);
      const anonymous: number[] = [];
      for (let i = 0; i < 6; i++)
        anonymous.push((await limited.call(null, 'GET', '/api/v1/me')).statusCode);
      expect(anonymous).toEqual([401, 401, 401, 401, 401, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe('OpenAPI documentation', () => {
  it('serves the OpenAPI JSON with the bearer scheme and a schema for every route', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(r.statusCode).toBe(200);
    const doc = JSON.parse(r.body);
    expect(doc.openapi).toBe('3.0.3');
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    for (const [path, methods] of Object.entries(
      doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>,
    )) {
      for (const [method, op] of Object.entries(methods)) {
        expect(
          Object.keys(op.responses).some((k) => /^20[0-2]$/.test(k)),
          `${method} ${path}`,
        ).toBe(true);
        if (path !== '/api/v1/health')
          expect(Object.keys(op.responses), `${method} ${path}`).toContain('500');
      }
    }
  });

  it('serves the documentation UI from this server only (no CDN)', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/docs/' });
    const html =
      page.statusCode === 302
        ? (await t.app.inject({ method: 'GET', url: String(page.headers.location) })).body
        : page.body;
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(2);
    for (const ref of refs) {
      expect(ref, ref).not.toMatch(/^(https?:)?\/\//);
      const asset = await t.app.inject({
        method: 'GET',
        url: new URL(ref, 'http://localhost/docs/').pathname,
      });
      expect(asset.statusCode, ref).toBe(200);
    }
    const init = await t.app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(init.body).not.toMatch(/https?:\/\/(?!stackoverflow)/);
  });
});
