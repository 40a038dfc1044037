import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { Db } from '../../model/db.ts';
import { migrate } from '../../model/migrate.ts';

const DEMO_DIR = resolve('.demo');

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the demo: migrate an embedded database and check the example configuration')
    .action(async () => {
      mkdirSync(DEMO_DIR, { recursive: true });
      const loaded = loadConfig(
        join(import.meta.dirname, '..', '..', 'examples', 'access-discovery.yaml'),
      );
      process.stdout.write(
        `example config ${loaded.path} is valid: ${loaded.config.integrations.length} integrations\n`,
      );
      const db = await Db.open(join(DEMO_DIR, 'access-discovery.duckdb'), { migrate: false });
      try {
        const result = await migrate(db);
        const tables = await db.scalar<number>(
          "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main'",
        );
        process.stdout.write(
          `demo database ${db.path}: schema version ${result.to}, ${tables} tables\n`,
        );
      } finally {
        db.closeAll();
      }
    });
}
