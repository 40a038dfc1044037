import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseError } from '../lib/errors.ts';
import type { Db } from './db.ts';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/** The numbered `NNN_name.sql` files in `model/migrations`, in order. */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
  const migrations = files.map((file) => {
    const sql = readFileSync(join(dir, file), 'utf8');
    return {
      version: Number(file.slice(0, 3)),
      name: file.slice(4, -4),
      sql,
      checksum: createHash('sha256').update(sql).digest('hex').slice(0, 16),
    };
  });
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new DatabaseError(
        `migration numbering has a gap or duplicate at ${m.version}_${m.name}`,
      );
    }
  });
  return migrations;
}

export function latestSchemaVersion(dir = MIGRATIONS_DIR): number {
  return loadMigrations(dir).length;
}

/** The schema version stored in the database, 0 for a new file. */
export async function currentSchemaVersion(db: Db): Promise<number> {
  const exists = await db.scalar<number>(
    "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_version' AND schema_name = 'main'",
  );
  if (!exists) return 0;
  const version = await db.scalar<number | null>('SELECT max(version) FROM schema_version');
  return version ?? 0;
}

export interface MigrationResult {
  from: number;
  to: number;
  applied: string[];
}

/**
 * Apply every migration newer than the database's version, each in its own transaction.
 * A database written by a newer release is refused rather than guessed at.
 */
export async function migrate(db: Db, dir = MIGRATIONS_DIR): Promise<MigrationResult> {
  const migrations = loadMigrations(dir);
  const latest = migrations.length;
  const from = await currentSchemaVersion(db);
  if (from > latest) {
    throw new DatabaseError(
      `database ${db.path} has schema version ${from}, newer than this release supports (${latest}); upgrade Access Discovery or open a different file`,
      { path: db.path, found: from, supported: latest },
    );
  }
  const applied: string[] = [];
  for (const m of migrations.slice(from)) {
    try {
      await db.transaction(async (tx) => {
        await tx.exec(m.sql);
        await tx.exec(
          'INSERT INTO schema_version (version, name, checksum, applied_at) VALUES ($version, $name, $checksum, now())',
          { version: m.version, name: m.name, checksum: m.checksum },
        );
      });
    } catch (err) {
      const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new DatabaseError(
        `migration ${m.version}_${m.name} failed: ${reason}`,
        { path: db.path },
        { cause: err },
      );
    }
    applied.push(`${String(m.version).padStart(3, '0')}_${m.name}`);
  }
  return { from, to: latest, applied };
}
