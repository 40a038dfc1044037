import { dirname } from 'node:path';
import type { Command } from 'commander';
import { startServer } from '../../api/server.ts';
import { UsageError } from '../../lib/errors.ts';
import { createAssessmentRunner, createRemediation } from '../../recommend/pipeline.ts';
import { type GlobalOptions, loggerFor, requireConfig } from '../context.ts';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`invalid port ${JSON.stringify(value)}: expected 0 to 65535`);
  }
  return port;
}

/**
 * `serve`: the API, the dashboard and the nightly schedule in one process, with the engines
 * (assessment runner, remediation) plugged in over the server's own database.
 */
export function registerServe(program: Command): void {
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
        services: (db) => ({
          runner: createAssessmentRunner({
            db,
            config: loaded.config,
            logger: loggerFor(options),
            baseDir: dirname(loaded.path),
          }),
          remediation: createRemediation(db, loaded.config, loggerFor(options)),
        }),
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
