import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseFaultRules } from '../../fixtures/cloud/faults.ts';
import { startFixtureCloud } from '../../fixtures/cloud/index.ts';
import { UsageError } from '../../lib/errors.ts';

/**
 * `fixtures serve`: the fixture cloud for a world directory, on 127.0.0.1 until SIGINT or
 * SIGTERM. The one line on stdout is what scripts and the demo wait for.
 */
export function registerFixturesServe(fixtures: Command): void {
  fixtures
    .command('serve')
    .description('serve a fixture world through the real AWS and GCP wire protocols on 127.0.0.1')
    .requiredOption('--dir <dir>', 'world directory written by `fixtures generate`')
    .option('--port <port>', 'TCP port; 0 picks a free one', '0')
    .option('--faults <file>', 'JSON list of fault rules (see fixtures/FORMAT.md)')
    .action(async (opts: { dir: string; port: string; faults?: string }) => {
      const port = Number(opts.port);
      if (!/^\d+$/.test(opts.port) || port > 65535) {
        throw new UsageError(`--port must be an integer from 0 to 65535, not "${opts.port}"`);
      }
      const dir = resolve(opts.dir);
      if (!existsSync(dir)) throw new UsageError(`--dir ${dir} does not exist`);
      let faults: ReturnType<typeof parseFaultRules> = [];
      if (opts.faults) {
        let raw: unknown;
        try {
          raw = JSON.parse(readFileSync(opts.faults, 'utf8'));
        } catch (err) {
          throw new UsageError(
            `cannot read --faults ${opts.faults}: ${(err as Error).message}`,
            {},
            { cause: err },
          );
        }
        try {
          faults = parseFaultRules(raw);
        } catch (err) {
          throw new UsageError(`--faults ${opts.faults}: ${(err as Error).message}`);
        }
      }
      const cloud = await startFixtureCloud({ dir, port, faults });
      process.stdout.write(`fixture cloud listening on ${cloud.url}\n`);
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          done();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await cloud.close();
    });
}
