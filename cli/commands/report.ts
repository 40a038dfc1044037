import type { Command } from 'commander';
import { cliActor, writeAudit } from '../../api/audit.ts';
import { buildReport, isReportFormat, REPORT_FORMATS } from '../../api/reports/index.ts';
import { loadSql } from '../../api/sql.ts';
import { UsageError } from '../../lib/errors.ts';
import type { GlobalOptions } from '../context.ts';
import { openForCli } from './tokens.ts';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description(
      'write the least-privilege report of an assessment (csv, json, parquet, arrow, html)',
    )
    .option('--assessment <id>', 'assessment id')
    .option('--integration <id>', 'the current (latest finished) assessment of this integration')
    .requiredOption('--format <format>', REPORT_FORMATS.join(', '))
    .requiredOption('--out <file>', 'file to write')
    .action(
      async (
        opts: { assessment?: string; integration?: string; format: string; out: string },
        cmd: Command,
      ) => {
        if (!isReportFormat(opts.format)) {
          throw new UsageError(
            `unknown format ${JSON.stringify(opts.format)}: expected one of ${REPORT_FORMATS.join(', ')}`,
          );
        }
        if ((opts.assessment === undefined) === (opts.integration === undefined)) {
          throw new UsageError('pass exactly one of --assessment ID and --integration ID');
        }
        const db = await openForCli(cmd.optsWithGlobals<GlobalOptions>());
        try {
          let assessmentId = opts.assessment;
          if (assessmentId === undefined) {
            const row = await db.one(
              `SELECT assessment_id FROM (${loadSql('current-assessments')}) WHERE integration_id = $id`,
              { id: opts.integration! },
            );
            if (!row) {
              throw new UsageError(`integration ${opts.integration} has no finished assessment`);
            }
            assessmentId = String(row.assessment_id);
          }
          const file = await buildReport(db, assessmentId, opts.format, opts.out);
          await writeAudit(db, {
            actor: cliActor(),
            role: null,
            action: 'report.export',
            target: assessmentId,
            outcome: 'success',
            details: { format: opts.format, out: file.path, bytes: file.bytes },
            requestId: null,
            sourceIp: null,
          });
          process.stdout.write(`${file.path}\n`);
        } finally {
          db.closeAll();
        }
      },
    );
}
