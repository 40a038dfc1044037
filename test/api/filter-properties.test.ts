import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFilter } from '../../api/filter/index.ts';
import { matchingPrincipalIds } from '../../api/principals.ts';
import { resolveScope, type ScopeEntry } from '../../api/scope.ts';
import { quoteFilterString } from '../../api/widgets.ts';
import { evaluate, type OracleRow } from './filter-oracle.ts';
import { buildTestApp, type TestApp } from './helpers.ts';
import { ACCOUNTS, CURRENT, GCP_CURRENT, GCP_SPECS, IGNORED_ID, seedWorld } from './world.ts';

/** What a DuckDB error looks like in text; none may ever reach a client. */
const DATABASE_ERROR =
  /duckdb|binder error|parser error|conversion error|catalog error|invalid input error|out of range|internal error|syntax error|SQL/i;

let t: TestApp;
let scope: ScopeEntry[];
let rows: OracleRow[];

beforeAll(async () => {
  let specs: Awaited<ReturnType<typeof seedWorld>>['principals'] = [];
  t = await buildTestApp({
    seed: async (db) => {
      specs = (await seedWorld(db)).principals;
    },
  });
  scope = await resolveScope(t.db, {}, new Set(['prod', 'gcp']));
  const now = Date.now();
  const dbNow = Date.parse(String(await t.db.scalar('SELECT now()')));
  // Relative times in the seed are computed by the database clock.
  const skew = now - dbNow;
  const gcp = await t.db.all(
    `SELECT principal_id, name, kind, status, tier, risk_score, overprivilege_pct, high_risk_overprivilege_pct, unused_levels
     FROM principal_score JOIN principal USING (assessment_id, principal_id) WHERE assessment_id = $a`,
    { a: GCP_CURRENT },
  );
  expect(gcp.length).toBe(2);
  const toRow = (
    spec: (typeof specs)[number],
    assessment: string,
    integrationId: string,
  ): OracleRow => ({
    key: `${assessment} ${spec.id}`,
    spec,
    integrationId,
    accountName:
      ACCOUNTS.find((a) => a.id === spec.account)?.name ??
      (spec.account === 'fx-project-01' ? 'fx project' : null),
    ignored: integrationId === 'prod' && spec.id === IGNORED_ID,
    lastUsedMs:
      spec.lastUsedDaysAgo === null ? null : now - skew - spec.lastUsedDaysAgo * 86_400_000,
    createdMs:
      spec.createdDaysAgo === null ? null : now - skew - (spec.createdDaysAgo ?? 400) * 86_400_000,
  });
  rows = [
    ...specs.map((s) => toRow(s, CURRENT, 'prod')),
    ...GCP_SPECS.map((s) => toRow(s, GCP_CURRENT, 'gcp')),
  ];
});

afterAll(async () => {
  await t.close();
});

const text = fc.constantFrom(
  'gen',
  'ROLE',
  'role',
  'user',
  'group',
  '000',
  'gen-role-00',
  'admin',
  'Admin"Quoted\\Role',
  '=cmd|calc',
  'ünicoderöle',
  'Ü',
  'team-a',
  'team-b',
  '@evil',
  'prod',
  'dev',
  'PROD',
  'blue',
  '',
  'arn:aws:iam::111111111111:',
  '111111111111',
  '222222222222',
  'prod-main',
  'fx',
  'service-account',
  'gcp',
  'x"y',
  'nothing-matches',
);
const textField = fc.constantFrom(
  'principal',
  'arn',
  'account',
  'account_name',
  'integration',
  'type',
  'owner',
);
const tagKey = fc.constantFrom(
  'env',
  'team',
  'a/b',
  'team.name',
  'q"k',
  '~tilde',
  'break-glass',
  'missing',
);
const textOp = fc.constantFrom('=', '!=', 'contains', 'not_contains', 'starts_with', 'ends_with');
const numField = fc.constantFrom(
  'risk',
  'overprivilege',
  'high_risk_overprivilege',
  'human_identities',
  'machine_identities',
);
const numOp = fc.constantFrom('=', '!=', '>', '>=', '<', '<=');
const number = fc.oneof(fc.integer({ min: -1, max: 101 }), fc.constantFrom(0, 50, 91.5, 99.9, 100));

const comparison: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(textField, textOp, text).map(([f, o, v]) => `${f} ${o} ${quoteFilterString(v)}`),
  fc
    .tuple(tagKey, textOp, text)
    .map(([k, o, v]) => `tag[${quoteFilterString(k)}] ${o} ${quoteFilterString(v)}`),
  fc
    .tuple(textField, fc.array(text, { minLength: 1, maxLength: 3 }), fc.boolean())
    .map(
      ([f, vs, neg]) => `${f} ${neg ? 'not_in' : 'in'} (${vs.map(quoteFilterString).join(', ')})`,
    ),
  fc.tuple(numField, numOp, number).map(([f, o, v]) => `${f} ${o} ${v}`),
  fc
    .tuple(
      fc.constantFrom('=', '!=', '>', '>=', '<', '<='),
      fc.constantFrom('low', 'Medium', 'HIGH', 'critical'),
    )
    .map(([o, v]) => `tier ${o} "${v}"`),
  fc
    .tuple(fc.constantFrom('=', '!='), fc.constantFrom('active', 'dormant', 'new', 'no-coverage'))
    .map(([o, v]) => `status ${o} "${v}"`),
  fc.constantFrom('cloud = "aws"', 'cloud != "gcp"', 'cloud in ("gcp")'),
  fc
    .tuple(
      fc.constantFrom('=', '!=', '>', '>=', '<', '<='),
      fc.constantFrom('LIST', 'read', 'WRITE', 'IAM', 'admin'),
    )
    .map(([o, v]) => `unused_level ${o} "${v}"`),
  fc
    .tuple(fc.constantFrom('ignored', 'service_linked'), fc.constantFrom('=', '!='), fc.boolean())
    .map(([f, o, v]) => `${f} ${o} ${v}`),
  fc
    .tuple(
      fc.constantFrom('last_used', 'created'),
      fc.constantFrom('>', '>=', '<', '<='),
      fc.constantFrom('1d', '7d', '30d', '90d', '2w', '400d'),
    )
    .map(([f, o, v]) => `${f} ${o} "${v}"`),
  fc.constantFrom('last_used = "never"', 'last_used != "never"'),
);

