import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The worked example of docs/scoring.md ("Worked example from the fixtures"), parsed so that a
 * test can hold every number in it against the engine's output.
 */

export interface WorkedExample {
  principalId: string;
  levels: Record<string, { granted: number; used: number; unused: number; unobservable: number }>;
  total: { granted: number; used: number; unused: number; unobservable: number };
  overprivilegePct: number;
  highRiskOverprivilegePct: number;
  privilegedShare: number;
  components: Record<string, number>;
  sumLine: number[];
  riskScore: number;
  tier: string;
  status: string;
}

export const SCORING_DOC = join(import.meta.dirname, '../../docs/scoring.md');

function match(text: string, re: RegExp, what: string): RegExpMatchArray {
  const m = text.match(re);
  if (!m) throw new Error(`docs/scoring.md worked example: no ${what}`);
  return m;
}

export function readWorkedExample(path = SCORING_DOC): WorkedExample {
  const doc = readFileSync(path, 'utf8');
  const m = match(
    doc,
    /<!-- worked-example (\S+) -->([\s\S]*?)<!-- \/worked-example -->/,
    'marked section',
  );
  const principalId = m[1]!;
  const body = m[2]!;
  const levels: WorkedExample['levels'] = {};
  let total: WorkedExample['total'] | undefined;
  for (const row of body.matchAll(
    /^\| (LIST|READ|TAGGING|WRITE|IAM|ADMIN|total) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$/gm,
  )) {
    const counts = {
      granted: Number(row[2]),
      used: Number(row[3]),
      unused: Number(row[4]),
      unobservable: Number(row[5]),
    };
    if (row[1] === 'total') total = counts;
    else levels[row[1]!] = counts;
  }
  if (!total) throw new Error('docs/scoring.md worked example: no total row');
  const components: Record<string, number> = {};
  for (const row of body.matchAll(/^\| `([a-z-]+)` \| (\d+) \|/gm))
    components[row[1]!] = Number(row[2]);
  const overprivilege = match(body, /overprivilege = [^*]*\*\*([\d.]+)%\*\*/, 'overprivilege');
  const highRisk = match(
    body,
    /IAM \+ ADMIN overprivilege = [^*]*\*\*([\d.]+)%\*\*/,
    'IAM + ADMIN overprivilege',
  );
  const share = match(body, /privileged share = [^*]*\*\*([\d.]+)\*\*/, 'privileged share');
  const score = match(
    body,
    /Risk score ([\d +]+) = \*\*(\d+)\*\* → tier \*\*(\w+)\*\*/,
    'risk score line',
  );
  const status = match(body, /status\s+\*\*([a-z-]+)\*\*/, 'status');
  return {
    principalId,
    levels,
    total,
    overprivilegePct: Number(overprivilege[1]),
    highRiskOverprivilegePct: Number(highRisk[1]),
    privilegedShare: Number(share[1]),
    components,
    sumLine: score[1]!.split('+').map((x) => Number(x.trim())),
    riskScore: Number(score[2]),
    tier: score[3]!,
    status: status[1]!,
  };
}
