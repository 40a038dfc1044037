import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.ts';
import { ConfigError } from '../../lib/errors.ts';
import { tempDir } from '../helpers/db.ts';
import badConfigs from './bad-configs.json' with { type: 'json' };

const { dir, cleanup } = tempDir();
afterAll(cleanup);

function writeConfig(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config validation', () => {
  // `expected`: the schema's issue lines; `message`: what a file that is not even a YAML or
  // JSON value says instead.
  it.each(
    badConfigs as Array<{ name: string; input: string; expected?: string[]; message?: string }>,
  )(
    'rejects $name with the offending path and what was expected',
    ({ name, input, expected, message }) => {
      const file = writeConfig(`${name.replaceAll(/[^a-z0-9-]+/gi, '-')}.yaml`, input);
      const err = errorOf(() => loadConfig(file));
      if (message !== undefined) {
        expect(err.message).toContain(message);
        expect(err.message).toContain(file);
        expect(err.message).not.toMatch(/:$|column \d+:.*column \d+/);
        return;
      }
      const issues = err.details.issues as string[];
      for (const line of expected ?? []) expect(issues).toContain(line);
      expect(expected?.length).toBeGreaterThan(0);
      expect(err.message).toContain('is invalid');
    },
  );

  it('accepts the example config and fills documented defaults', () => {
    const { config, databasePath } = loadConfig(
      join(import.meta.dirname, '..', '..', 'examples', 'access-discovery.yaml'),
    );
    expect(config.lookbackDays).toBe(90);
    expect(config.integrations.map((i) => i.kind)).toEqual([
      'aws-organization',
      'gcp-organization',
      'import',
    ]);
    const org = config.integrations[0];
    if (org?.kind !== 'aws-organization') throw new Error('expected an aws-organization');
    expect(org.concurrency).toBe(8);
    expect(org.regions).toEqual(['us-east-1', 'eu-west-1']);
    expect(databasePath).toMatch(/examples\/data\/access-discovery\.duckdb$/);
  });

  it('accepts JSON as well as YAML', () => {
    const file = writeConfig(
      'ok.json',
      JSON.stringify({ integrations: [{ id: 'dir', kind: 'import', directory: './x' }] }),
    );
    expect(loadConfig(file).config.dormancyDays).toBe(90);
  });

  it('reports YAML syntax errors with their line', () => {
    const file = writeConfig(
      'broken.yaml',
      'integrations:\n  - id: x\n   kind: import\n  bad: [\n',
    );
    expect(() => loadConfig(file)).toThrow(/not valid YAML or JSON at line \d+/);
  });

  it('reports a missing file in one sentence', () => {
    expect(() => loadConfig(join(dir, 'nope.yaml'))).toThrow(
      /cannot read config .*nope\.yaml: no such file/,
    );
  });
});
