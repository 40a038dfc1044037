import type { Command } from 'commander';
import { startServer } from '../../api/server.ts';
import type { ApiServices } from '../../api/services.ts';
import { UsageError } from '../../lib/errors.ts';
import { type GlobalOptions, requireConfig } from '../context.ts';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`invalid port ${JSON.stringify(value)}: expected 0 to 65535`);
  }
  return port;
}

/**
 * `serve`: the API, the dashboard and the nightly schedule in one process. `services` is how
 * the engines plug in (assessment runner, remediation); without them the API serves stored
 * assessments and the run and remediate endpoints answer 503.
 */
export function registerServe(
  program: Command,
  services: () => Promise<ApiServices> = async () => ({}),
): void {
  program
    .command('serve')
    .description('serve the API (and docs at /docs) and run every integration on the schedule')
    .option('--port <n>', 'port (default: server.port from the config, 8080)', parsePort)
    .option('--host <h>', 'address to listen on (default: server.host from the config, 127.0.0.1)')
    .action(async (opts: { port?: number; host?: string }, cmd: Command) => {
      const options = cmd.optsWithGlobals<GlobalOptions>();
      const loaded = requireConfig(options);
      const server = await startServer({
        config: loaded.config,
        databasePath: options.db ?? loaded.databasePath,
        host: opts.host,
        port: opts.port,
        services: await services(),
        logger: {
          stream: process.stderr,
          level: options.verbose ? 'debug' : options.quiet ? 'warn' : 'info',
        },
      });
      process.stdout.write(`serving on ${server.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await server.close();
    });
}
