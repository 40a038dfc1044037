import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../../lib/errors.ts';
import { type Db, quoteLiteral } from '../../model/db.ts';
import { reportRowsToArrow } from './arrow.ts';
import { gatherReport, reportRowsSql } from './data.ts';
import { renderHtmlReport } from './html.ts';

export const REPORT_FORMATS = ['csv', 'json', 'parquet', 'arrow', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export const REPORT_CONTENT_TYPES: Record<ReportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
  arrow: 'application/vnd.apache.arrow.file',
  html: 'text/html; charset=utf-8',
};

export interface ReportFile {
  path: string;
  format: ReportFormat;
  contentType: string;
  /** Suggested download name. */
  filename: string;
  bytes: number;
  /** Removes the file when it was written to a temporary directory; no-op for `out`. */
  cleanup: () => void;
}

export function isReportFormat(value: string): value is ReportFormat {
  return (REPORT_FORMATS as readonly string[]).includes(value);
}

export function reportFilename(assessmentId: string, format: ReportFormat): string {
  const safe = assessmentId.replace(/[^A-Za-z0-9._-]/g, '_');
  return `access-discovery-${safe}.${format}`;
}

/**
 * Write the least-privilege report of one finished assessment in one format, to `out` or to a
 * temporary file (call `cleanup` after streaming it). The tabular formats carry one row per
 * scored principal (api/reports/columns.ts); JSON adds the summary sections; HTML is the
 * printable report.
 */
export async function buildReport(
  db: Db,
  assessmentId: string,
  format: ReportFormat,
  out?: string,
): Promise<ReportFile> {
  if (!isReportFormat(format)) {
    throw new UsageError(
      `unknown report format ${JSON.stringify(format)}: expected one of ${REPORT_FORMATS.join(', ')}`,
    );
  }
  const status = await db.scalar<string>(
    'SELECT status FROM assessment WHERE assessment_id = $id',
    {
      id: assessmentId,
    },
  );
  if (status === undefined) throw new UsageError(`assessment ${assessmentId} does not exist`);
  if (status === 'running') {
    throw new UsageError(`assessment ${assessmentId} is still running; report on a finished one`);
  }
  let tempDir: string | undefined;
  let path: string;
  if (out) {
    path = resolve(out);
  } else {
    tempDir = mkdtempSync(join(tmpdir(), 'ad-report-'));
    path = join(tempDir, reportFilename(assessmentId, format));
  }
  const cleanup = () => {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  };
  try {
    const params = { assessment_id: assessmentId };
    switch (format) {
      case 'csv':
        await db.exec(
          `COPY (${reportRowsSql('csv')}) TO ${quoteLiteral(path)} (FORMAT csv, HEADER true)`,
          params,
        );
        break;
      case 'parquet':
        await db.exec(
          `COPY (${reportRowsSql('typed')}) TO ${quoteLiteral(path)} (FORMAT parquet, COMPRESSION zstd)`,
          params,
        );
        break;
      case 'arrow':
        writeFileSync(path, reportRowsToArrow(await db.all(reportRowsSql('typed'), params)));
        break;
      case 'json': {
        const data = await gatherReport(db, assessmentId);
        const principals = await db.all(reportRowsSql('typed'), params);
        writeFileSync(path, `${JSON.stringify({ ...data, principals }, null, 1)}\n`);
        break;
      }
      case 'html':
        writeFileSync(path, renderHtmlReport(await gatherReport(db, assessmentId)));
        break;
    }
  } catch (err) {
    cleanup();
    throw err;
  }
  return {
    path,
    format,
    contentType: REPORT_CONTENT_TYPES[format],
    filename: reportFilename(assessmentId, format),
    bytes: statSync(path).size,
    cleanup,
  };
}
