import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
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
export async function migrate(
  db: Db,
  dir = MIGRATIONS_DIR,
  options: { onApplied?: (migration: Migration) => void | Promise<void> } = {},
): Promise<MigrationResult> {
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
  const pending = migrations.slice(from);
  const marker = db.path === ':memory:' ? undefined : migratingMarker(db.path);
  if (pending.length === 0) {
    // A marker left by a process killed after its final checkpoint: the WAL is already empty.
    if (marker) rmSync(marker, { force: true });
    return { from, to: latest, applied };
  }
  if (marker) {
    // The WAL holds only migration work from here until the final checkpoint (see migratingMarker).
    await db.checkpoint();
    writeMarker(marker, from);
  }
  for (const m of pending) {
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
    await options.onApplied?.(m);
  }
  if (marker) {
    await db.checkpoint();
    rmSync(marker, { force: true });
  }
  return { from, to: latest, applied };
}

/**
 * The file that says "the write-ahead log holds nothing but migrations". DuckDB 1.5 cannot
 * replay some schema changes from its WAL (a COMMENT on a table whose column defaults to
 * `nextval(...)`: "Failure while replaying WAL file"), so a process killed between a
 * migration's commit and the next checkpoint would leave a file that no longer opens.
 * `migrate` therefore checkpoints before the first pending migration, writes this marker,
 * applies the migrations and checkpoints again before removing it. When the WAL cannot be
 * replayed and the marker is present, {@link Db.open} may set the WAL aside without losing
 * any data: the migrations it held are applied again.
 */
export function migratingMarker(path: string): string {
  return `${path}.migrating`;
}

function writeMarker(path: string, fromVersion: number): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(
      fd,
      `${JSON.stringify({ fromVersion, pid: process.pid, startedAt: new Date().toISOString() })}\n`,
    );
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
