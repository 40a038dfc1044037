import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../cli/main.ts';
import { runCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/db.ts';

function allCommands(cmd: Command, prefix: string[] = []): Array<{ path: string[]; cmd: Command }> {
  return cmd.commands.flatMap((sub) => {
    const path = [...prefix, sub.name()];
    return [{ path, cmd: sub }, ...allCommands(sub, path)];
  });
}

describe('cli', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);

  it('gives every command a description and a help text', () => {
    const commands = allCommands(buildProgram());
    expect(commands.map((c) => c.path.join(' '))).toEqual(
      expect.arrayContaining(['migrate', 'config check']),
    );
    for (const { path, cmd } of commands) {
      expect(cmd.description(), path.join(' ')).not.toBe('');
      expect(cmd.helpInformation()).toContain(`Usage: access-discovery ${path.join(' ')}`);
    }
  });

  it('prints help and exits 0 for --help', () => {
    const result = runCli(['migrate', '--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: access-discovery migrate');
  });

  it('creates and migrates a database file, then reports nothing to do', () => {
    const file = join(dir, 'cli.duckdb');
    const first = runCli(['migrate', '--db', file]);
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/migrated from version 0 to \d+/);
    expect(existsSync(file)).toBe(true);
    const second = runCli(['migrate', '--db', file]);
    expect(second.stdout).toMatch(/nothing to do/);
  });

  it('fails with a non-zero code and one clear line for an invalid config', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'integrations:\n  - id: x\n    kind: import\n');
    const result = runCli(['config', 'check', file]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('error: config');
    expect(result.stderr).toContain(
      'integrations[0].directory: missing, expected a value of type string',
    );
    expect(result.stderr).not.toContain('    at ');
  });

  it('shows the stack only with --verbose', () => {
    const result = runCli(['--verbose', 'config', 'check', join(dir, 'missing.yaml')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('cannot read config');
    expect(result.stderr).toContain('    at ');
  });

  it('rejects an unknown command with a usage hint and a non-zero code', () => {
    const result = runCli(['frobnicate']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("unknown command 'frobnicate'");
  });
});
