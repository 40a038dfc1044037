import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../lib/errors.ts';
import { Db } from '../../model/db.ts';
import { PRIVILEGE_LEVELS } from '../../scoring/catalog/index.ts';
import { findConfigFile, type GlobalOptions, requireConfig } from '../context.ts';

interface ExplainOptions extends GlobalOptions {
  assessment?: string;
  json?: boolean;
}

interface ScoreRow {
  [key: string]: string | number | boolean | null | string[];
  assessment_id: string;
  principal_id: string;
  account_id: string;
  kind: string;
  status: string;
  status_reason: string | null;
  last_used_at: string | null;
  last_used_source: string | null;
  granted_count: number;
  used_count: number;
  unused_count: number;
  unobservable_count: number;
  levels: string;
  overprivilege_pct: number | null;
  high_risk_overprivilege_pct: number | null;
  privileged_share: number;
  risk_score: number;
  risk_breakdown: string;
  tier: string;
  tier_reason: string | null;
  evidence_gap: string | null;
  fingerprint: string;
  human_identities: number;
  machine_identities: number;
  identity_policies: string[];
  boundary_policy_id: string | null;
  scp_path: string;
  admin_equivalent: boolean;
  window_start: string;
  window_end: string;
}

interface Component {
  component: string;
  points: number;
  max: number;
  reason: string;
  evidence: unknown;
}

