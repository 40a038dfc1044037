/**
 * `npm run bench -- NAME [args]`: runs bench/NAME.ts, which prints its own figures and ratios.
 * A bench either runs on import or exports `main(args)`. Benchmarks measure; they never fail
 * on machine noise.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

// Helper scripts that other benches start in a second process.
const HELPERS = new Set(['api-load', 'crash-harness', 'load-traffic']);

const name = process.argv[2];
const available = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .filter((f) => !HELPERS.has(f));
if (!name || !available.includes(name)) {
  process.stderr.write(
    `usage: npm run bench -- NAME [args]; NAME is one of ${available.join(', ')}\n`,
  );
  process.exit(2);
}
const module = (await import(pathToFileURL(join(import.meta.dirname, `${name}.ts`)).href)) as {
  main?: (args: string[]) => Promise<void>;
};
if (module.main) await module.main(process.argv.slice(3));
