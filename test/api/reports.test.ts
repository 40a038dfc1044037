import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPORT_COLUMNS } from '../../api/reports/columns.ts';
import { buildReport } from '../../api/reports/index.ts';
import { quoteLiteral } from '../../model/db.ts';
import { tempDir } from '../helpers/db.ts';
import { buildTestApp, type TestApp } from './helpers.ts';
import { CURRENT, FORMULA_ID, IGNORED_ID, QUOTED_ID, RUNNING, seedWorld } from './world.ts';

let t: TestApp;
const tmp = tempDir('ad-report-test-');

beforeAll(async () => {
  t = await buildTestApp({ seed: async (db) => void (await seedWorld(db)) });
});

afterAll(async () => {
  await t.close();
  tmp.cleanup();
});

describe('report files', () => {
  it('CSV: one row per principal, header from the column list, formulas neutralised', async () => {
    const out = join(tmp.dir, 'r.csv');
    const file = await buildReport(t.db, CURRENT, 'csv', out);
    expect(file.path).toBe(out);
    const text = readFileSync(out, 'utf8');
    expect(text.split('\n')[0]).toBe(REPORT_COLUMNS.map((c) => c.name).join(','));
    const rows = await t.db.all(
      `SELECT * FROM read_csv(${quoteLiteral(out)}, header = true, all_varchar = true)`,
    );
    expect(rows).toHaveLength(64);
    const formula = rows.find((r) => r.principal_id === FORMULA_ID)!;
    expect(formula).toMatchObject({
      principal_name: "'=cmd|calc",
      owner: "'@evil",
      top_recommendation: 'Dormant Principal Detected',
    });
    const quoted = rows.find((r) => r.principal_id === QUOTED_ID)!;
    expect(quoted).toMatchObject({
      principal_name: 'Admin"Quoted\\Role',
      unused_levels: 'IAM;ADMIN',
      open_recommendations: '4',
    });
    expect(rows.find((r) => r.principal_id === IGNORED_ID)).toMatchObject({
      ignored: 'true',
      ignore_reason: 'break-glass role, reviewed quarterly',
    });
    expect(rows.map((r) => Number(r.risk_score))).toEqual(
      [...rows.map((r) => Number(r.risk_score))].sort((a, b) => b - a),
    );
  });

  it('Parquet (DuckDB COPY): typed columns that DuckDB reads back', async () => {
    const out = join(tmp.dir, 'r.parquet');
    await buildReport(t.db, CURRENT, 'parquet', out);
    const types = await t.db.all(`DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(out)})`);
    const typeOf = (n: string) => types.find((c) => c.column_name === n)?.column_type;
    expect(types.map((c) => c.column_name)).toEqual(REPORT_COLUMNS.map((c) => c.name));
    expect(typeOf('risk_score')).toBe('INTEGER');
    expect(typeOf('overprivilege_pct')).toBe('DOUBLE');
    expect(typeOf('unused_levels')).toBe('VARCHAR[]');
    expect(typeOf('last_used_at')).toBe('TIMESTAMP WITH TIME ZONE');
    expect(typeOf('ignored')).toBe('BOOLEAN');
    expect(await t.db.scalar(`SELECT count(*) FROM read_parquet(${quoteLiteral(out)})`)).toBe(64);
    expect(
      await t.db.scalar(
        `SELECT principal_name FROM read_parquet(${quoteLiteral(out)}) WHERE principal_id = $id`,
        { id: FORMULA_ID },
      ),
    ).toBe('=cmd|calc');
  });

  it('Arrow IPC: apache-arrow reads it back with the row count and column types', async () => {
    const out = join(tmp.dir, 'r.arrow');
    await buildReport(t.db, CURRENT, 'arrow', out);
    const table = tableFromIPC(readFileSync(out));
    expect(table.numRows).toBe(64);
    expect(table.schema.fields.map((f) => f.name)).toEqual(REPORT_COLUMNS.map((c) => c.name));
    const type = (n: string) => String(table.schema.fields.find((f) => f.name === n)!.type);
    expect(type('risk_score')).toBe('Int32');
    expect(type('overprivilege_pct')).toBe('Float64');
    expect(type('principal_id')).toBe('Utf8');
    expect(type('ignored')).toBe('Bool');
    expect(type('last_used_at')).toBe('Timestamp<MILLISECOND, UTC>');
    expect(type('unused_levels')).toBe('List<Utf8>');
    const rows = table.toArray().map((r) => r.toJSON());
    const quoted = rows.find((r) => r.principal_id === QUOTED_ID)!;
    expect(quoted.risk_score).toBe(97);
    expect([...(quoted.unused_levels as Iterable<string>)]).toEqual(['IAM', 'ADMIN']);
    const lastUsed = await t.db.scalar<string>(
      'SELECT last_used_at FROM principal_score WHERE assessment_id = $a AND principal_id = $p',
      {
        a: CURRENT,
        p: QUOTED_ID,
      },
    );
    expect(quoted.last_used_at).toBe(Date.parse(lastUsed!));
    expect(rows.find((r) => r.principal_id === FORMULA_ID)!.last_used_at).toBeNull();
  });

  it('JSON: summary, coverage, tiers, top risks, recommendations, ignored principals and every principal', async () => {
    const out = join(tmp.dir, 'r.json');
    await buildReport(t.db, CURRENT, 'json', out);
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    expect(doc.assessment).toMatchObject({
      assessmentId: CURRENT,
      integrationId: 'prod',
      integrationOwner: 'secops@example.com',
    });
    expect(doc.principals).toHaveLength(64);
    expect(doc.topRisks).toHaveLength(25);
    expect(doc.coverage).toEqual([
      expect.objectContaining({
        accountId: '111111111111',
        daysCovered: 90,
        windowDays: 90,
        dataEventDays: 90,
        regions: ['us-east-1'],
      }),
      expect.objectContaining({ accountId: '222222222222', daysCovered: 30, dataEventDays: 0 }),
      expect.objectContaining({
        accountId: '333333333333',
        daysCovered: 0,
        inventoryStatus: 'failed',
      }),
    ]);
    expect(
      doc.recommendations.open.map((r: { recommendationId: string }) => r.recommendationId).sort(),
    ).toEqual(['rec-1', 'rec-2', 'rec-3', 'rec-4', 'rec-6', 'rec-7']);
    expect(doc.recommendations.applied).toEqual([
      expect.objectContaining({
        recommendationId: 'rec-5',
        owner: 'team-a',
        remediation: expect.objectContaining({
          remediationId: 'rem-1',
          actor: 'admin-token (tok_x)',
        }),
      }),
    ]);
    expect(doc.ignored).toEqual([
      expect.objectContaining({
        principalId: IGNORED_ID,
        reason: 'break-glass role, reviewed quarterly',
      }),
    ]);
    expect(
      doc.widgets.find((w: { id: string }) => w.id === 'principals-by-tier').buckets,
    ).toHaveLength(4);
  });

  it('HTML: self-contained and printable, with every section and escaped text', async () => {
    const out = join(tmp.dir, 'r.html');
    await buildReport(t.db, CURRENT, 'html', out);
    const html = readFileSync(out, 'utf8');
    for (const section of [
      'Summary',
      'Evidence window and log coverage',
      'Tiers',
      'Top risks',
      'Open recommendations',
      'Applied recommendations',
      'Ignored principals',
      'Errors',
    ]) {
      expect(html).toContain(`<h2>${section}</h2>`);
    }
    expect(html).toContain('break-glass role, reviewed quarterly');
    expect(html).toContain('Admin&quot;Quoted\\Role');
    expect(html).not.toContain('Admin"Quoted');
    expect(html).toContain('30 / 90 (33%)');
    expect(html).toContain('@media print');
    expect(html).not.toMatch(/<script|<link|<img|<iframe|src=|href=|url\(|@import/i);
  });

  it('refuses a running or unknown assessment', async () => {
    await expect(buildReport(t.db, RUNNING, 'csv')).rejects.toThrow(/still running/);
    await expect(buildReport(t.db, 'nope', 'csv')).rejects.toThrow(/does not exist/);
  });
});

describe('report route', () => {
  it.each([
    ['csv', 'text/csv; charset=utf-8'],
    ['json', 'application/json; charset=utf-8'],
    ['parquet', 'application/vnd.apache.parquet'],
    ['arrow', 'application/vnd.apache.arrow.file'],
    ['html', 'text/html; charset=utf-8'],
  ])('downloads %s with its content type and file name, audited', async (format, type) => {
    const r = await t.call(
      'auditor',
      'GET',
      `/api/v1/assessments/${CURRENT}/report?format=${format}`,
    );
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe(type);
    expect(r.headers['content-disposition']).toBe(
      `attachment; filename="access-discovery-${CURRENT}.${format}"`,
    );
    expect(r.rawPayload.length).toBe(Number(r.headers['content-length']));
    if (format === 'arrow') expect(tableFromIPC(r.rawPayload).numRows).toBe(64);
    const audit = await t.db.one('SELECT * FROM audit_log WHERE request_id = $id', {
      id: String(r.headers['x-request-id']),
    });
    expect(audit).toMatchObject({
      action: 'report.export',
      target: CURRENT,
      outcome: 'success',
      role: 'auditor',
    });
    expect(JSON.parse(String(audit!.details))).toMatchObject({
      format,
      bytes: r.rawPayload.length,
    });
  });

  it('answers HEAD with the download headers and no body, and does not record it as an export', async () => {
    const auditRow = (r: { headers: Record<string, unknown> }) =>
      t.db.one('SELECT action, outcome FROM audit_log WHERE request_id = $id', {
        id: String(r.headers['x-request-id']),
      });
    const exports = async () =>
      Number(
        await t.db.scalar(
          "SELECT count(*) FROM audit_log WHERE action = 'report.export' AND outcome = 'success'",
        ),
      );
    const before = await exports();
    for (const url of [
      `/api/v1/assessments/${CURRENT}/report?format=parquet`,
      '/api/v1/integrations/gcp/report?format=csv',
    ]) {
      const head = await t.call('auditor', 'HEAD', url);
      expect(head.statusCode).toBe(200);
      expect(head.rawPayload.length).toBe(0);
      expect(String(head.headers['content-disposition'])).toMatch(
        /^attachment; filename="access-discovery-.+\.(parquet|csv)"$/,
      );
      expect(await auditRow(head)).toBeUndefined();
    }
    expect(await exports()).toBe(before);
    expect(
      (await t.call('auditor', 'HEAD', `/api/v1/assessments/${CURRENT}/report?format=csv`)).headers[
        'content-type'
      ],
    ).toBe('text/csv; charset=utf-8');
    // Refused or failed attempts are still recorded, as for GET.
    const denied = await t.call(
      'analyst',
      'HEAD',
      `/api/v1/assessments/${CURRENT}/report?format=csv`,
    );
    expect(denied.statusCode).toBe(403);
    expect(await auditRow(denied)).toMatchObject({ action: 'report.export', outcome: 'denied' });
    const running = await t.call(
      'auditor',
      'HEAD',
      `/api/v1/assessments/${RUNNING}/report?format=csv`,
    );
    expect(running.statusCode).toBe(409);
    expect(await auditRow(running)).toMatchObject({ action: 'report.export', outcome: 'failed' });
  });

  it('reports the current assessment of an integration', async () => {
    const r = await t.call('admin', 'GET', '/api/v1/integrations/gcp/report?format=csv');
    expect(r.statusCode).toBe(200);
    expect(r.body.trim().split('\n')).toHaveLength(3);
  });

  it('answers 409 for a running assessment, 404 for unknown ones, 400 for unknown formats', async () => {
    expect(
      (await t.call('auditor', 'GET', `/api/v1/assessments/${RUNNING}/report?format=csv`))
        .statusCode,
    ).toBe(409);
    expect(
      (await t.call('auditor', 'GET', '/api/v1/assessments/nope/report?format=csv')).statusCode,
    ).toBe(404);
    expect(
      (await t.call('auditor', 'GET', '/api/v1/integrations/nope/report?format=csv')).statusCode,
    ).toBe(404);
    expect(
      (await t.call('auditor', 'GET', `/api/v1/assessments/${CURRENT}/report?format=xlsx`))
        .statusCode,
    ).toBe(400);
    expect(
      (await t.call('auditor', 'GET', `/api/v1/assessments/${CURRENT}/report`)).statusCode,
    ).toBe(400);
  });
});
