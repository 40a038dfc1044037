import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../api/auth/tokens.ts';
import { startServer } from '../../api/server.ts';
import { Db } from '../../model/db.ts';
import { createRemediationService } from '../../recommend/apply.ts';
import { tempDir } from '../helpers/db.ts';
import { buildTestApp, type TestApp, testConfig } from './helpers.ts';
import { seedWorld } from './world.ts';

/**
 * Hostile API requests (issue 11.3), on every route of the OpenAPI document: bad ids, huge
 * bodies, malformed and wrongly typed bodies, invalid filters and query values, odd methods
 * and headers. Each gets a 4xx with a JSON error and a clear message, never a 500; the server
 * keeps answering, nothing is written, and the database file opens afterwards with the same
 * counts.
 */

const stage = tempDir('ad-hostile-api-');
const file = `${stage.dir}/api.duckdb`;
let t: TestApp;

interface SpecRoute {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  params: string[];
  body: boolean;
  query: string;
}

let routes: SpecRoute[];

const COUNTED_TABLES = [
  'principal',
  'assessment',
  'ignore_rule',
  'remediation',
  'api_token',
  'recommendation',
  'usage_daily',
];

async function counts(db: Db): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of COUNTED_TABLES)
    out[table] = Number(await db.scalar(`SELECT count(*) FROM "${table}"`));
  return out;
}

let before: Record<string, number>;

beforeAll(async () => {
  const db = await Db.open(file);
  await seedWorld(db);
  // The real remediation service (it calls a cloud only for an existing recommendation), so
  // remediation routes look the ids up instead of answering 503 not-configured.
  t = await buildTestApp({
    db,
    services: { remediation: createRemediationService({ db, config: testConfig() }) },
  });
  const doc = JSON.parse((await t.app.inject({ method: 'GET', url: '/docs/json' })).body) as {
    paths: Record<
      string,
      Record<
        string,
        {
          requestBody?: unknown;
          parameters?: Array<{ in: string; name: string; required?: boolean }>;
        }
      >
    >;
  };
  routes = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase() as SpecRoute['method'],
      path,
      params: [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!),
      body: op.requestBody !== undefined,
      query: (op.parameters ?? []).some(
        (p) => p.in === 'query' && p.name === 'format' && p.required,
      )
        ? '?format=json'
        : '',
    })),
  );
  // After the test tokens exist: nothing below may add or change a row of these tables.
  before = await counts(db);
});

let closed = false;
afterAll(async () => {
  if (!closed) await t?.close();
  stage.cleanup();
});

/** Fill every path parameter with `value` (already percent-encoded as it goes on the wire). */
function urlOf(route: SpecRoute, value: string): string {
  return route.path.replace(/\{\w+\}/g, value) + route.query;
}

function expectClearError(response: { statusCode: number; body: string }, where: string) {
  expect(response.statusCode, `${where}: ${response.body.slice(0, 300)}`).toBeGreaterThanOrEqual(
    400,
  );
  expect(response.statusCode, `${where}: ${response.body.slice(0, 300)}`).toBeLessThan(500);
  const body = JSON.parse(response.body) as { error?: unknown; message?: unknown };
  expect(typeof body.error, where).toBe('string');
  expect(typeof body.message, where).toBe('string');
  expect(String(body.message).length, where).toBeGreaterThan(5);
  expect(String(body.message).length, where).toBeLessThan(2000);
}

const BAD_IDS: Array<[string, string]> = [
  ['a 10,000-character id', 'x'.repeat(10_000)],
  ['a NUL byte', 'a%00b'],
  ['a path traversal', '..%2F..%2Fetc%2Fpasswd'],
  ['SQL', encodeURIComponent("' OR '1'='1'; DROP TABLE principal; --")],
  ['unicode and a right-to-left override', encodeURIComponent('prïncipal\u202e日本🙂')],
  ['broken percent-encoding', '%E0%A4%A'],
  ['a lone surrogate', '%ED%A0%80'],
];

