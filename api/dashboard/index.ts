import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.ts';

/**
 * The dashboard: one page at `/`, its script and stylesheet bundled in memory by esbuild from
 * `ui/` on the first request and kept for the life of the process. Nothing is fetched from
 * anywhere but this server (no CDN, no web font), which the CSP of the security plugin enforces.
 */

const UI_DIR = join(import.meta.dirname, 'ui');
export const DASHBOARD_ASSET_PREFIX = '/dashboard/';

export interface DashboardBundle {
  js: string;
  css: string;
  /** Short content hash, appended to asset URLs so a new bundle is never read from a cache. */
  version: string;
  html: string;
}

let pending: Promise<DashboardBundle> | null = null;

function page(version: string): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Access Discovery</title>',
    '<link rel="icon" href="data:,">',
    `<link rel="stylesheet" href="${DASHBOARD_ASSET_PREFIX}app.css?v=${version}">`,
    `<script type="module" src="${DASHBOARD_ASSET_PREFIX}app.js?v=${version}"></script>`,
    '</head>',
    '<body>',
    '<noscript>The Access Discovery dashboard needs JavaScript.</noscript>',
    '<div id="app"></div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

async function bundle(): Promise<DashboardBundle> {
  const result = await build({
    entryPoints: [join(UI_DIR, 'main.tsx')],
    bundle: true,
    write: false,
    outdir: join(UI_DIR, 'out'),
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    platform: 'browser',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'eof',
    // Preact ships no license comment of its own; its MIT licence asks for the notice.
    banner: {
      js: '/*! Includes Preact. The MIT License (MIT). Copyright (c) 2015-present Jason Miller */',
    },
    logLevel: 'silent',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  const css = result.outputFiles.find((f) => f.path.endsWith('.css'));
  if (!js || !css) throw new Error('the dashboard bundle has no script or no stylesheet');
  const version = createHash('sha256')
    .update(js.contents)
    .update(css.contents)
    .digest('hex')
    .slice(0, 12);
  return { js: js.text, css: css.text, version, html: page(version) };
}

/** The bundle, built once per process (a failed build is retried on the next request). */
export function dashboardBundle(): Promise<DashboardBundle> {
  if (!pending) {
    pending = bundle().catch((err: unknown) => {
      pending = null;
      throw err;
    });
  }
  return pending;
}

async function load(app: FastifyInstance): Promise<DashboardBundle> {
  try {
    return await dashboardBundle();
  } catch (err) {
    app.log.error({ err }, 'cannot bundle the dashboard');
    throw new ApiError(500, 'internal', 'the dashboard could not be built');
  }
}

/** `/` and its two assets. They are outside `/api`, need no token (the page asks for one). */
export function registerDashboard(app: FastifyInstance): void {
  const route = { schema: { hide: true } };

  app.get('/', route, async (_request, reply) => {
    const b = await load(app);
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(b.html);
  });

  for (const [file, type] of [
    ['app.js', 'text/javascript; charset=utf-8'],
    ['app.css', 'text/css; charset=utf-8'],
  ] as const) {
    app.get(`${DASHBOARD_ASSET_PREFIX}${file}`, route, async (request, reply) => {
      const b = await load(app);
      const asked = (request.query as { v?: unknown }).v;
      // Versioned URLs never change content; unversioned ones must be checked every time.
      void reply.header(
        'cache-control',
        asked === b.version ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
      return reply.type(type).send(file === 'app.js' ? b.js : b.css);
    });
  }
}
