// Catalog figures: build time, expansion of every real AWS managed policy, GCP classification of
// every real predefined-role permission, and CloudTrail mapping throughput over distinct pairs.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { AwsCatalog } from '../scoring/catalog/aws.ts';
import { CloudTrailMapper } from '../scoring/catalog/cloudtrail.ts';
import { readCloudTrailFile } from '../scoring/catalog/cloudtrail-file.ts';
import { classifyGcpPermission } from '../scoring/catalog/gcp.ts';
import { ActionExpander } from '../scoring/policy/expand.ts';
import { parsePolicyDocument } from '../scoring/policy/parse.ts';

const REALDATA = join(import.meta.dirname, '..', '..', 'shared', 'realdata');

function ms(start: number): string {
  return `${(performance.now() - start).toFixed(0)} ms`;
}

function jsonLines<T>(path: string): T[] {
  return gunzipSync(readFileSync(path))
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

let t = performance.now();
const catalog = new AwsCatalog();
console.log(`AWS catalog: ${catalog.size} actions built in ${ms(t)} (${catalog.dataVersion})`);

if (!existsSync(REALDATA)) {
  console.log(`no real-world samples at ${REALDATA}; skipping the rest`);
  process.exit(0);
}

const policies = jsonLines<{ name: string; document: unknown }>(
  join(REALDATA, 'aws', 'managed-policies.jsonl.gz'),
);
const expander = new ActionExpander(catalog.expander.allActions());
t = performance.now();
let grants = 0;
for (const p of policies) grants += expander.allowedActions(parsePolicyDocument(p.document)).size;
console.log(
  `managed policies: ${policies.length} parsed and expanded in ${ms(t)}; ${expander.cachedPatterns} distinct patterns, ${grants} policy x action grants`,
);
t = performance.now();
for (const p of policies) expander.allowedActions(parsePolicyDocument(p.document));
console.log(`managed policies again (patterns cached): ${ms(t)}`);

const roles = jsonLines<{ includedPermissions?: string[] }>(
  join(REALDATA, 'gcp', 'predefined-roles.jsonl.gz'),
);
const permissions = [...new Set(roles.flatMap((r) => r.includedPermissions ?? []))];
t = performance.now();
for (const p of permissions) classifyGcpPermission(p);
console.log(`GCP: ${permissions.length} permissions classified in ${ms(t)}`);

const base = join(REALDATA, 'aws', 'cloudtrail');
const records = readdirSync(base).flatMap((d) =>
  readdirSync(join(base, d)).flatMap((f) => readCloudTrailFile(join(base, d, f))),
);
const mapper = new CloudTrailMapper(catalog.expander);
const counts: Record<string, number> = {};
for (const r of records) {
  const m = mapper.map(r.eventSource, r.eventName, {
    eventType: r.eventType,
    versionId: r.versionId,
  });
  counts[m.status] = (counts[m.status] ?? 0) + 1;
}
const covered = ((counts.mapped ?? 0) + (counts['no-permission'] ?? 0)) / records.length;
console.log(
  `CloudTrail real records: ${records.length}, ${JSON.stringify(counts)}, ${(covered * 100).toFixed(1)}% mapped or no-permission`,
);

// Distinct (source, name) pairs as ingestion would pass them: every catalog action as an event.
const pairs = catalog.expander.allActions().map((a) => {
  const [prefix, name] = a.split(':') as [string, string];
  return [`${prefix}.amazonaws.com`, name] as const;
});
const fresh = new CloudTrailMapper(catalog.expander);
t = performance.now();
for (const [s, n] of pairs) fresh.map(s, n);
const elapsed = performance.now() - t;
console.log(
  `CloudTrail mapper: ${pairs.length} distinct pairs in ${elapsed.toFixed(0)} ms (${Math.round(pairs.length / (elapsed / 1000))} pairs/s uncached)`,
);
