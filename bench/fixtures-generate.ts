/**
 * Fixture generation speed and size, per scale.
 *
 *   node --import tsx bench/fixtures-generate.ts [scale ...] [--keep] [--workers N]
 *
 * Prints wall time, records per second, disk size and peak RSS for each scale, and the ratio
 * to the targets (small under 20 s). The generated worlds are deleted unless --keep.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateWorld, SCALE_NAMES } from '../fixtures/generate/index.ts';
import type { Scale } from '../fixtures/generate/types.ts';

const TARGET_SECONDS: Partial<Record<Scale, number>> = { small: 20, medium: 60 };

const args = process.argv.slice(2);
const keep = args.includes('--keep');
const workersAt = args.indexOf('--workers');
const workers = workersAt >= 0 ? Number(args[workersAt + 1]) : undefined;
const scales = args.filter(
  (a, i) => SCALE_NAMES.includes(a as Scale) && args[i - 1] !== '--workers',
) as Scale[];
if (scales.length === 0) scales.push('tiny', 'small', 'medium');

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 250);

for (const scale of scales) {
  const out = join(tmpdir(), `ad-bench-fixtures-${scale}`);
  rmSync(out, { recursive: true, force: true });
  peakRss = process.memoryUsage().rss;
  const summary = await generateWorld({
    out,
    scale,
    seed: 1,
    endDate: '2026-11-21',
    force: true,
    ...(workers ? { workers } : {}),
    onProgress: (m) => process.stderr.write(`  ${scale}: ${m}\n`),
  });
  const c = summary.counts;
  const seconds = summary.elapsedMs / 1000;
  const target = TARGET_SECONDS[scale];
  process.stdout.write(
    `${scale.padEnd(7)} ${seconds.toFixed(1).padStart(7)} s  ` +
      `${(c.cloudTrailRecords / 1e6).toFixed(2)} M CloudTrail records in ${c.cloudTrailObjects} objects, ` +
      `${(c.gcpAuditEntries / 1e6).toFixed(2)} M GCP entries, ${c.awsPrincipals} AWS / ${c.gcpPrincipals} GCP principals; ` +
      `${summary.eventsPerSecond.toLocaleString('en-US')} records/s, ${(summary.bytesOnDisk / 1e6).toFixed(0)} MB on disk, ` +
      `peak RSS ${(peakRss / 1e6).toFixed(0)} MB` +
      (target ? `; ${(seconds / target).toFixed(2)}x of the ${target} s target` : '') +
      `\n         phases ms ${JSON.stringify(summary.phases)}\n`,
  );
  if (!keep) rmSync(out, { recursive: true, force: true });
}
clearInterval(sampler);
