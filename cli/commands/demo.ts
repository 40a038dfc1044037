import type { Command } from 'commander';
import { UsageError } from '../../lib/errors.ts';
import { type GlobalOptions, loggerFor } from '../context.ts';
import { startDemo } from '../demo.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'generate the synthetic organization, serve it as a local cloud, assess it end to end and serve the dashboard',
    )
    .option('--dir <dir>', 'folder for the world, config and database', '.demo')
    .option('--port <n>', 'port of the API and dashboard', '8080')
    .option('--regenerate', 'generate the world again even when one exists')
    .action(async (opts: { dir: string; port: string; regenerate?: boolean }, cmd: Command) => {
      const options = cmd.optsWithGlobals<GlobalOptions>();
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new UsageError(`--port must be 0 to 65535, not "${opts.port}"`);
      }
      const started = Date.now();
      const demo = await startDemo({
        dir: opts.dir,
        port,
        regenerate: opts.regenerate,
        logger: loggerFor(options),
      });
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      process.stdout.write(
        [
          '',
          `Access Discovery demo ready in ${seconds} s`,
          // The token rides in the fragment: browsers never send it to the server or in a Referer.
          `  dashboard:   ${demo.server?.url}/#token=${demo.adminToken}`,
          `  API docs:    ${demo.server?.url}/docs`,
          `  admin token: ${demo.adminToken}`,
          `  config:      ${demo.configPath}`,
          '',
          'serving; press Ctrl-C to stop',
          '',
        ].join('\n'),
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await demo.close();
    });
}
