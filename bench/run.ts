/**
 * `npm run bench -- NAME [args]`: runs bench/NAME.ts, whose `main(args)` prints figures.
 * Benchmarks measure; they never fail on machine noise.
 */
import { readdirSync } from 'node:fs';

const name = process.argv[2];
const available = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && f !== 'run.ts' && !f.includes('-'))
  .map((f) => f.slice(0, -3));
if (!name || !available.includes(name)) {
  process.stderr.write(
    `usage: npm run bench -- NAME [args]; NAME is one of ${available.join(', ')}\n`,
  );
  process.exit(2);
}
const module = (await import(`./${name}.ts`)) as { main: (args: string[]) => Promise<void> };
await module.main(process.argv.slice(3));
