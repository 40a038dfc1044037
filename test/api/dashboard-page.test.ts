import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dropdownValue,
  normalizeFilter,
  sameFilter,
  setDropdown,
  splitConjuncts,
} from '../../api/dashboard/ui/filter-parts.ts';
import { DEFAULT_VIEW, readView, writeView } from '../../api/dashboard/ui/view-state.ts';
import { filterToSql } from '../../api/filter/index.ts';
import { buildTestApp, type TestApp } from './helpers.ts';

/**
 * The dashboard as HTTP sees it (one page, two bundled assets, nothing from elsewhere), and
 * the filter-text editing behind its dropdowns. The browser suite is dashboard.test.ts.
 */

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp();
});

afterAll(async () => {
  await t.close();
});

describe('dashboard page', () => {
  it('serves one page at / without a token, under the same CSP as the API', async () => {
    const r = await t.call(null, 'GET', '/');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-security-policy']).toContain("script-src 'self'");
    expect(r.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(r.body).toContain('<div id="app"></div>');
    // No inline script or style: the CSP would refuse them.
    expect(r.body).not.toMatch(/<script>|<style|style="/);
  });

  it('links only assets of this server, versioned by content and cached for good', async () => {
    const html = (await t.call(null, 'GET', '/')).body;
    const links = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(links.filter((l) => l !== 'data:,')).toEqual([
      expect.stringMatching(/^\/dashboard\/app\.css\?v=[0-9a-f]{12}$/),
      expect.stringMatching(/^\/dashboard\/app\.js\?v=[0-9a-f]{12}$/),
    ]);
    for (const link of links.filter((l) => l.startsWith('/'))) {
      const r = await t.call(null, 'GET', link);
      expect(r.statusCode, link).toBe(200);
      expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(r.body.length).toBeGreaterThan(1000);
    }
    const stale = await t.call(null, 'GET', '/dashboard/app.js?v=000000000000');
    expect(stale.headers['cache-control']).toBe('no-cache');
  });

  it('bundles no reference to another host: no CDN, no web font', async () => {
    const html = (await t.call(null, 'GET', '/')).body;
    const js = (await t.call(null, 'GET', /src="([^"]+)"/.exec(html)![1]!)).body;
    const css = (await t.call(null, 'GET', /href="(\/dashboard[^"]+)"/.exec(html)![1]!)).body;
    expect(css).not.toMatch(/@import|url\(|@font-face/);
    // Only the SVG namespace may appear as a URL in the script.
    const urls = [...js.matchAll(/https?:\/\/[^\s"'`)]+/g)].map((m) => m[0]);
    expect(urls.filter((u) => !u.startsWith('http://www.w3.org/'))).toEqual([]);
    expect(js.includes('/api/v1')).toBe(true);
  });
});

describe('dropdown filters edit the filter text', () => {
  it('splits top-level and-terms, leaving quoted text and parentheses whole', () => {
    expect(splitConjuncts('')).toEqual([]);
    expect(splitConjuncts('ignored = false and status = "dormant"')).toEqual([
      'ignored = false',
      'status = "dormant"',
    ]);
    expect(splitConjuncts('principal = "sand and or" AND (a = 1 or b = 2)')).toEqual([
      'principal = "sand and or"',
      '(a = 1 or b = 2)',
    ]);
    expect(splitConjuncts('owner = "x\\" and y" and tier = "High"')).toEqual([
      'owner = "x\\" and y"',
      'tier = "High"',
    ]);
    expect(splitConjuncts('type = "role" or type = "user"')).toBeNull();
    expect(splitConjuncts('brand = "x"')).toEqual(['brand = "x"']);
  });

  it('reads the value of a field term, whatever its case and alias', () => {
    expect(dropdownValue('ignored = false and status = "dormant"', 'status')).toBe('dormant');
    expect(dropdownValue('ignored = false and status = "dormant"', 'ignored')).toBe('false');
    expect(dropdownValue('KIND = "role"', 'type')).toBe('role');
    expect(dropdownValue('tier >= "High"', 'tier')).toBeNull();
    expect(dropdownValue('tier = "High" or tier = "Low"', 'tier')).toBeNull();
    expect(dropdownValue('owner = "a \\"b\\""', 'type')).toBeNull();
  });

  it('replaces, adds and removes a term, keeping every other one', () => {
    const widget = 'ignored = false and status = "dormant"';
    expect(setDropdown(widget, 'status', 'active')).toBe('ignored = false and status = "active"');
    expect(setDropdown(widget, 'tier', 'High')).toBe(`${widget} and tier = "High"`);
    expect(setDropdown(widget, 'status', null)).toBe('ignored = false');
    expect(setDropdown(widget, 'ignored', 'true')).toBe('status = "dormant" and ignored = true');
    expect(setDropdown('', 'cloud', 'gcp')).toBe('cloud = "gcp"');
    expect(setDropdown('a = 1 or b = 2', 'type', 'role')).toBe(
      '(a = 1 or b = 2) and type = "role"',
    );
    expect(setDropdown('owner = "x"', 'type', 'we"ird')).toBe('owner = "x" and type = "we\\"ird"');
  });

  it('always produces filters the server accepts', () => {
    const edits: Array<[Parameters<typeof setDropdown>[1], string | null]> = [
      ['type', 'service-account'],
      ['status', 'no-coverage'],
      ['tier', 'Critical'],
      ['cloud', 'aws'],
      ['ignored', 'false'],
      ['status', null],
    ];
    let filter = 'principal contains "admin" or owner = "team-a"';
    for (const [field, value] of edits) {
      filter = setDropdown(filter, field, value);
      expect(() => filterToSql(filter), filter).not.toThrow();
      if (value !== null) expect(dropdownValue(filter, field)).toBe(value);
    }
  });

  it('compares filters ignoring spaces outside quotes', () => {
    expect(normalizeFilter('  a =  1   and b = "x  y" ')).toBe('a = 1 and b = "x  y"');
    expect(sameFilter('status = "dormant"', 'status  =  "dormant"')).toBe(true);
    expect(sameFilter('owner = "a b"', 'owner = "a  b"')).toBe(false);
  });
});

describe('the view in the query string', () => {
  it('round-trips scope, filter, sort and page, leaving defaults out', () => {
    const view = {
      integrationId: 'fixture-aws',
      assessmentId: 'fixture-aws-20261205T190559Z-1ab01e',
      filter: 'tier >= "high" and tag["a&b"] = "x y"',
      sort: 'last_used',
      order: 'asc' as const,
      offset: 100,
      limit: 25,
    };
    expect(readView(writeView(view))).toEqual(view);
    expect(writeView(DEFAULT_VIEW)).toBe('');
    expect(writeView({ ...DEFAULT_VIEW, filter: 'status = "dormant"' })).toBe(
      '?filter=status+%3D+%22dormant%22',
    );
  });

  it('falls back to the default for values it cannot read', () => {
    expect(readView('?offset=-5&limit=7&order=sideways&sort=')).toEqual(DEFAULT_VIEW);
    expect(readView('')).toEqual(DEFAULT_VIEW);
  });
});
