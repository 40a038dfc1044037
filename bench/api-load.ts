/**
 * Load generator for bench/api.ts, run as a second process so that the client's work does not
 * share the server's event loop. Reads one JSON scenario from argv, prints one JSON result.
 */
import autocannon from 'autocannon';

interface Scenario {
  url: string;
  token: string;
  paths: string[];
  connections: number;
  durationSeconds: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

const scenario = JSON.parse(process.argv[2]!) as Scenario;
const latencies: number[] = [];
let next = 0;
let non2xx = 0;

const result = await new Promise<autocannon.Result>((resolve, reject) => {
  const instance = autocannon(
    {
      url: scenario.url,
      connections: scenario.connections,
      duration: scenario.durationSeconds,
      headers: { authorization: `Bearer ${scenario.token}` },
      requests: [
        {
          setupRequest: (request) => {
            request.path = scenario.paths[next++ % scenario.paths.length]!;
            return request;
          },
        },
      ],
    },
    (err, res) => (err ? reject(err) : resolve(res)),
  );
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    latencies.push(responseTime);
    if (statusCode < 200 || statusCode >= 300) non2xx++;
  });
});

latencies.sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    requests: latencies.length,
    non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    rps: latencies.length / scenario.durationSeconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: latencies.at(-1),
  })}\n`,
);
