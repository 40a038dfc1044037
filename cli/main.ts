import { Command, CommanderError } from 'commander';
import { AccessDiscoveryError, ConfigError } from '../lib/errors.ts';
import { registerAssess } from './commands/assess.ts';
import { registerCatalog } from './commands/catalog.ts';
import { registerConfig } from './commands/config.ts';
import { registerDemo } from './commands/demo.ts';
import { registerDocs } from './commands/docs.ts';
import { registerExplain } from './commands/explain.ts';
import { registerFixtures } from './commands/fixtures.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerRecommendations } from './commands/recommendations.ts';
import { registerRemediate } from './commands/remediate.ts';
import { registerReport } from './commands/report.ts';
import { registerServe } from './commands/serve.ts';
import { registerTokens } from './commands/tokens.ts';

export function buildProgram(): Command {
  const program = new Command('access-discovery')
    .description('Least-privilege engine for AWS and GCP: assess, score, recommend, remediate.')
    .option(
      '-c, --config <file>',
      'config file (default: $ACCESS_DISCOVERY_CONFIG or ./access-discovery.yaml)',
    )
    .option('--db <file>', 'database file (overrides the config file)')
    .option('-v, --verbose', 'print details and stack traces on errors')
    .option('-q, --quiet', 'no progress output')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerMigrate(program);
  registerConfig(program);
  registerDocs(program);
  registerCatalog(program);
  registerFixtures(program);
  registerRecommendations(program);
  registerRemediate(program);
  registerDemo(program);
  registerAssess(program);
  registerExplain(program);
  registerServe(program);
  registerTokens(program);
  registerReport(program);
  return program;
}

/** Run the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed help or the usage error.
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`error: ${message}\n`);
    if (verbose) {
      if (err instanceof AccessDiscoveryError && Object.keys(err.details).length > 0) {
        process.stderr.write(`details: ${JSON.stringify(err.details)}\n`);
      }
      if (err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
      if (err instanceof Error && err.cause) process.stderr.write(`cause: ${String(err.cause)}\n`);
    } else if (!(err instanceof AccessDiscoveryError) || err instanceof ConfigError) {
      if (!(err instanceof AccessDiscoveryError))
        process.stderr.write('(run with --verbose for details)\n');
    }
    return err instanceof AccessDiscoveryError ? 1 : 2;
  }
}
