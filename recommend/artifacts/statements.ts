import { createHash } from 'node:crypto';
import type { ParsedStatement } from '../../scoring/policy/parse.ts';

/** The raw statements of a policy document, in order (a single statement object becomes a list). */
export function rawStatements(document: unknown): Array<Record<string, unknown>> {
  const value = typeof document === 'string' ? (JSON.parse(document) as unknown) : document;
  const statement = (value as { Statement?: unknown } | null)?.Statement;
  if (statement === undefined) return [];
  const list = Array.isArray(statement) ? statement : [statement];
  return list.filter((s): s is Record<string, unknown> => typeof s === 'object' && s !== null);
}

/** Repokid's convention: statements whose Sid starts with NOREPO are never rewritten away. */
export function isNorepo(statement: Pick<ParsedStatement, 'sid'>): boolean {
  return statement.sid?.toUpperCase().startsWith('NOREPO') ?? false;
}

/** Short content hash for names that must change when the content does. */
export function contentHash(value: unknown, length = 8): string {
  return createHash('sha256')
    .update(typeof value === 'string' ? value : JSON.stringify(value))
    .digest('hex')
    .slice(0, length);
}

/** Pretty JSON text of a policy document, as the artifacts show it. */
export function documentText(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Single-quote a value for a POSIX shell. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** AWS CLI spelling of an API name: `ListSSHPublicKeys` → `list-ssh-public-keys`. */
export function kebab(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}
