import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.ts';
import { tempDir } from '../../helpers/db.ts';
import { HAS_REALDATA, realdataPath } from '../../helpers/realdata.ts';

describe.skipIf(!HAS_REALDATA)('assess and explain on the real samples', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);
  const db = join(dir, 'cli.duckdb');

  it('assesses a folder without a config file and prints principals by tier and status and the top risks', () => {
    const result = runCli([
      'assess',
      '--import',
      realdataPath('aws'),
      '--db',
      db,
      '--as-of',
      '2026-11-21',
      '-q',
    ]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(
      /assessment import-aws-\S+: succeeded, window 2026-08-24\.\.2026-11-21, \d+ principals/,
    );
    expect(result.stdout).toMatch(/^tier\s+active\s+dormant\s+new\s+no-coverage\s+total$/m);
    expect(result.stdout).toMatch(/^Critical\s+0\s+0\s+0\s+\d+\s+\d+$/m);
    expect(result.stdout).toContain('top risks');
    expect(result.stdout).toMatch(/^\s+1\s+\d+\s+Critical\s+no-coverage\s+arn:aws:iam::/m);
  }, 120_000);

  it('explains a principal by name: components, permissions per level and status evidence', () => {
    const result = runCli([
      'explain',
      'privesc15-PassExistingRoleToNewLambdaThenInvoke-user',
      '--db',
      db,
    ]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('risk score  55 / 100');
    expect(result.stdout).toMatch(/escalation\s+25 \/ 25/);
    expect(result.stdout).toContain(
      'aws-passrole-lambda-invoke: iam:PassRole + lambda:CreateFunction + lambda:InvokeFunction',
    );
    expect(result.stdout).toMatch(/ADMIN\s+1\s+0\s+0\s+1/);
    expect(result.stdout).toContain('status      no-coverage');
    // No logs of the window: nothing it holds can be called unused.
    expect(result.stdout).toMatch(/WRITE\s+2\s+0\s+0\s+2/);
    expect(result.stdout).toContain(
      'evidence gap: the logs of account 200611803367 cover only 0 of the 88 days',
    );
  });

  it('exits 1 with one sentence for an unknown principal', () => {
    const result = runCli(['explain', 'nobody', '--db', db]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('no score for "nobody"');
  });
});
