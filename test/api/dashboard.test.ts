import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { GetRoleCommand, type IAMClient } from '@aws-sdk/client-iam';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, tokenIdOf } from '../../api/auth/tokens.ts';
import { type Demo, startDemo } from '../../cli/demo.ts';
import { AwsSession } from '../../ingest/aws/clients.ts';
import { silentLogger } from '../../lib/log.ts';
import { tempDir } from '../helpers/db.ts';

/**
 * The dashboard in a real browser (Debian's chromium, driven headless by playwright-core)
 * against the demo: a tiny generated world served by the fixture cloud, assessed end to end,
 * and the API with its remediation engine. Cloud state is read back through the AWS SDK.
 */

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(import.meta.dirname, '..', '..', 'test-output', 'dashboard');
const TARGET = 'legacy-admin';
const TARGET_ACCOUNT = '100000000002';

let demo: Demo;
let url: string;
let adminToken: string;
let analystToken: string;
let browser: Browser;
let admin: BrowserContext;
let page: Page;
let iam: IAMClient;
const work = tempDir('ad-dashboard-');
const foreignRequests: string[] = [];

async function api<T>(path: string, token = adminToken): Promise<T> {
  const response = await fetch(`${url}/api/v1${path}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

async function newPage(context: BrowserContext): Promise<Page> {
  const p = await context.newPage();
  p.on('request', (r) => {
    if (!r.url().startsWith(url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) {
      foreignRequests.push(r.url());
    }
  });
  return p;
}

async function shot(p: Page, name: string): Promise<void> {
  await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

/** The "a–b of N" text of the pager, as N. */
async function pagerTotal(p: Page): Promise<number> {
  const text = (await p.locator('.pager .range').textContent()) ?? '';
  const m = /of ([\d,]+)$/.exec(text.trim());
  if (!m) throw new Error(`pager says "${text}"`);
  return Number(m[1]!.replace(/,/g, ''));
}

async function expectTotal(p: Page, total: number): Promise<void> {
  await expect.poll(() => pagerTotal(p), { timeout: 10_000 }).toBe(total);
}

/** Wait until the table shows the server's answer to this filter. */
async function showing(p: Page, filter: string): Promise<void> {
  await p.waitForFunction(
    (f) => document.querySelector('.table-wrap')?.getAttribute('data-filter') === f,
    filter,
  );
}

async function typeFilter(p: Page, filter: string): Promise<void> {
  await p.locator('#filter-input').fill(filter);
  await p.locator('#filter-input').press('Enter');
}

/** Type a filter, press Enter and wait for the table to show the answer to it. */
async function applyFilter(p: Page, filter: string): Promise<void> {
  await typeFilter(p, filter);
  await showing(p, filter);
}

async function boundaryOf(roleName: string): Promise<string | null> {
  const out = await iam.send(new GetRoleCommand({ RoleName: roleName }));
  return out.Role?.PermissionsBoundary?.PermissionsBoundaryArn ?? null;
}

async function openTarget(p: Page): Promise<void> {
  await applyFilter(p, `principal = "${TARGET}"`);
  await expectTotal(p, 1);
  await p.locator('.principal-open', { hasText: TARGET }).click();
  await p.locator('.panel h2', { hasText: TARGET }).waitFor();
  await p.locator('.rec').first().waitFor();
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (bash .ci/run does)`);
  }
  mkdirSync(SHOTS, { recursive: true });
  demo = await startDemo({ dir: work.dir, port: 0, scale: 'tiny', logger: silentLogger });
  url = demo.server!.url;
  adminToken = demo.adminToken!;
  analystToken = (
    await createToken(demo.db, { name: 'dashboard analyst', role: 'analyst', createdBy: 'test' })
  ).token;
  const aws = demo.manifest.aws;
  const session = new AwsSession({
    endpoint: demo.cloud.url,
    region: aws.regions[0],
    externalId: aws.externalId,
    maxAttempts: 2,
  });
  iam = session.iam(
    session.assumeRole(`arn:aws:iam::${TARGET_ACCOUNT}:role/${aws.remediationRoleName}`),
  );
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
    ],
  });
  admin = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  page = await newPage(admin);
});

afterAll(async () => {
  await browser?.close();
  await demo?.close();
  work.cleanup();
});

