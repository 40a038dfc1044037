/**
 * Mixed-traffic load generator for bench/load.ts, run as a second process so that the client's
 * work does not share the server's event loop. Reads one JSON scenario from the file named in argv; while it runs
 * it prints one JSON line per interval on stdout (`{"type":"interval",...}`), then one summary
 * line (`{"type":"summary",...}`) with per-category counts, statuses and latency percentiles.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface TrafficRequest {
  /** Reported separately: pages, widgets, details, reports, lists. */
  category: string;
  path: string;
  token: string;
  /** Relative frequency. */
  weight: number;
}

export interface TrafficScenario {
  url: string;
  connections: number;
  durationSeconds: number;
  intervalSeconds: number;
  /** Per-request timeout; a request still unanswered then counts as an error. */
  timeoutSeconds: number;
  requests: TrafficRequest[];
  seed: number;
}

export interface LatencySummary {
  requests: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface TrafficSummary {
  type: 'summary';
  seconds: number;
  categories: Record<string, LatencySummary & { statuses: Record<string, number> }>;
  all: LatencySummary;
  /** Responses outside 2xx, by status. */
  non2xx: Record<string, number>;
  /** Connection errors as autocannon counts them (timeouts included), and the timeouts. */
  connectionErrors: number;
  timeouts: number;
  /** Up to 5 examples of failed requests (status, path, start of the body). */
  examples: Array<{ status: number; path: string; body: string }>;
}

export interface TrafficInterval {
  type: 'interval';
  atSeconds: number;
  requests: number;
  errors: number;
  p95: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export function summarise(latencies: number[], errors: number): LatencySummary {
  const sorted = Float64Array.from(latencies).sort();
  const s = Array.from(sorted);
  return {
    requests: s.length,
    errors,
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    max: s.at(-1) ?? 0,
  };
}

/** A small deterministic generator (mulberry32), so that two runs send the same mix. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function run(scenario: TrafficScenario): Promise<void> {
  const next = random(scenario.seed);
  const cumulative: number[] = [];
  let sum = 0;
  for (const r of scenario.requests) {
    sum += r.weight;
    cumulative.push(sum);
  }
  const pick = (): TrafficRequest => {
    const x = next() * sum;
    const i = cumulative.findIndex((c) => x < c);
    return scenario.requests[i < 0 ? scenario.requests.length - 1 : i]!;
  };

  const latencies = new Map<string, number[]>();
  const statuses = new Map<string, Record<string, number>>();
  const errorsByCategory = new Map<string, number>();
  const non2xx: Record<string, number> = {};
  const examples: TrafficSummary['examples'] = [];
  let interval: number[] = [];
  let intervalErrors = 0;
  // autocannon reports a response's status to the request's onResponse and, synchronously
  // right after, its latency to the 'response' event: the first leaves what it saw here.
  let answered: { category: string; path: string } | null = null;
  const started = performance.now();

  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: scenario.url,
        connections: scenario.connections,
        duration: scenario.durationSeconds,
        timeout: scenario.timeoutSeconds,
        requests: [
          {
            setupRequest: (request, context) => {
              const chosen = pick();
              context.category = chosen.category;
              context.path = chosen.path;
              request.path = chosen.path;
              request.headers = { ...request.headers, authorization: `Bearer ${chosen.token}` };
              return request;
            },
            onResponse: (status, body, context) => {
              const category = String(context.category);
              const path = String(context.path);
              answered = { category, path };
              const counts = statuses.get(category) ?? {};
              counts[status] = (counts[status] ?? 0) + 1;
              statuses.set(category, counts);
              if (status < 200 || status >= 300) {
                non2xx[status] = (non2xx[status] ?? 0) + 1;
                errorsByCategory.set(category, (errorsByCategory.get(category) ?? 0) + 1);
                intervalErrors++;
                if (examples.length < 5) {
                  examples.push({ status, path, body: String(body ?? '').slice(0, 300) });
                }
              }
            },
          },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      const seen = answered;
      answered = null;
      if (!seen) return;
      let list = latencies.get(seen.category);
      if (!list) {
        list = [];
        latencies.set(seen.category, list);
      }
      list.push(responseTime);
      interval.push(responseTime);
    });
    instance.on('reqError', () => {
      intervalErrors++;
    });
    const timer = setInterval(() => {
      const sorted = interval.sort((a, b) => a - b);
      const line: TrafficInterval = {
        type: 'interval',
        atSeconds: (performance.now() - started) / 1000,
        requests: sorted.length,
        errors: intervalErrors,
        p95: percentile(sorted, 95),
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
      interval = [];
      intervalErrors = 0;
    }, scenario.intervalSeconds * 1000);
    instance.on('done', () => clearInterval(timer));
  });

  const categories: TrafficSummary['categories'] = {};
  const all: number[] = [];
  let allErrors = 0;
  for (const [category, list] of [...latencies].sort(([a], [b]) => a.localeCompare(b))) {
    const errors = errorsByCategory.get(category) ?? 0;
    categories[category] = { ...summarise(list, errors), statuses: statuses.get(category) ?? {} };
    for (const v of list) all.push(v);
    allErrors += errors;
  }
  const summary: TrafficSummary = {
    type: 'summary',
    seconds: (performance.now() - started) / 1000,
    categories,
    all: summarise(all, allErrors + result.errors),
    non2xx,
    connectionErrors: result.errors,
    timeouts: result.timeouts,
    examples,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

if (process.argv[2]) {
  await run(JSON.parse(readFileSync(process.argv[2], 'utf8')) as TrafficScenario);
}
