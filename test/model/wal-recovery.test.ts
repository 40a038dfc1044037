import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseError } from '../../lib/errors.ts';
import { Db } from '../../model/db.ts';
import { currentSchemaVersion, latestSchemaVersion, migratingMarker } from '../../model/migrate.ts';
import { tempDir } from '../helpers/db.ts';

const CHILD = join(import.meta.dirname, 'crash-child.ts');

/** Run the child until it kills itself; returns the signal it died of. */
function crashAt(path: string, point: string): NodeJS.Signals | null {
  const result = spawnSync(process.execPath, ['--import', 'tsx', CHILD, path, point], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.signal !== 'SIGKILL') {
    throw new Error(`child did not die at ${point}: ${result.status} ${result.stderr}`);
  }
  return result.signal;
}

function asideFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.includes('.wal.unreplayable-'));
}

describe('opening a database after SIGKILL', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('recovers a file killed in the middle of its migrations without losing anything', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'db.duckdb');
    crashAt(path, 'after-migration-1');
    expect(existsSync(migratingMarker(path))).toBe(true);
    const warnings: string[] = [];
    const db = await Db.open(path, { warn: (m) => warnings.push(m) });
    try {
      expect(await currentSchemaVersion(db)).toBe(latestSchemaVersion());
      expect(await db.scalar('SELECT count(*) FROM audit_log')).toBe(0);
    } finally {
      db.closeAll();
    }
    expect(existsSync(migratingMarker(path))).toBe(false);
    // Either DuckDB replayed the WAL, or it was set aside with a warning that says so.
    expect(warnings.length).toBe(asideFiles(dir).length);
    for (const w of warnings) expect(w).toMatch(/interrupted migration.*no data lost/);
    // The migrations were checkpointed: the file now opens without any recovery.
    const again = await Db.open(path, { warn: (m) => warnings.push(m) });
    again.closeAll();
    expect(warnings.length).toBe(asideFiles(dir).length);
  }, 60_000);

  it('keeps a committed write made after the migrations (the WAL replays)', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'db.duckdb');
    crashAt(path, 'after-insert');
    expect(existsSync(`${path}.wal`)).toBe(true);
    const warnings: string[] = [];
    const db = await Db.open(path, { warn: (m) => warnings.push(m) });
    try {
      expect(await db.scalar("SELECT count(*) FROM audit_log WHERE actor = 'crash-child'")).toBe(1);
    } finally {
      db.closeAll();
    }
    expect(warnings).toEqual([]);
    expect(asideFiles(dir)).toEqual([]);
  }, 60_000);

  it('refuses a WAL that may hold data unless the loss is accepted, then says so loudly', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'db.duckdb');
    crashAt(path, 'after-migration-1');
    // Without the marker nothing proves the WAL holds only migrations.
    rmSync(migratingMarker(path));
    const probe = await Db.open(path, { migrate: false, readOnly: true }).then(
      (db) => {
        db.closeAll();
        return null;
      },
      (err: unknown) => err,
    );
    if (probe === null) {
      // This DuckDB replays the WAL: nothing to recover from.
      return;
    }
    await expect(Db.open(path)).rejects.toThrow(DatabaseError);
    await expect(Db.open(path)).rejects.toThrow(/--discard-unreplayable-wal/);
    expect(existsSync(`${path}.wal`)).toBe(true);
    const warnings: string[] = [];
    const db = await Db.open(path, {
      discardUnreplayableWal: true,
      warn: (m) => warnings.push(m),
    });
    try {
      expect(await currentSchemaVersion(db)).toBe(latestSchemaVersion());
    } finally {
      db.closeAll();
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/DISCARDED.*ingested again/);
    expect(asideFiles(dir)).toHaveLength(1);
  }, 60_000);
});