describe('hostile requests on every route of the OpenAPI document', () => {
  it('answers bad ids with a clear 4xx on every route that takes one', async () => {
    let checked = 0;
    for (const route of routes.filter((r) => r.params.length > 0)) {
      for (const [what, id] of BAD_IDS) {
        const response = await t.call(
          'admin',
          route.method,
          urlOf(route, id),
          route.body ? { option: 'quarantine', reason: 'hostile test' } : undefined,
        );
        expectClearError(response, `${route.method} ${route.path} with ${what}`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('answers URLs the router cannot match in the API error shape, without echoing them', async () => {
    const long = await t.call('analyst', 'GET', `/api/v1/integrations/${'x'.repeat(10_000)}`);
    expect(long.statusCode).toBe(414);
    expect(JSON.parse(long.body)).toMatchObject({
      error: 'uri-too-long',
      message: expect.stringMatching(/longer than 2048 characters$/),
      requestId: long.headers['x-request-id'],
    });
    expect(long.body.length).toBeLessThan(400);
    const broken = await t.call('analyst', 'GET', '/api/v1/integrations/%E0%A4%A');
    expect(broken.statusCode).toBe(400);
    expect(JSON.parse(broken.body)).toMatchObject({
      error: 'bad-request',
      message: 'the URL is not valid: a path segment has a malformed percent-encoding',
    });
  });

  it('refuses huge, malformed and wrongly typed bodies on every route that takes a body', async () => {
    const withBody = routes.filter((r) => r.body);
    expect(withBody.length).toBeGreaterThan(3);
    const bodies: Array<[string, string, string, number]> = [
      ['a 2 MB body', 'application/json', JSON.stringify({ reason: 'x'.repeat(2_000_000) }), 413],
      ['truncated JSON', 'application/json', '{"reason": "x', 400],
      ['JSON null', 'application/json', 'null', 400],
      ['a JSON list', 'application/json', '[1, 2, 3]', 400],
      ['a JSON string', 'application/json', '"quarantine"', 400],
      [
        'deeply nested JSON',
        'application/json',
        `${'['.repeat(200_000)}${']'.repeat(200_000)}`,
        400,
      ],
      ['a __proto__ key', 'application/json', '{"__proto__": {"admin": true}, "reason": "x"}', 400],
      ['text/plain', 'text/plain', 'reason=x', 415],
      ['a form', 'application/x-www-form-urlencoded', 'reason=x', 415],
      ['multipart', 'multipart/form-data; boundary=x', '--x\r\n\r\nreason\r\n--x--', 415],
      ['XML', 'application/xml', '<reason>x</reason>', 415],
    ];
    for (const route of withBody) {
      const url = urlOf(route, route.params.length ? 'rec-1' : '');
      for (const [what, type, payload, status] of bodies) {
        const response = await t.app.inject({
          method: route.method,
          url,
          headers: { authorization: `Bearer ${t.tokens.admin}`, 'content-type': type },
          payload,
        });
        const where = `${route.method} ${route.path} with ${what}`;
        expectClearError(response, where);
        // Parse errors are the body's; a route may also refuse the (valid) body's content.
        if (status !== 400) expect(response.statusCode, where).toBe(status);
        else expect([400, 422], where).toContain(response.statusCode);
      }
    }
  });

  it('answers invalid filters and query values with a clear 400', async () => {
    const queries = [
      `filter=${encodeURIComponent('('.repeat(5000))}`,
      `filter=${encodeURIComponent('risk > 1 and '.repeat(1000))}`,
      `filter=${encodeURIComponent("name = 'x'; DROP TABLE principal; --")}`,
      `filter=${encodeURIComponent('principal = "\u0000"  and tag.\u202e = "x"')}`,
      'filter=%E0%A4%A',
      'limit=-1',
      'limit=100000000000000000000',
      'limit=abc',
      'offset=-5',
      'sort=drop%20table',
      'filter=risk%20%3E%201&filter=risk%20%3E%202',
    ];
    for (const url of ['/api/v1/principals', '/api/v1/assessments/prod-current/principals']) {
      for (const q of queries) {
        const response = await t.call('analyst', 'GET', `${url}?${q}`);
        expectClearError(response, `${url}?${q.slice(0, 80)}`);
        expect(response.statusCode, `${url}?${q.slice(0, 80)}`).toBe(400);
      }
    }
  });

  it('answers unknown methods, odd headers and odd paths without a 500', async () => {
    for (const route of routes) {
      for (const method of ['PUT', 'PATCH'] as const) {
        const response = await t.call('admin', method, urlOf(route, 'x'), {});
        expectClearError(response, `${method} ${route.path}`);
      }
    }
    const oddHeaders: Array<Record<string, string>> = [
      { authorization: `Bearer ${'A'.repeat(100_000)}` },
      { authorization: `Bearer ${t.tokens.admin}`, accept: 'application/xml' },
      { authorization: `Bearer ${t.tokens.admin}`, 'accept-encoding': 'br;q=2, *;q=-1' },
      { authorization: `Bearer ${t.tokens.admin}`, 'x-forwarded-for': "'; DROP TABLE x; --" },
    ];
    for (const headers of oddHeaders) {
      const response = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers });
      expect(response.statusCode, JSON.stringify(Object.keys(headers))).toBeLessThan(500);
    }
    for (const path of [
      '/api/v1/../../etc/passwd',
      '/api/v1//principals',
      `/api/v1/${'a/'.repeat(2000)}`,
    ]) {
      const response = await t.call('admin', 'GET', path);
      expect(response.statusCode, path).toBeLessThan(500);
    }
  });

  it('still answers, wrote nothing, and the database file opens with the same counts', async () => {
    const health = await t.app.inject({ method: 'GET', url: '/api/v1/health' });
    expect(health.statusCode).toBe(200);
    const me = await t.call('auditor', 'GET', '/api/v1/me');
    expect(me.statusCode).toBe(200);
    expect(await counts(t.db)).toEqual(before);
    await t.close();
    closed = true;
    const reopened = await Db.open(file);
    try {
      expect(await counts(reopened)).toEqual(before);
    } finally {
      reopened.closeAll();
    }
  });
});

/** Send raw bytes to the server and collect whatever comes back until it closes or 2 s pass. */
function raw(url: string, bytes: string | Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    const done = () => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(2000, done);
    socket.on('data', (d) => {
      answer += d.toString('latin1');
    });
    socket.on('close', done);
    socket.on('error', done);
    socket.write(bytes);
  });
}

describe('hostile bytes on a real listening server', () => {
  it('answers or drops malformed HTTP and keeps serving', async () => {
    const dbFile = `${stage.dir}/server.duckdb`;
    const db = await Db.open(dbFile);
    const { token } = await createToken(db, { name: 'raw', role: 'auditor', createdBy: 'test' });
    const server = await startServer({
      config: testConfig(),
      databasePath: dbFile,
      db,
      host: '127.0.0.1',
      port: 0,
      schedule: false,
      logger: false,
    });
    try {
      const answers = await Promise.all([
        raw(server.url, Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x01, 0x00, 0x00])), // a TLS hello
        raw(server.url, 'GET /api/v1/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
        raw(
          server.url,
          `GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`,
        ),
        raw(server.url, 'GET /api/v1/me HTTP/9.9\r\n\r\n'),
        raw(
          server.url,
          'POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\nContent-Type: application/json\r\n\r\n{"na',
        ),
        raw(
          server.url,
          'POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n',
        ),
        raw(server.url, '\u0000\u0001garbage\r\n\r\n'),
      ]);
      // Node's HTTP parser refuses what is not HTTP (400, 431); the API refuses the rest
      // before reading a body (401): nothing hangs, nothing is a 500.
      expect(answers.map((a) => a.split('\r\n')[0])).toEqual([
        'HTTP/1.1 400 Bad Request',
        'HTTP/1.1 401 Unauthorized',
        'HTTP/1.1 431 Request Header Fields Too Large',
        'HTTP/1.1 400 Bad Request',
        'HTTP/1.1 401 Unauthorized',
        'HTTP/1.1 400 Bad Request',
        'HTTP/1.1 400 Bad Request',
      ]);
      const me = await fetch(`${server.url}/api/v1/me`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(me.status).toBe(200);
      expect(((await me.json()) as { role: string }).role).toBe('auditor');
    } finally {
      await server.close();
    }
    const reopened = await Db.open(dbFile);
    try {
      expect(await reopened.scalar<number>('SELECT count(*) FROM api_token')).toBe(1);
    } finally {
      reopened.closeAll();
    }
  });
});