const expression: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    comparison,
    fc
      .tuple(tie('e'), fc.constantFrom('and', 'or', 'AND'), tie('e'))
      .map(([a, op, b]) => `(${a}) ${op} (${b})`),
    tie('e').map((e) => `not (${e})`),
  ),
})).e;

describe('filter language semantics', () => {
  it('the SQL returns exactly what an independent evaluation of the filter returns', async () => {
    const now = Date.now();
    await fc.assert(
      fc.asyncProperty(expression, async (filter) => {
        const ast = parseFilter(filter);
        const expected = rows
          .filter((r) => evaluate(ast, r, now))
          .map((r) => r.key)
          .sort();
        const actual = await matchingPrincipalIds(t.db, scope, filter);
        expect(actual, filter).toEqual(expected);
      }),
      { numRuns: 400, seed: 20261122 },
    );
  });
});

describe('filter fuzzing through the real route', () => {
  const hostile = [
    `principal = "x" or 1=1 --`,
    `principal = "x'; DROP TABLE principal; --"`,
    `tag["x') ; DROP TABLE principal; --"] = "1"`,
    `tag["$.a[0]"] = "1"`,
    `risk > 1e308`,
    `risk > 99999999999999999999999`,
    `risk > -0`,
    `risk > "NaN"`,
    `risk > "Infinity"`,
    `last_used > "9999-12-31"`,
    `last_used > "0001-01-01"`,
    `last_used > "999999d"`,
    `last_used > "2026-13-01"`,
    `created < "2026-02-29T25:61:61Z"`,
    `principal = "\\u0000"`,
    `principal = "\u0000"`,
    `principal contains "%"`,
    `principal contains "_"`,
    `principal starts_with "\\\\"`,
    `account in (${'"1",'.repeat(499)}"1")`,
    `${'('.repeat(32)}risk > 1${')'.repeat(32)}`,
    `${'('.repeat(33)}risk > 1${')'.repeat(33)}`,
    `${'risk > 1 or '.repeat(99)}risk > 1`,
    `"just a string"`,
    `42`,
    `()`,
    `tag[1] = "x"`,
    `tag["a"]["b"] = "x"`,
    `unused_level contains "ADMIN"`,
    `ignored > true`,
    '\uD800',
    '\uFFFF'.repeat(100),
  ];

  /** Percent-encoded UTF-8 bytes; lone surrogates become U+FFFD as any HTTP client would send. */
  function encode(filter: string): string {
    return [...Buffer.from(filter, 'utf8')]
      .map((b) => `%${b.toString(16).padStart(2, '0')}`)
      .join('');
  }

  async function check(filter: string, raw?: string) {
    const response = await t.call(
      'analyst',
      'GET',
      `/api/v1/principals?limit=5&filter=${raw ?? encode(filter)}`,
    );
    expect([200, 400], `${filter} → ${response.statusCode} ${response.body}`).toContain(
      response.statusCode,
    );
    expect(response.body, filter).not.toMatch(DATABASE_ERROR);
    const body = JSON.parse(response.body) as { error?: string; position?: number };
    if (response.statusCode === 400) {
      expect(['invalid-filter', 'invalid-request']).toContain(body.error);
      if (body.error === 'invalid-filter') expect(typeof body.position).toBe('number');
    }
  }

  it('answers hostile filters with 200 or 400, never a database error', async () => {
    for (const filter of hostile) await check(filter);
    // Bytes that are not UTF-8 at all.
    for (const raw of ['%FF%FE', '%C0%AF', 'risk%20%3E%20%ED%A0%80', '%00', '%'])
      await check(raw, raw);
  });

  it('answers thousands of random and mutated filters with 200 or 400, never a database error', async () => {
    const mutated = fc
      .tuple(
        expression,
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.string({ maxLength: 3 })), { maxLength: 4 }),
      )
      .map(([filter, edits]) => {
        let s = filter;
        for (const [at, drop, insert] of edits) {
          const i = at % (s.length + 1);
          s = s.slice(0, i) + insert + s.slice(i + (drop % 3));
        }
        return s;
      });
    const noise = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc
        .array(
          fc.constantFrom(
            '(',
            ')',
            '"',
            '\\',
            'and',
            'or',
            'not',
            'risk',
            'tag',
            '[',
            ']',
            '=',
            '>',
            ',',
            'in',
            ' ',
            '1',
            '"x"',
            'tier',
          ),
          { maxLength: 30 },
        )
        .map((a) => a.join(' ')),
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated, noise, expression), async (filter) => check(filter)),
      { numRuns: 2000, seed: 8 },
    );
  });
});