function out(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function pct(value: number | null): string {
  return value === null ? 'n/a (nothing observable granted)' : `${value.toFixed(1)}%`;
}

function databasePath(options: GlobalOptions): string {
  if (options.db) return options.db === ':memory:' ? options.db : resolve(options.db);
  if (findConfigFile(options)) return requireConfig(options).databasePath;
  const fallback = resolve('./data/access-discovery.duckdb');
  if (existsSync(fallback)) return fallback;
  throw new UsageError('no database: pass --db FILE or --config FILE');
}

/** The score of a principal (by id or unique name) in the given or latest scored assessment. */
export async function findScore(
  db: Db,
  principal: string,
  assessmentId: string | undefined,
): Promise<ScoreRow> {
  const rows = await db.all<ScoreRow>(
    `SELECT s.*, p.kind, f.identity_policies, f.boundary_policy_id, f.scp_path::VARCHAR AS scp_path,
            f.admin_equivalent, a.window_start::VARCHAR AS window_start, a.window_end::VARCHAR AS window_end
     FROM principal_score s
     JOIN assessment a ON a.assessment_id = s.assessment_id
     JOIN principal p ON p.assessment_id = s.assessment_id AND p.principal_id = s.principal_id
     JOIN scoring_fingerprint f ON f.assessment_id = s.assessment_id AND f.fingerprint = s.fingerprint
     WHERE (s.principal_id = $p OR p.name = $p)
       AND ($a::VARCHAR IS NULL OR s.assessment_id = $a)
     ORDER BY a.started_at DESC`,
    { p: principal, a: assessmentId ?? null },
  );
  if (rows.length === 0) {
    throw new UsageError(
      `no score for "${principal}"${assessmentId ? ` in assessment ${assessmentId}` : ''}: run assess first, or check the principal id`,
    );
  }
  const latest = rows[0]!.assessment_id;
  const inLatest = rows.filter((r) => r.assessment_id === latest);
  if (inLatest.length > 1) {
    throw new UsageError(
      `"${principal}" names ${inLatest.length} principals; use the full id: ${inLatest.map((r) => r.principal_id).join(', ')}`,
    );
  }
  return inLatest[0]!;
}

export function formatExplanation(row: ScoreRow): string[] {
  const lines: string[] = [];
  const components = JSON.parse(row.risk_breakdown) as Component[];
  const levels = JSON.parse(row.levels) as Record<
    string,
    { granted: number; used: number; unused: number; unobservable: number }
  >;
  lines.push(`${row.principal_id} (${row.kind}, account ${row.account_id})`);
  lines.push(`assessment ${row.assessment_id}, window ${row.window_start}..${row.window_end}`);
  lines.push('');
  lines.push(`tier        ${row.tier}: ${row.tier_reason ?? ''}`);
  lines.push(`risk score  ${row.risk_score} / 100`);
  for (const c of components) {
    lines.push(
      `  ${c.component.padEnd(18)} ${String(c.points).padStart(3)} / ${String(c.max).padEnd(3)} ${c.reason}`,
    );
    if (c.component === 'escalation' && Array.isArray(c.evidence)) {
      for (const p of c.evidence as Array<{
        path: string;
        actions: string[];
        unconditional: boolean;
      }>)
        lines.push(
          `${' '.repeat(30)}${p.path}: ${p.actions.join(' + ')}${p.unconditional ? '' : ' (limited by resource or condition)'}`,
        );
    }
  }
  lines.push('');
  lines.push(`status      ${row.status}: ${row.status_reason ?? ''}`);
  lines.push(
    `last used   ${row.last_used_at ?? 'never seen'}${row.last_used_source ? ` (${row.last_used_source})` : ''}`,
  );
  lines.push(
    `identities  ${row.human_identities} human, ${row.machine_identities} machine acted through it in the window`,
  );
  lines.push('');
  lines.push('effective permissions');
  lines.push(
    `  ${'level'.padEnd(8)} ${'granted'.padStart(8)} ${'used'.padStart(8)} ${'unused'.padStart(8)} ${'unobservable'.padStart(13)}`,
  );
  for (const level of PRIVILEGE_LEVELS) {
    const l = levels[level] ?? { granted: 0, used: 0, unused: 0, unobservable: 0 };
    lines.push(
      `  ${level.padEnd(8)} ${String(l.granted).padStart(8)} ${String(l.used).padStart(8)} ${String(l.unused).padStart(8)} ${String(l.unobservable).padStart(13)}`,
    );
  }
  lines.push(
    `  ${'total'.padEnd(8)} ${String(row.granted_count).padStart(8)} ${String(row.used_count).padStart(8)} ${String(row.unused_count).padStart(8)} ${String(row.unobservable_count).padStart(13)}`,
  );
  lines.push(
    `  overprivilege ${pct(row.overprivilege_pct)}, IAM+ADMIN ${pct(row.high_risk_overprivilege_pct)}, privileged share ${(row.privileged_share * 100).toFixed(1)}%${row.admin_equivalent ? ', admin-equivalent' : ''}`,
  );
  if (row.evidence_gap)
    lines.push(`  evidence gap: ${row.evidence_gap}; its unseen actions count as unobservable`);
  lines.push('');
  lines.push(`policies (fingerprint ${row.fingerprint})`);
  for (const p of row.identity_policies) lines.push(`  ${p}`);
  if (row.identity_policies.length === 0) lines.push('  (none)');
  if (row.boundary_policy_id) lines.push(`  boundary: ${row.boundary_policy_id}`);
  const scp = JSON.parse(row.scp_path) as string[][];
  if (scp.length > 0)
    lines.push(
      `  SCPs: ${scp.map((level, i) => `level ${i + 1}: ${level.join(', ')}`).join('; ')}`,
    );
  return lines;
}

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description(
      "print a principal's score breakdown: risk components, effective permissions per level, used/unused/unobservable, status with its evidence",
    )
    .argument('<principal>', 'principal id (ARN or GCP member) or its unique name')
    .option('--assessment <id>', 'assessment to read (default: the latest that scored it)')
    .option('--json', 'print the stored score row as JSON')
    .action(async (principal: string, _opts: unknown, cmd: Command) => {
      const options = cmd.optsWithGlobals<ExplainOptions>();
      const db = await Db.open(databasePath(options));
      try {
        const row = await findScore(db, principal, options.assessment);
        if (options.json) {
          out(
            JSON.stringify({
              ...row,
              levels: JSON.parse(row.levels),
              risk_breakdown: JSON.parse(row.risk_breakdown),
              scp_path: JSON.parse(row.scp_path),
            }),
          );
        } else {
          for (const line of formatExplanation(row)) out(line);
        }
      } finally {
        db.closeAll();
      }
    });
}
