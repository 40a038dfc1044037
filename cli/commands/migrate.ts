import type { Command } from 'commander';
import { Db } from '../../model/db.ts';
import { migrate } from '../../model/migrate.ts';
import { type GlobalOptions, resolveDatabasePath } from '../context.ts';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('create the database file or bring it to the current schema version')
    .option(
      '--discard-unreplayable-wal',
      'when the write-ahead log cannot be replayed, set it aside and open the file as of its last checkpoint (loses what was committed since)',
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const options = cmd.optsWithGlobals<GlobalOptions & { discardUnreplayableWal?: boolean }>();
      const path = resolveDatabasePath(options);
      const db = await Db.open(path, {
        migrate: false,
        discardUnreplayableWal: options.discardUnreplayableWal === true,
      });
      try {
        const result = await migrate(db);
        if (result.applied.length === 0) {
          process.stdout.write(
            `database ${path} is at schema version ${result.to}; nothing to do\n`,
          );
        } else {
          process.stdout.write(
            `database ${path} migrated from version ${result.from} to ${result.to} (${result.applied.join(', ')})\n`,
          );
        }
      } finally {
        db.closeAll();
      }
    });
}
