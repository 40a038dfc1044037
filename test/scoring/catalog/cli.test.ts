import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/db.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'access-discovery');

async function cli(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args]);
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

describe('access-discovery catalog', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('map-events reads Records objects, arrays and gzip, one JSON line per event and a summary', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const recordsFile = join(dir, 'a.json.gz');
    writeFileSync(
      recordsFile,
      gzipSync(
        JSON.stringify({
          Records: [
            { eventSource: 's3.amazonaws.com', eventName: 'ListBuckets' },
            { eventSource: 'sts.amazonaws.com', eventName: 'GetCallerIdentity' },
          ],
        }),
      ),
    );
    const arrayFile = join(dir, 'b.json');
    writeFileSync(
      arrayFile,
      JSON.stringify([{ eventSource: 'ec2.amazonaws.com', eventName: 'LaunchRockets' }]),
    );

    const result = await cli(['catalog', 'map-events', recordsFile, arrayFile]);

    expect(result.code).toBe(0);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.eventName, l.status, l.actions])).toEqual([
      ['ListBuckets', 'mapped', ['s3:ListAllMyBuckets']],
      ['GetCallerIdentity', 'no-permission', []],
      ['LaunchRockets', 'unmapped', []],
    ]);
    expect(lines[2].reason).toMatch(/ec2:LaunchRockets/);
    expect(result.stderr).toMatch(
      /3 events in 2 files: 1 mapped, 1 no-permission, 1 unmapped \(66\.7% mapped or no-permission\)/,
    );
  });

  it('map-events goes on past an unreadable file and fails at the end naming it', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"not": "a trail"}');
    const good = join(dir, 'good.json');
    writeFileSync(
      good,
      JSON.stringify([{ eventSource: 'iam.amazonaws.com', eventName: 'ListUsers' }]),
    );

    const result = await cli(['catalog', 'map-events', bad, good]);

    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout.trim()).actions).toEqual(['iam:ListUsers']);
    expect(result.stderr).toMatch(/bad\.json/);
  });

  it('classify prints level, sensitivity and reasons per AWS action or GCP permission', async () => {
    const result = await cli([
      'catalog',
      'classify',
      'iam:PassRole',
      'storage.objects.get',
      'iam:*LoginProfile',
    ]);

    expect(result.code).toBe(0);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ action: 'iam:PassRole', level: 'ADMIN', observable: 'never' });
    expect(lines[0].levelReason).toMatch(/role/);
    expect(lines[1]).toMatchObject({ cloud: 'gcp', action: 'storage.objects.get', level: 'READ' });
    expect(lines[1].sensitivityReasons.length).toBeGreaterThan(1);
    expect(lines.slice(2).map((l) => l.action)).toEqual([
      'iam:CreateLoginProfile',
      'iam:DeleteLoginProfile',
      'iam:GetLoginProfile',
      'iam:UpdateLoginProfile',
    ]);
  });

  it('classify reports unknown names and exits non-zero', async () => {
    const result = await cli(['catalog', 'classify', 's3:Nope', 's3:GetObject']);

    expect(result.code).toBe(1);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ name: 's3:Nope' });
    expect(lines[0].error).toMatch(/unknown AWS action/);
    expect(lines[1].action).toBe('s3:GetObject');
  });

  it('load writes the catalog into the database named by --db', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const result = await cli(['--db', join(dir, 'ad.duckdb'), 'catalog', 'load']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/action catalog loaded: \d{5} AWS actions, 0 GCP permissions/);
  });
});
