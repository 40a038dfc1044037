import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, errorMessage } from '../lib/errors.ts';
import { type Config, configSchema } from './schema.ts';

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file read. */
  path: string;
  /** Absolute path of the database file (relative paths resolve against the config file). */
  databasePath: string;
}

/** `integrations[0].trail.bucket` from a zod issue path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(top level)';
}

function describeReceived(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'string')
    return JSON.stringify(input.length > 60 ? `${input.slice(0, 57)}...` : input);
  if (typeof input === 'object') return 'an object';
  return `${typeof input} ${String(input)}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key as string];
  }
  return node;
}

/** One line per problem: the offending field, what was expected and what was found. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string[] {
  return issues.map((issue) => {
    const where = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      return `${where}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    }
    if (
      issue.code === 'invalid_union' &&
      'note' in issue &&
      issue.note === 'No matching discriminator'
    ) {
      return `${where}: expected one of aws-organization, aws-account, gcp-organization, gcp-project, import, got ${describeReceived(valueAt(input, issue.path))}`;
    }
    const value = valueAt(input, issue.path);
    if (value === undefined && (issue.code === 'invalid_type' || issue.code === 'custom')) {
      const what =
        issue.code === 'invalid_type' ? `a value of type ${issue.expected}` : issue.message;
      return `${where}: missing, expected ${what}`;
    }
    const received = describeReceived(value);
    let expected = issue.message.replace(/^Invalid input: /, '');
    if (issue.code === 'invalid_format' || issue.code === 'custom')
      expected = `expected ${issue.message}`;
    if (issue.code === 'invalid_type' || issue.code === 'invalid_value') {
      expected = issue.message
        .replace(/^Invalid (input|option): /, '')
        .replace(/, received \w+$/, '');
    }
    return `${where}: ${expected} (got ${received})`;
  });
}

/** Validate an already-parsed config object. */
export function parseConfig(input: unknown, source = 'config'): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const lines = formatIssues(result.error.issues, input);
    throw new ConfigError(`${source} is invalid:\n  ${lines.join('\n  ')}`, {
      source,
      issues: lines,
    });
  }
  return result.data;
}

/** Read, parse and validate a YAML or JSON config file. */
export function loadConfig(file: string): LoadedConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new ConfigError(`cannot read config ${file}: ${why}`, { path }, { cause: err });
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const pos = first.linePos?.[0];
    const at = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
    // prettyErrors appends the position and a code excerpt; the position is already in `at`.
    const why = (first.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(`config ${file} is not valid YAML or JSON${at}: ${why}`, { path });
  }
  let input: unknown;
  try {
    input = doc.toJS();
  } catch (err) {
    // The yaml library refuses alias bombs ("billion laughs") while building the value.
    throw new ConfigError(`config ${file} cannot be read: ${errorMessage(err)}`, { path });
  }
  const config = parseConfig(input, `config ${file}`);
  const databasePath =
    config.database === ':memory:' || isAbsolute(config.database)
      ? config.database
      : resolve(dirname(path), config.database);
  return { config, path, databasePath };
}
