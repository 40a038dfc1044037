import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db, quoteLiteral } from '../../model/db.ts';
import { BIN, runCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/db.ts';
import { CURRENT, seedWorld } from './world.ts';

const tmp = tempDir('ad-cli-api-');
const configPath = join(tmp.dir, 'access-discovery.yaml');
const dbPath = join(tmp.dir, 'ad.duckdb');

beforeAll(async () => {
  writeFileSync(
    configPath,
    [
      'database: ./ad.duckdb',
      'integrations:',
      '  - kind: aws-account',
      '    id: prod',
      '    roleArn: arn:aws:iam::111111111111:role/AccessDiscoveryReadOnly',
      '    trail: { bucket: org-trail-bucket }',
      '  - kind: gcp-project',
      '    id: gcp',
      '    projectId: fx-project-01',
      'server: { port: 0 }',
      '',
    ].join('\n'),
  );
  const db = await Db.open(dbPath);
  await seedWorld(db);
  db.closeAll();
});

afterAll(() => tmp.cleanup());

const cli = (args: string[]) => runCli(['--config', configPath, ...args], { cwd: tmp.dir });

async function query<T extends Record<string, unknown>>(sql: string): Promise<T[]> {
  const db = await Db.open(dbPath, { readOnly: true });
  try {
    return (await db.all(sql)) as T[];
  } finally {
    db.closeAll();
  }
}

describe('tokens command', () => {
  it('creates (printing the token once), lists and revokes tokens, audited', async () => {
    const created = cli([
      'tokens',
      'create',
      '--role',
      'auditor',
      '--name',
      'external audit',
      '--expires-in',
      '30d',
    ]);
    expect(created.status, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^tok_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const id = token.slice(0, 20);
    expect(created.stderr).toContain(`token ${id} (auditor, "external audit")`);

    const listed = cli(['tokens', 'list']);
    expect(listed.status).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+auditor\\s+external audit`));
    expect(listed.stdout).not.toContain(token.slice(21));

    const revoked = cli(['tokens', 'revoke', id]);
    expect(revoked.status, revoked.stderr).toBe(0);
    const json = cli(['tokens', 'list', '--json']);
    const rows = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.find((r) => r.tokenId === id).revokedAt).not.toBeNull();

    const audit = await query<{ action: string; actor: string; target: string }>(
      "SELECT action, actor, target FROM audit_log WHERE action LIKE 'token.%' ORDER BY audit_id",
    );
    expect(audit.map((a) => [a.action, a.target])).toEqual([
      ['token.create', id],
      ['token.revoke', id],
    ]);
    expect(audit[0]!.actor).toMatch(/^cli:/);
  });

  it('refuses unknown roles, bad expiries and unknown ids with one clear line', () => {
    const role = cli(['tokens', 'create', '--role', 'root', '--name', 'x']);
    expect(role.status).toBe(1);
    expect(role.stderr).toBe(
      'error: unknown role "root": expected one of admin, analyst, auditor\n',
    );
    const expiry = cli([
      'tokens',
      'create',
      '--role',
      'admin',
      '--name',
      'x',
      '--expires-in',
      'soon',
    ]);
    expect(expiry.status).toBe(1);
    expect(expiry.stderr).toContain('invalid expiry "soon"');
    const revoke = cli(['tokens', 'revoke', 'tok_nope']);
    expect(revoke.status).toBe(1);
    expect(revoke.stderr).toContain('no token with id "tok_nope"');
  });
});

describe('report command', () => {
  it("writes the report of an integration's current assessment, audited", async () => {
    const out = join(tmp.dir, 'report.parquet');
    const r = cli(['report', '--integration', 'prod', '--format', 'parquet', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(out);
    const rows = await query<{ n: number }>(
      `SELECT count(*) AS n FROM read_parquet(${quoteLiteral(out)})`,
    );
    expect(rows[0]!.n).toBe(64);
    const html = join(tmp.dir, 'report.html');
    expect(cli(['report', '--assessment', CURRENT, '--format', 'html', '--out', html]).status).toBe(
      0,
    );
    expect(existsSync(html)).toBe(true);
    const audit = await query<{ target: string; details: string }>(
      "SELECT target, details FROM audit_log WHERE action = 'report.export' ORDER BY audit_id",
    );
    expect(audit.map((a) => a.target)).toEqual([CURRENT, CURRENT]);
    expect(JSON.parse(audit[0]!.details)).toMatchObject({ format: 'parquet', out });
  });

  it('refuses missing or conflicting options and unknown formats', () => {
    expect(cli(['report', '--format', 'csv', '--out', 'x.csv']).stderr).toContain(
      'exactly one of --assessment ID and --integration ID',
    );
    expect(
      cli(['report', '--assessment', 'a', '--integration', 'b', '--format', 'csv', '--out', 'x'])
        .status,
    ).toBe(1);
    expect(
      cli(['report', '--assessment', CURRENT, '--format', 'xlsx', '--out', 'x']).stderr,
    ).toContain('unknown format "xlsx"');
    expect(
      cli(['report', '--assessment', 'nope', '--format', 'csv', '--out', 'x']).stderr,
    ).toContain('assessment nope does not exist');
  });
});

describe('serve command', () => {
  it('serves the API on the port it prints, refuses the CLI while it holds the database, and stops on SIGTERM', async () => {
    const token = cli([
      'tokens',
      'create',
      '--role',
      'analyst',
      '--name',
      'serve-test',
    ]).stdout.trim();
    const child = spawn(process.execPath, [BIN, '--config', configPath, 'serve', '--port', '0'], {
      cwd: tmp.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk) => {
          out += String(chunk);
          const m = /serving on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on('exit', (code) => reject(new Error(`serve exited with ${code}`)));
        setTimeout(() => reject(new Error('serve did not start')), 30_000);
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await fetch(`${url}/api/v1/health`);
      expect(await health.json()).toEqual({ status: 'ok' });
      const page = await fetch(`${url}/api/v1/principals?limit=1`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(page.status).toBe(200);
      expect(((await page.json()) as { total: number }).total).toBe(66);
      const busy = cli(['tokens', 'list']);
      expect(busy.status).toBe(1);
      expect(busy.stderr).toContain('is `serve` running?');
    } finally {
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