describe('dashboard in a real browser', () => {
  it('loads with the token from the fragment: header, widgets and the principals table', async () => {
    const widgets = await api<{ widgets: Array<{ id: string }> }>('/widgets');
    const list = await api<{ total: number }>('/principals?limit=1');

    await page.goto(`${url}/#token=${adminToken}`);
    await page.locator('.principals-table tbody tr').first().waitFor();

    expect(page.url()).not.toContain('token');
    await expectTotal(page, list.total);
    expect(await page.locator('.pager .range').textContent()).toMatch(/^1–50 of /);
    expect(await page.locator('[data-widget]').count()).toBe(widgets.widgets.length);
    await expect
      .poll(() => page.locator('.stats').textContent())
      .toContain('Fixture AWS organization');
    expect(await page.locator('.widget.trend svg path').count()).toBe(2);
    await shot(page, '01-assessment');
    await page.setViewportSize({ width: 1366, height: 768 });
    await shot(page, '01-assessment-laptop');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('narrows the page to one integration, then to one of its assessments', async () => {
    const gcp = await api<{ total: number; scope: Array<{ assessmentId: string }> }>(
      '/principals?integrationId=fixture-gcp&limit=1',
    );
    const all = await pagerTotal(page);
    expect(await page.locator('select[data-scope="assessment"]').isDisabled()).toBe(true);

    await page.locator('select[data-scope="integration"]').selectOption('fixture-gcp');
    await expectTotal(page, gcp.total);
    await expect.poll(() => page.locator('.stats').textContent()).not.toContain('AWS');
    expect(await page.locator('.stats').textContent()).toContain('Fixture GCP organization');
    const assessment = page.locator('select[data-scope="assessment"]');
    await expect.poll(() => assessment.locator('option').count()).toBe(2);
    await assessment.selectOption(gcp.scope[0]!.assessmentId);
    await expectTotal(page, gcp.total);

    await page.locator('select[data-scope="integration"]').selectOption('');
    await expectTotal(page, all);
    expect(await assessment.inputValue()).toBe('');
  });

  it('filters the table by a widget and clears the filter when it is clicked again', async () => {
    const { widgets } = await api<{
      widgets: Array<{
        id: string;
        count: number;
        filter: string;
        buckets?: Array<{ key: string; count: number; filter: string }>;
      }>;
    }>('/widgets');
    const dormant = widgets.find((w) => w.id === 'dormant-principals')!;
    expect(dormant.count).toBeGreaterThan(0);
    const all = await pagerTotal(page);

    await page.locator('[data-widget="dormant-principals"]').click();

    await showing(page, dormant.filter);
    await expectTotal(page, dormant.count);
    expect(await page.locator('#filter-input').inputValue()).toBe(dormant.filter);
    expect(await page.locator('select[data-field="status"]').inputValue()).toBe('dormant');
    expect(await page.locator('select[data-field="ignored"]').inputValue()).toBe('false');
    expect(
      await page.locator('[data-widget="dormant-principals"]').getAttribute('aria-pressed'),
    ).toBe('true');
    const statuses = await page
      .locator('.principals-table tbody td:nth-child(4) .badge:first-child')
      .allTextContents();
    expect(statuses.length).toBe(Math.min(50, dormant.count));
    expect(new Set(statuses)).toEqual(new Set(['dormant']));
    await shot(page, '02-widget-filter');

    // The view is in the address: a reload (same tab, same token) shows the same principals.
    expect(new URL(page.url()).searchParams.get('filter')).toBe(dormant.filter);
    await page.reload();
    await showing(page, dormant.filter);
    expect(await page.locator('#filter-input').inputValue()).toBe(dormant.filter);
    await expectTotal(page, dormant.count);

    await page.locator('[data-widget="dormant-principals"]').click();
    await showing(page, '');
    await expectTotal(page, all);
    expect(await page.locator('#filter-input').inputValue()).toBe('');
    expect(await page.locator('select[data-field="status"]').inputValue()).toBe('');

    const critical = widgets
      .find((w) => w.id === 'principals-by-tier')!
      .buckets!.find((b) => b.key === 'Critical')!;
    await page.locator('[data-widget="principals-by-tier"] [data-bucket="Critical"]').click();
    await showing(page, critical.filter);
    await expectTotal(page, critical.count);
    expect(await page.locator('select[data-field="tier"]').inputValue()).toBe('Critical');

    // A dropdown edits the filter text: the filter box shows what the table is filtered by.
    await page.locator('select[data-field="cloud"]').selectOption('aws');
    await showing(page, `${critical.filter} and cloud = "aws"`);
    expect(await page.locator('#filter-input').inputValue()).toBe(
      `${critical.filter} and cloud = "aws"`,
    );
    const expected = await api<{ total: number }>(
      `/principals?limit=1&filter=${encodeURIComponent(`${critical.filter} and cloud = "aws"`)}`,
    );
    await expectTotal(page, expected.total);
  });

  it('sorts on a header and pages through the server', async () => {
    await applyFilter(page, '');
    await page.locator('button[data-sort="risk"]').click();
    await expect
      .poll(() => page.locator('th[aria-sort]').getAttribute('aria-sort'))
      .toBe('ascending');
    const asc = await api<{ items: Array<{ name: string }> }>(
      '/principals?sort=risk&order=asc&limit=50',
    );
    await expect
      .poll(() => page.locator('.principal-open').first().textContent())
      .toBe(asc.items[0]!.name);
    await page.getByRole('button', { name: 'Next' }).click();
    const second = await api<{ items: Array<{ name: string }> }>(
      '/principals?sort=risk&order=asc&limit=50&offset=50',
    );
    await expect
      .poll(() => page.locator('.principal-open').first().textContent())
      .toBe(second.items[0]!.name);
    await page.locator('button[data-sort="risk"]').click();
  });

  it('shows a filter error inline, at the position the server names', async () => {
    const before = await pagerTotal(page);
    // "/" focuses the filter box from anywhere on the page.
    await page.locator('h1').click();
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('filter-input');
    await page.keyboard.type('tier = "critcal"');
    await page.keyboard.press('Enter');

    const error = page.locator('.filter-error');
    await error.waitFor();
    expect(await error.textContent()).toContain('tier has no value "critcal" (position 7)');
    expect(await page.locator('.filter-marker mark').textContent()).toBe('"');
    expect(await page.locator('#filter-input').getAttribute('aria-invalid')).toBe('true');
    // The last good answer stays, dimmed.
    expect(await pagerTotal(page)).toBe(before);
    await shot(page, '03-filter-error');

    await page.locator('#filter-input').fill('tier = "critical"');
    expect(await error.count()).toBe(0);
  });

  it('opens a principal: recommendations, used by, used for; copies the right-sized policy', async () => {
    await openTarget(page);
    const principalId = (await page.locator('.panel').getAttribute('data-principal'))!;
    const recs = await api<{
      items: Array<{
        kind: string;
        options: Array<{ type: string; artifacts: Array<{ name: string; content: string }> }>;
      }>;
    }>(`/principals/${encodeURIComponent(principalId)}/recommendations?state=open`);
    const rightSized = recs.items
      .find((r) => r.kind === 'overprivileged-policy')!
      .options.find((o) => o.type === 'right-size')!
      .artifacts.find((a) => a.name.endsWith('-rightsized.json'))!;

    expect(await page.locator('.rec').count()).toBe(Math.min(3, recs.items.length));
    const card = page.locator('.rec[data-kind="overprivileged-policy"]');
    await card.getByRole('button', { name: /How to fix/ }).click();
    const option = card.locator('[data-option="right-size"]');
    await option.waitFor();
    expect(await option.locator('.proof').getAttribute('data-proof')).toBe('pass');
    await option
      .locator(`[data-artifact="${rightSized.name}"]`)
      .getByRole('button', { name: `Copy ${rightSized.name}` })
      .click();
    await option.getByText('Copied').waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toBe(rightSized.content);
    expect(JSON.parse(copied)).toMatchObject({ Version: '2012-10-17' });
    await shot(page, '04-details-recommendations');

    // Tabs follow the WAI-ARIA pattern: arrow keys move between them.
    await page.getByRole('tab', { name: 'Recommendations' }).focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.getByRole('tab', { name: 'Used By' }).getAttribute('aria-selected')).toBe(
      'true',
    );
    await page.locator('.used-by').waitFor();
    await page.keyboard.press('ArrowRight');
    await page.locator('.used-for .policy').first().waitFor();
    const usedFor = await api<{ policies: Array<{ policyId: string }> }>(
      `/principals/${encodeURIComponent(principalId)}/used-for`,
    );
    expect(await page.locator('.used-for .policy').count()).toBe(usedFor.policies.length);
    expect(
      await page.locator('.used-for .policy').first().locator('tr[data-level]').count(),
    ).toBeGreaterThan(0);
    await page
      .locator('.used-for .policy')
      .first()
      .locator('summary', { hasText: 'Policy JSON' })
      .click();
    expect(
      JSON.parse((await page.locator('.used-for pre.code').first().textContent())!),
    ).toHaveProperty('Statement');
    await shot(page, '05-details-used-for');
    await page.getByRole('tab', { name: 'Recommendations' }).click();
  });

  it('shows who used a principal, with the last logins of each identity', async () => {
    const used = await api<{ items: Array<{ name: string; principalId: string }> }>(
      `/principals?limit=1&sort=risk&filter=${encodeURIComponent('human_identities > 0')}`,
    );
    const busy = used.items[0]!;
    await page.keyboard.press('Escape');
    await applyFilter(page, `arn = "${busy.principalId}"`);
    await expectTotal(page, 1);
    await page.getByRole('button', { name: busy.name, exact: true }).click();
    await page.locator('.panel h2', { hasText: busy.name }).waitFor();
    await page.getByRole('tab', { name: 'Used By' }).click();
    const row = page.locator('.used-by tr[data-identity]').first();
    await row.waitFor();
    const toggle = row.locator('button[aria-expanded]');
    expect(await toggle.textContent()).toMatch(/^Last \d$/);
    await toggle.click();
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    expect(await page.locator('.used-by tr.logins li').count()).toBeGreaterThan(0);
    await shot(page, '06-details-used-by');
    await page.keyboard.press('Escape');
    expect(await page.locator('.panel').count()).toBe(0);
    // Focus goes back to the row the panel was opened from.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe(busy.name);
  });

  it('says when the logs cannot show all of a principal’s use', async () => {
    const first = await api<{ items: Array<{ name: string; principalId: string }> }>(
      `/principals?limit=1&sort=risk&filter=${encodeURIComponent(`principal != "${TARGET}"`)}`,
    );
    const gapped = first.items[0]!;
    const gap = 'used in ap-southeast-2, where the trail does not log';
    await demo.db.exec('UPDATE principal_score SET evidence_gap = $gap WHERE principal_id = $p', {
      gap,
      p: gapped.principalId,
    });
    try {
      await applyFilter(page, `arn = "${gapped.principalId}"`);
      await expectTotal(page, 1);
      await page.getByRole('button', { name: gapped.name, exact: true }).click();
      await page.locator('.panel h2', { hasText: gapped.name }).waitFor();
      const note = page.locator('.panel .evidence-gap');
      await note.waitFor();
      expect(await note.textContent()).toContain(`Logs incomplete: ${gap}.`);
      await page.keyboard.press('Escape');
      // A principal whose logs cover it says nothing of the kind.
      await openTarget(page);
      expect(await page.locator('.panel .evidence-gap').count()).toBe(0);
      await page.keyboard.press('Escape');
    } finally {
      await demo.db.exec('UPDATE principal_score SET evidence_gap = NULL WHERE principal_id = $p', {
        p: gapped.principalId,
      });
    }
  });

  it('previews, applies and rolls back a quarantine as admin, changing the fixture cloud', async () => {
    const before = await boundaryOf(TARGET);
    await openTarget(page);
    const card = page.locator('.rec[data-kind="dormant-principal"]');
    await card.getByRole('button', { name: /How to fix/ }).click();
    const option = card.locator('[data-option="quarantine"]');
    await option.getByRole('button', { name: /Remediate: preview/ }).click();
    const preview = option.locator('[data-preview="quarantine"]');
    await preview.waitFor();
    expect(await preview.textContent()).toContain('iam:PutRolePermissionsBoundary');
    // A dry run changes nothing.
    expect(await boundaryOf(TARGET)).toBe(before);
    await shot(page, '07-remediation-preview');

    await preview.getByRole('button', { name: /Apply quarantine/ }).click();
    await page.locator('.notice', { hasText: 'applied' }).waitFor();
    const quarantined = await boundaryOf(TARGET);
    expect(quarantined).toBe(`arn:aws:iam::${TARGET_ACCOUNT}:policy/AccessDiscoveryQuarantine`);
    const applied = page.locator('.remediations li[data-status="applied"]');
    await applied.waitFor();
    await shot(page, '08-remediation-applied');

    await applied.getByRole('button', { name: 'Rollback' }).click();
    await page.locator('.notice', { hasText: 'rolled back' }).waitFor();
    expect(await boundaryOf(TARGET)).toBe(before);
    await page.locator('.remediations li[data-status="rolled-back"]').waitFor();
    await shot(page, '09-remediation-rolled-back');
  });

  it('gives an analyst no Remediate button, and lets them ignore a principal from its row', async () => {
    const analyst = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const p = await newPage(analyst);
      // Without a token the page asks for one, and says why a wrong one was refused.
      await p.goto(`${url}/`);
      await p.locator('#token-input').fill('tok_0000000000000000_wrong');
      await p.getByRole('button', { name: 'Sign in' }).click();
      await p.getByRole('alert').getByText('the bearer token is not valid').waitFor();
      await p.locator('#token-input').fill(analystToken);
      await p.getByRole('button', { name: 'Sign in' }).click();
      await p.locator('.principals-table tbody tr').first().waitFor();
      expect(await p.locator('.topbar .role').textContent()).toBe('analyst');
      await openTarget(p);
      const card = p.locator('.rec[data-kind="dormant-principal"]');
      await card.getByRole('button', { name: /How to fix/ }).click();
      await card.locator('[data-option="quarantine"]').waitFor();
      expect(await p.getByRole('button', { name: /Remediate/ }).count()).toBe(0);
      expect(await p.getByRole('button', { name: /Rollback/ }).count()).toBe(0);
      await shot(p, '10-analyst-no-remediate');
      await p.keyboard.press('Escape');

      const row = p.locator(`tr[data-principal]`, { hasText: TARGET });
      await row.hover();
      await row.getByRole('button', { name: `Ignore ${TARGET}` }).click();
      await p.locator('#ignore-reason').fill('decommission scheduled, ticket OPS-1234');
      await shot(p, '11-ignore-dialog');
      await p.locator('.ignore-dialog').getByRole('button', { name: 'Ignore' }).click();
      await row.locator('.badge', { hasText: 'ignored' }).waitFor();
      const ignores = await api<{ items: Array<{ reason: string; createdBy: string }> }>(
        `/ignores?active=true&principalId=${encodeURIComponent((await row.getAttribute('data-principal'))!)}`,
      );
      expect(ignores.items).toMatchObject([
        {
          reason: 'decommission scheduled, ticket OPS-1234',
          createdBy: expect.stringContaining('dashboard analyst'),
        },
      ]);
      await row.hover();
      await row.getByRole('button', { name: 'Unignore' }).click();
      await expect.poll(() => row.locator('.badge', { hasText: 'ignored' }).count()).toBe(0);

      // A token revoked while the page is open sends the user back to the token form.
      const revoked = await fetch(`${url}/api/v1/tokens/${tokenIdOf(analystToken)}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${adminToken}` },
      });
      expect(revoked.status).toBe(200);
      await p.locator('[data-widget="dormant-principals"]').click();
      await p.getByRole('alert').getByText('the bearer token has been revoked').waitFor();
      expect(await p.locator('#token-input').count()).toBe(1);
    } finally {
      await analyst.close();
    }
  });

  it('gives an auditor a read-only page: no Ignore, no Remediate', async () => {
    const { token } = await createToken(demo.db, {
      name: 'dashboard auditor',
      role: 'auditor',
      createdBy: 'test',
    });
    const auditor = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const p = await newPage(auditor);
      await p.goto(`${url}/#token=${token}`);
      await p.locator('.principals-table tbody tr').first().waitFor();
      expect(await p.locator('.topbar .role').textContent()).toBe('auditor');
      expect(await p.locator('.row-actions button').count()).toBe(0);
      await openTarget(p);
      const card = p.locator('.rec[data-kind="dormant-principal"]');
      await card.getByRole('button', { name: /How to fix/ }).click();
      await card.locator('[data-option="quarantine"]').waitFor();
      expect(await p.getByRole('button', { name: /Remediate/ }).count()).toBe(0);
    } finally {
      await auditor.close();
    }
  });

  it('loads nothing from outside the server', () => {
    expect(foreignRequests).toEqual([]);
  });
});
