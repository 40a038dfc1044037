import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { type GlobalOptions, requireConfig } from '../context.ts';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('work with the configuration file');
  config
    .command('check')
    .description('validate a config file and summarise what it configures')
    .argument(
      '[file]',
      'config file (default: --config, $ACCESS_DISCOVERY_CONFIG or ./access-discovery.yaml)',
    )
    .action(async (file: string | undefined, _opts: unknown, cmd: Command) => {
      const options = cmd.optsWithGlobals<GlobalOptions>();
      const loaded = file ? loadConfig(file) : requireConfig(options);
      const { config: c } = loaded;
      process.stdout.write(`config ${loaded.path} is valid\n`);
      process.stdout.write(`  database: ${loaded.databasePath}\n`);
      process.stdout.write(
        `  window: ${c.lookbackDays} days, dormancy after ${c.dormancyDays} days, schedule "${c.schedule.cron}" (${c.schedule.timezone})\n`,
      );
      for (const i of c.integrations) {
        process.stdout.write(
          `  integration ${i.id}: ${i.kind}${i.owner ? `, owner ${i.owner}` : ''}\n`,
        );
      }
    });
}
