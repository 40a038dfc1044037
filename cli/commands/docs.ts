import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Db } from '../../model/db.ts';
import { describeTables, renderTablesMarkdown } from '../../model/tables.ts';

export function registerDocs(program: Command): void {
  const docs = program.command('docs').description('generate reference documentation');
  docs
    .command('tables')
    .description('write the table reference (docs/tables.md) from the schema descriptions')
    .option('--out <file>', 'output file (default: stdout)')
    .action(async (opts: { out?: string }) => {
      const db = await Db.open(':memory:');
      try {
        const text = renderTablesMarkdown(await describeTables(db));
        if (opts.out) writeFileSync(opts.out, text);
        else process.stdout.write(text);
      } finally {
        db.closeAll();
      }
    });
}
