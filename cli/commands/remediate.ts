import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { UsageError } from '../../lib/errors.ts';
import { createRemediationService } from '../../recommend/apply.ts';
import type {
  PreviewResult,
  RecommendationOption,
  RemediationRecord,
} from '../../recommend/types.ts';
import { type GlobalOptions, loggerFor, openDatabase, requireConfig } from '../context.ts';

/**
 * `remediate ID [--option TYPE] [--apply]` previews (default) or applies one option of a
 * recommendation; `rollback REMEDIATION_ID` restores the recorded previous state. Both write
 * the remediation and audit rows; the actor is `cli:<os user>`.
 */

function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    // No passwd entry (some containers): still say the change came from the CLI.
    return 'cli:unknown';
  }
}

function printPreview(p: PreviewResult): void {
  const lines = [
    `dry run: ${p.optionType} of ${p.recommendationId}`,
    `  principal: ${p.principalId} (account ${p.accountId})`,
    `  current state: ${JSON.stringify(p.currentState)}`,
    '  calls, in order:',
  ];
  p.calls.forEach((c, i) => {
    lines.push(
      `    ${i + 1}. ${c.service} ${c.operation} ${JSON.stringify(c.parameters)}${c.condition ? `  (${c.condition})` : ''}`,
    );
  });
  for (const w of p.warnings) lines.push(`  warning: ${w}`);
  lines.push('nothing was changed; add --apply to make these calls');
  process.stdout.write(`${lines.join('\n')}\n`);
}

function printRecord(r: RemediationRecord): void {
  const lines = [
    `remediation ${r.remediationId} ${r.status}: ${r.optionType} of ${r.principalId}`,
    `  previous state: ${JSON.stringify(r.previousState)}`,
  ];
  if (r.status === 'applied')
    lines.push(`  roll back with: access-discovery rollback ${r.remediationId}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function defaultOption(
  db: Awaited<ReturnType<typeof openDatabase>>,
  recommendationId: string,
): Promise<string> {
  const options = await db.scalar<string>(
    'SELECT options FROM recommendation WHERE recommendation_id = $id',
    { id: recommendationId },
  );
  if (options === undefined) throw new UsageError(`no recommendation ${recommendationId}`);
  const list = JSON.parse(options) as RecommendationOption[];
  const applicable = list.find((o) => o.applicable);
  if (!applicable) {
    throw new UsageError(
      `recommendation ${recommendationId} has no option that can be applied (${list.map((o) => o.type).join(', ') || 'none'}); see its artifacts with: access-discovery recommendations PRINCIPAL --out DIR`,
    );
  }
  return applicable.type;
}

export function registerRemediate(program: Command): void {
  program
    .command('remediate')
    .description('preview (default) or apply a remediation option of a recommendation (admin)')
    .argument('<id>', 'recommendation id (rec_...)')
    .option(
      '--option <type>',
      'quarantine, custom-quarantine or gcp-disable (default: the first that can be applied)',
    )
    .option('--apply', 'make the change (without it, only the dry run is shown)')
    .option('--json', 'print the preview or the remediation record as JSON')
    .action(
      async (
        id: string,
        opts: { option?: string; apply?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        const globals = cmd.optsWithGlobals<GlobalOptions>();
        const { config } = requireConfig(globals);
        const db = await openDatabase(globals);
        try {
          const service = createRemediationService({ db, config, logger: loggerFor(globals) });
          const option = opts.option ?? (await defaultOption(db, id));
          if (!opts.apply) {
            const preview = await service.preview(id, option);
            if (opts.json) process.stdout.write(`${JSON.stringify(preview)}\n`);
            else printPreview(preview);
            return;
          }
          const record = await service.apply(id, option, cliActor());
          if (opts.json) process.stdout.write(`${JSON.stringify(record)}\n`);
          else printRecord(record);
        } finally {
          db.closeAll();
        }
      },
    );

  program
    .command('rollback')
    .description('roll a remediation back to the previous state it recorded (admin)')
    .argument('<remediation-id>', 'remediation id (rem_...)')
    .option('--json', 'print the remediation record as JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const { config } = requireConfig(globals);
      const db = await openDatabase(globals);
      try {
        const service = createRemediationService({ db, config, logger: loggerFor(globals) });
        const record = await service.rollback(id, cliActor());
        if (opts.json) process.stdout.write(`${JSON.stringify(record)}\n`);
        else printRecord(record);
      } finally {
        db.closeAll();
      }
    });
}
