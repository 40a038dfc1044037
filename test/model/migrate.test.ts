import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseError } from '../../lib/errors.ts';
import { Db } from '../../model/db.ts';
import {
  currentSchemaVersion,
  latestSchemaVersion,
  MIGRATIONS_DIR,
  migrate,
} from '../../model/migrate.ts';
import { tempDir } from '../helpers/db.ts';

const CORE_TABLES = [
  'integration',
  'assessment',
  'account',
  'principal',
  'policy',
  'principal_policy',
  'grant',
  'action_catalog',
  'usage_daily',
  'identity_usage',
  'ingest_object',
  'principal_score',
  'recommendation',
  'remediation',
  'ignore_rule',
  'api_token',
  'audit_log',
];

describe('migrations', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('creates every core table with a primary key and a description on every column', async () => {
    const db = await Db.open(':memory:');
    try {
      const tables = await db.all<{ table_name: string; comment: string | null }>(
        "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name='main'",
      );
      const names = tables.map((t) => t.table_name);
      for (const t of CORE_TABLES) expect(names).toContain(t);
      for (const t of tables) expect(t.comment, `table ${t.table_name}`).toBeTruthy();
      const undocumented = await db.all(
        `SELECT table_name, column_name FROM duckdb_columns()
         WHERE schema_name = 'main' AND NOT internal AND (comment IS NULL OR comment = '')`,
      );
      expect(undocumented).toEqual([]);
      const keyless = await db.all(
        `SELECT t.table_name FROM duckdb_tables() t WHERE t.schema_name='main' AND NOT EXISTS (
           SELECT 1 FROM duckdb_constraints() c WHERE c.table_name = t.table_name AND c.constraint_type = 'PRIMARY KEY')`,
      );
      expect(keyless).toEqual([]);
    } finally {
      db.closeAll();
    }
  });

  it('records the schema version and is a no-op when run again', async () => {
    const db = await Db.open(':memory:');
    try {
      expect(await currentSchemaVersion(db)).toBe(latestSchemaVersion());
      const again = await migrate(db);
      expect(again.applied).toEqual([]);
      expect(await db.scalar('SELECT count(*) FROM schema_version')).toBe(latestSchemaVersion());
    } finally {
      db.closeAll();
    }
  });

  it('migrates an older database file forward and keeps its rows', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = join(dir, 'old.duckdb');
    // An "older release" knows only the first migration.
    const oldDir = join(dir, 'migrations-v1');
    mkdirSync(oldDir);
    const { readFileSync } = await import('node:fs');
    writeFileSync(join(oldDir, '001_core.sql'), readFileSync(join(MIGRATIONS_DIR, '001_core.sql')));
    const old = await Db.open(file, { migrate: false });
    await migrate(old, oldDir);
    await old.exec(
      "INSERT INTO integration VALUES ('acme', 'import', 'Acme', NULL, '{}', now(), now())",
    );
    old.closeAll();

    const db = await Db.open(file);
    try {
      expect(await currentSchemaVersion(db)).toBe(latestSchemaVersion());
      expect(await db.scalar("SELECT name FROM integration WHERE integration_id = 'acme'")).toBe(
        'Acme',
      );
    } finally {
      db.closeAll();
    }
  });

  it('refuses a database written by a newer release with a clear message', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = join(dir, 'future.duckdb');
    const db = await Db.open(file);
    await db.exec("INSERT INTO schema_version VALUES (999, 'from_the_future', 'x', now())");
    db.closeAll();

    await expect(Db.open(file)).rejects.toThrow(DatabaseError);
    await expect(Db.open(file)).rejects.toThrow(
      /schema version 999, newer than this release supports/,
    );
  });
});
