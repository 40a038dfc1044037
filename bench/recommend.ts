// Recommendation figures: the recommend stage over a synthetic snapshot whose principals carry
// real AWS managed policies (shared/realdata) and use a random share of what they are granted.
// Usage: npm run bench -- recommend [PRINCIPALS]
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { silentLogger } from '../lib/log.ts';
import { Db } from '../model/db.ts';
import { runRecommendations } from '../recommend/index.ts';
import { getAwsCatalog } from '../scoring/catalog/index.ts';
import { parsePolicyDocument } from '../scoring/policy/parse.ts';
import { Snapshot, testConfig } from '../test/recommend/snapshot.ts';

const REALDATA = join(import.meta.dirname, '..', '..', 'shared', 'realdata');
const count = Number(process.argv[3] ?? 300);
const file = join(REALDATA, 'aws', 'managed-policies.jsonl.gz');
if (!existsSync(file)) {
  console.log(`no real-world samples at ${REALDATA}; nothing to measure`);
  process.exit(0);
}

let seed = 7;
const random = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
};

const policies = gunzipSync(readFileSync(file))
  .toString('utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as { name: string; document: unknown; deprecated?: boolean })
  .filter((p) => !p.deprecated);
const expander = getAwsCatalog().expander;

const s = new Snapshot({ days: 90 });
const attached = new Map<string, string>();
let dormant = 0;
for (let i = 0; i < count; i++) {
  const id = i % 3 === 0 ? s.user(`user-${i}`) : s.role(`role-${i}`);
  const n = 1 + Math.floor(random() * 3);
  const granted = new Set<string>();
  const picked = new Set<number>();
  for (let k = 0; k < n; k++) picked.add(Math.floor(random() * policies.length));
  for (const index of picked) {
    const p = policies[index]!;
    let arn = attached.get(p.name);
    if (!arn) {
      arn = s.managed(p.name, p.document, { awsManaged: true });
      attached.set(p.name, arn);
    }
    s.attach(id, arn);
    for (const a of expander.allowedActions(parsePolicyDocument(p.document))) granted.add(a);
  }
  if (random() < 0.2) {
    dormant++;
    continue;
  }
  const share = 0.05 + random() * 0.4;
  s.use(
    id,
    [...granted].filter(() => random() < share),
    { daysAgo: 1 + Math.floor(random() * 60) },
  );
}

const db = await Db.open(':memory:');
const written = performance.now();
const { assessmentId } = await s.write(db);
const writeMs = performance.now() - written;
const config = testConfig({ lookbackDays: 90, dormancyDays: 90 });
const t = performance.now();
const summary = await runRecommendations(db, assessmentId, {
  config,
  integration: config.integrations[0]!,
  logger: silentLogger,
});
const ms = performance.now() - t;
const sizes = await db.all<{ n: number; chars: number }>(
  `SELECT count(*)::INTEGER AS n, coalesce(max(length(options)), 0)::INTEGER AS chars FROM recommendation`,
);
console.log(
  `${count} principals (${dormant} dormant), ${attached.size} distinct managed policies, ${s.usage.length} usage rows written in ${writeMs.toFixed(0)} ms`,
);
console.log(
  `recommend stage: ${ms.toFixed(0)} ms, ${(ms / count).toFixed(1)} ms per principal; ${summary.stored} recommendations (${JSON.stringify(summary.byState)}), ${summary.dropped.length} options not offered, ${summary.errors.length} errors`,
);
console.log(`largest options JSON: ${sizes[0]?.chars ?? 0} characters`);
const reasons = new Map<string, number>();
for (const d of summary.dropped) {
  const key = `${d.option}: ${d.reason.replace(/[0-9]+/g, 'N').slice(0, 90)}`;
  reasons.set(key, (reasons.get(key) ?? 0) + 1);
}
for (const [reason, n] of [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 8))
  console.log(`  ${n} × ${reason}`);
db.closeAll();
