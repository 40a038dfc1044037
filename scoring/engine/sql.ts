import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBValue } from '@duckdb/node-api';
import { DatabaseError, errorMessage } from '../../lib/errors.ts';
import type { Db } from '../../model/db.ts';

/**
 * Runs the scoring SQL files (scoring/engine/sql/NN_name.sql). A file holds several statements,
 * each ending with `;` at the end of a line; each statement is bound with only the parameters
 * it names, since DuckDB rejects unknown ones.
 */

const SQL_DIR = join(import.meta.dirname, 'sql');
const cache = new Map<string, string[]>();

function statementsOf(name: string): string[] {
  let statements = cache.get(name);
  if (!statements) {
    const text = readFileSync(join(SQL_DIR, `${name}.sql`), 'utf8');
    statements = text
      .split('\n')
      .filter((line) => !line.trim().startsWith('--'))
      .join('\n')
      .split(/;[ \t]*(?:\r?\n|$)/)
      .map((s) => s.trim())
      .filter((s) => s.split('\n').some((line) => line.trim() && !line.trim().startsWith('--')));
    cache.set(name, statements);
  }
  return statements;
}

function paramsFor(
  statement: string,
  params: Record<string, DuckDBValue>,
): Record<string, DuckDBValue> | undefined {
  const names = new Set([...statement.matchAll(/\$([a-z_][a-z0-9_]*)/gi)].map((m) => m[1]!));
  if (names.size === 0) return undefined;
  const bound: Record<string, DuckDBValue> = {};
  for (const name of names) {
    if (!(name in params)) throw new DatabaseError(`scoring SQL needs parameter $${name}`);
    bound[name] = params[name]!;
  }
  return bound;
}

/** Run every statement of sql/NAME.sql in order. */
export async function runSqlFile(
  db: Db,
  name: string,
  params: Record<string, DuckDBValue>,
): Promise<void> {
  for (const statement of statementsOf(name)) {
    const started = performance.now();
    try {
      await db.exec(statement, paramsFor(statement, params));
      if (process.env.SCORING_PROFILE)
        process.stderr.write(
          `${name} ${Math.round(performance.now() - started)} ms: ${statement
            .replace(/--[^\n]*\n/g, '')
            .slice(0, 70)
            .replace(/\s+/g, ' ')}\n`,
        );
    } catch (err) {
      const first = statement
        .split('\n')
        .find((l) => l.trim() && !l.trim().startsWith('--'))
        ?.trim();
      throw new DatabaseError(
        `scoring step ${name} failed at "${first}": ${errorMessage(err)}`,
        {
          step: name,
        },
        { cause: err },
      );
    }
  }
}
