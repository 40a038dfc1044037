/**
 * The dashboard at scale, in a real browser: 100,000 principals (the API benchmark's seed),
 * Debian's chromium driven headless by playwright-core, each interaction timed from the
 * user's action until the table or panel shows the server's answer.
 *
 *   npm run bench -- dashboard [--principals N] [--rounds R]
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { createToken } from '../api/auth/tokens.ts';
import { startServer } from '../api/server.ts';
import { parseConfig } from '../config/load.ts';
import { seed } from './api.ts';

const CHROMIUM = '/usr/bin/chromium';

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} takes a positive integer`);
  return value;
}

async function attr(page: Page, name: string, value: string): Promise<void> {
  await page.waitForFunction(
    ([n, v]) => document.querySelector('.table-wrap')?.getAttribute(n!) === v,
    [name, value],
    { timeout: 60_000 },
  );
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const FILTERS = [
  'tier >= "high" and last_used < "30d"',
  'unused_level >= "IAM" and ignored = false',
  'principal contains "00042" or owner = "team-7"',
];

export async function main(args: string[]): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
  const principals = option(args, '--principals', 100_000);
  const rounds = option(args, '--rounds', 5);
  const dir = mkdtempSync(join(tmpdir(), 'ad-bench-dashboard-'));
  const path = join(dir, 'bench.duckdb');
  try {
    const seedSeconds = await seed(path, principals);
    process.stdout.write(
      `seeded ${principals.toLocaleString('en-US')} principals x 8 assessments in ${seedSeconds.toFixed(1)} s\n`,
    );
    const config = parseConfig({
      integrations: [
        {
          kind: 'aws-account',
          id: 'bench',
          roleArn: 'arn:aws:iam::100000000000:role/AccessDiscoveryReadOnly',
          trail: { bucket: 'bench-trail' },
        },
      ],
      server: { rateLimitPerMinute: 100_000_000 },
    });
    const server = await startServer({ config, databasePath: path, port: 0, logger: false });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
    try {
      const { token } = await createToken(server.db, {
        name: 'bench',
        role: 'admin',
        createdBy: 'bench',
      });
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      const rows = () => page.locator('.principals-table tbody tr').nth(49).waitFor();
      const ready = async () => {
        await rows();
        await page.locator('[data-widget="principals-by-tier"]').waitFor();
      };

      // The first load builds the bundle and copies the assessment into principal_list.
      const first = await timed(async () => {
        await page.goto(`${server.url}/#token=${token}`);
        await ready();
      });
      const figures: Record<string, number[]> = {};
      const add = (name: string, ms: number) => {
        figures[name] = [...(figures[name] ?? []), ms];
      };
      for (let r = 0; r < rounds; r++) {
        add(
          'reload: page, widgets, first 50 rows',
          await timed(async () => {
            await page.reload();
            await ready();
          }),
        );
        add(
          'sort by overprivilege',
          await timed(async () => {
            await page.locator('button[data-sort="overprivilege"]').click();
            await attr(page, 'data-sort', 'overprivilege:desc');
          }),
        );
        add(
          'next page',
          await timed(async () => {
            await page.getByRole('button', { name: 'Next' }).click();
            await attr(page, 'data-offset', '50');
          }),
        );
        const widgetFilter = 'ignored = false and status = "dormant"';
        add(
          'click a widget (filter the table)',
          await timed(async () => {
            await page.locator('[data-widget="dormant-principals"]').click();
            await attr(page, 'data-filter', widgetFilter);
          }),
        );
        const filter = FILTERS[r % FILTERS.length]!;
        add(
          'type a filter and press Enter',
          await timed(async () => {
            await page.locator('#filter-input').fill(filter);
            await page.locator('#filter-input').press('Enter');
            await attr(page, 'data-filter', filter);
          }),
        );
        add(
          'open a principal (details and recommendations)',
          await timed(async () => {
            await page.locator('.principal-open').first().click();
            await page.locator('.facts').waitFor();
            await page.locator('.recommendations').waitFor();
          }),
        );
        await page.keyboard.press('Escape');
      }
      const dom = await page.evaluate(() => ({
        nodes: document.getElementsByTagName('*').length,
        heap: (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory
          ?.usedJSHeapSize,
      }));

      process.stdout.write(
        `\nchromium headless, 1280x800, ${rounds} rounds, load average ${loadavg()[0]!.toFixed(1)}\n`,
      );
      process.stdout.write(`first load (bundle + principal_list copy): ${first.toFixed(0)} ms\n\n`);
      process.stdout.write(
        `${'interaction'.padEnd(50)} ${'median'.padStart(9)} ${'max'.padStart(9)}\n`,
      );
      for (const [name, samples] of Object.entries(figures)) {
        const sorted = [...samples].sort((a, b) => a - b);
        const median = sorted[Math.floor(sorted.length / 2)]!;
        process.stdout.write(
          `${name.padEnd(50)} ${`${median.toFixed(0)} ms`.padStart(9)} ${`${sorted.at(-1)!.toFixed(0)} ms`.padStart(9)}\n`,
        );
      }
      process.stdout.write(
        `\nDOM elements on the page: ${dom.nodes}; JS heap used: ${dom.heap ? `${(dom.heap / 1e6).toFixed(1)} MB` : 'n/a'}\n`,
      );
    } finally {
      await browser.close();
      await server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
