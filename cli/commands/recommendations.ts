import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../lib/errors.ts';
import type { Db } from '../../model/db.ts';
import type {
  RecommendationOption,
  RecommendationProof,
  RecommendationState,
} from '../../recommend/types.ts';
import { type GlobalOptions, openDatabase } from '../context.ts';

/**
 * `recommendations [PRINCIPAL]`: the open recommendations of the current assessments (the latest
 * finished one of each integration), ranked; with a principal, every recommendation of it in
 * full (options, proofs, review notes), and `--out DIR` writes their artifacts to files.
 */

interface Listed {
  recommendationId: string;
  integrationId: string;
  principalId: string;
  policyId: string | null;
  kind: string;
  title: string;
  severity: string;
  rank: number;
  owner: string | null;
  ownerSource: string;
  state: RecommendationState;
  stateReason: string | null;
  options: RecommendationOption[];
  proof: RecommendationProof | null;
}

const CURRENT = `SELECT assessment_id FROM (
  SELECT assessment_id, row_number() OVER (PARTITION BY integration_id ORDER BY started_at DESC, assessment_id DESC) AS rn
  FROM assessment WHERE status IN ('succeeded', 'partial')) WHERE rn = 1`;

export async function listRecommendations(
  db: Db,
  filter: { principalId?: string; integrationId?: string; state: string; limit: number },
): Promise<Listed[]> {
  const rows = await db.all(
    `SELECT recommendation_id, integration_id, principal_id, policy_id, kind, title, severity, rank,
            owner, owner_source, state, state_reason, options, proof
     FROM recommendation
     WHERE assessment_id IN (${CURRENT})
       AND ($principal IS NULL OR principal_id = $principal)
       AND ($integration IS NULL OR integration_id = $integration)
       AND ($state = 'all' OR state = $state)
     ORDER BY state = 'open' DESC,
              CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
              principal_id, rank, recommendation_id
     LIMIT $limit`,
    {
      principal: filter.principalId ?? null,
      integration: filter.integrationId ?? null,
      state: filter.state,
      limit: filter.limit,
    },
  );
  return rows.map((r) => ({
    recommendationId: String(r.recommendation_id),
    integrationId: String(r.integration_id),
    principalId: String(r.principal_id),
    policyId: r.policy_id === null ? null : String(r.policy_id),
    kind: String(r.kind),
    title: String(r.title),
    severity: String(r.severity),
    rank: Number(r.rank),
    owner: r.owner === null ? null : String(r.owner),
    ownerSource: String(r.owner_source),
    state: String(r.state) as RecommendationState,
    stateReason: r.state_reason === null ? null : String(r.state_reason),
    options: JSON.parse(String(r.options)) as RecommendationOption[],
    proof: r.proof === null ? null : (JSON.parse(String(r.proof)) as RecommendationProof),
  }));
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function short(id: string | null, max = 60): string {
  if (!id) return '-';
  return id.length > max ? `…${id.slice(-(max - 1))}` : id;
}

function detail(rec: Listed): string {
  const lines = [
    `${rec.recommendationId}  ${rec.title}  [${rec.severity}]  ${rec.state}${rec.state === 'open' ? ` #${rec.rank}` : ''}`,
    `  principal: ${rec.principalId}`,
  ];
  if (rec.policyId) lines.push(`  policy:    ${rec.policyId}`);
  lines.push(`  owner:     ${rec.owner ?? '(none)'} (${rec.ownerSource})`);
  if (rec.stateReason) lines.push(`  why ${rec.state}: ${rec.stateReason}`);
  if (rec.proof) {
    lines.push(
      `  evidence:  window ${rec.proof.window.start}..${rec.proof.window.end}, risk reduction ${rec.proof.riskReduction}`,
    );
  }
  for (const o of rec.options) {
    const proof = rec.proof?.options.find((p) => p.option === o.type);
    lines.push(
      `  option ${o.type}: ${o.title}${o.applicable ? ' (can be applied: remediate --apply)' : ''}`,
      `    ${o.description}`,
    );
    if (proof) {
      lines.push(
        `    proof: ${proof.result}, ${proof.checkedActions.length} used actions checked, ${proof.denied.length} refused, ${proof.neverWider ? 'never wider' : 'WIDER'}, effective ${proof.grantedBefore} → ${proof.grantedAfter}`,
      );
    }
    for (const n of o.reviewNotes) lines.push(`    review: ${n}`);
    lines.push(`    artifacts: ${o.artifacts.map((a) => a.name).join(', ')}`);
  }
  return lines.join('\n');
}

export function registerRecommendations(program: Command): void {
  program
    .command('recommendations')
    .description('list recommendations of the current assessments, ranked; with PRINCIPAL, in full')
    .argument('[principal]', 'an AWS ARN or GCP member string: show its recommendations in full')
    .option('--integration <id>', 'only this integration')
    .option('--state <state>', 'open, applied, resolved, ignored, suppressed or all', 'open')
    .option('--limit <n>', 'at most this many', '200')
    .option('--json', 'one JSON object per line, with options and proofs')
    .option(
      '--out <dir>',
      'with PRINCIPAL: write every artifact to DIR/<recommendation>/<option>/<name>',
    )
    .action(
      async (
        principal: string | undefined,
        opts: { integration?: string; state: string; limit: string; json?: boolean; out?: string },
        cmd: Command,
      ) => {
        const states = ['open', 'applied', 'resolved', 'ignored', 'suppressed', 'all'];
        if (!states.includes(opts.state)) {
          throw new UsageError(`--state must be one of ${states.join(', ')}, got ${opts.state}`);
        }
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1)
          throw new UsageError('--limit must be a positive integer');
        if (opts.out && !principal) throw new UsageError('--out needs a PRINCIPAL');
        const db = await openDatabase(cmd.optsWithGlobals<GlobalOptions>(), true);
        try {
          const recs = await listRecommendations(db, {
            ...(principal ? { principalId: principal } : {}),
            ...(opts.integration ? { integrationId: opts.integration } : {}),
            state: principal && opts.state === 'open' ? 'all' : opts.state,
            limit,
          });
          if (opts.json) {
            for (const r of recs) process.stdout.write(`${JSON.stringify(r)}\n`);
            return;
          }
          if (principal) {
            if (recs.length === 0) {
              process.stdout.write(
                `no recommendations for ${principal} in the current assessments\n`,
              );
              return;
            }
            process.stdout.write(`${recs.map(detail).join('\n\n')}\n`);
            if (opts.out) {
              for (const r of recs) {
                for (const o of r.options) {
                  // One folder per option: its scripts read the JSON documents beside them.
                  const dir = join(opts.out, r.recommendationId, o.type);
                  mkdirSync(dir, { recursive: true });
                  for (const a of o.artifacts) {
                    const mode = a.format === 'shell' ? 0o755 : 0o644;
                    writeFileSync(join(dir, a.name), a.content, { mode });
                  }
                }
              }
              process.stdout.write(`artifacts written to ${opts.out}\n`);
            }
            return;
          }
          if (recs.length === 0) {
            process.stdout.write(
              `no ${opts.state === 'all' ? '' : `${opts.state} `}recommendations\n`,
            );
            return;
          }
          const rows = [
            [
              'ID',
              'SEVERITY',
              'RANK',
              'RECOMMENDATION',
              'PRINCIPAL',
              'POLICY',
              'OWNER',
              'STATE',
              'OPTIONS',
            ],
          ];
          for (const r of recs) {
            rows.push([
              r.recommendationId,
              r.severity,
              r.state === 'open' ? String(r.rank) : '-',
              r.title,
              short(r.principalId),
              short(r.policyId, 40),
              r.owner ?? '-',
              r.state,
              r.options.map((o) => `${o.type}${o.applicable ? '*' : ''}`).join(',') || '-',
            ]);
          }
          process.stdout.write(`${table(rows)}\n(* can be applied with remediate --apply)\n`);
        } finally {
          db.closeAll();
        }
      },
    );
}
