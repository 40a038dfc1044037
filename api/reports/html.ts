import type { Row } from '../../model/db.ts';
import type { RecommendationLine, ReportData } from './data.ts';

/**
 * The printable least-privilege report: one HTML file with inline CSS and no script, image or
 * font from anywhere else, so that it can be archived, mailed and printed as it is.
 */

const MAX_TABLE_ROWS = 2000;

export function escapeHtml(value: unknown): string {
  if (value === null || value === undefined) return '';
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function pct(value: unknown): string {
  if (value === null || value === undefined) return '—';
  return `${Number(value).toFixed(1)}%`;
}

function num(value: unknown): string {
  if (value === null || value === undefined) return '—';
  return Number(value).toLocaleString('en-US');
}

function when(value: unknown): string {
  if (value === null || value === undefined) return 'never';
  return escapeHtml(
    String(value)
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z'),
  );
}

function table(headers: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return `<p class="empty">${escapeHtml(empty)}</p>`;
  const shown = rows.slice(0, MAX_TABLE_ROWS);
  const more =
    rows.length > shown.length
      ? `<p class="note">${num(rows.length - shown.length)} more rows are in the CSV, JSON, Parquet and Arrow exports of this assessment.</p>`
      : '';
  return `<table><thead><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${shown
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>${more}`;
}

const CSS = `
*{box-sizing:border-box}
body{font:13px/1.45 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1b1f24;margin:32px auto;max-width:1100px;padding:0 24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px;border-bottom:2px solid #1b1f24;padding-bottom:4px}
.meta{color:#57606a;margin:0 0 16px}
.grid{display:grid;grid-template-columns:repeat(5,1fr);gap:8px}
.card{border:1px solid #d0d7de;border-radius:6px;padding:8px 10px}.card b{display:block;font-size:20px}
.card span{color:#57606a;font-size:12px}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border-bottom:1px solid #d0d7de;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}td.n,th.n{text-align:right}
.bar{display:inline-block;height:10px;background:#57606a;vertical-align:middle}
.warn{color:#9a6700;font-weight:600}.bad{color:#cf222e;font-weight:600}
.empty,.note{color:#57606a;font-style:italic}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;border:1px solid #d0d7de;font-size:12px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
footer{margin-top:32px;color:#57606a;font-size:12px}
@media print{body{margin:0;max-width:none;padding:0 8mm;font-size:10.5px}h2{break-after:avoid}tr{break-inside:avoid}.grid{grid-template-columns:repeat(5,1fr)}a{color:inherit;text-decoration:none}}
@page{size:A4 landscape;margin:12mm}
`;

function widget(data: ReportData, id: string) {
  return data.widgets.find((w) => w.id === id);
}

function recommendationRows(lines: RecommendationLine[], applied: boolean): string[][] {
  return lines.map((l) => {
    const base = [
      escapeHtml(l.severity),
      `${escapeHtml(l.principalName ?? '')}<br><code>${escapeHtml(l.principalId)}</code>`,
      escapeHtml(l.title),
      `${escapeHtml(l.owner ?? 'unassigned')}${l.owner ? ` <span class="note">(${escapeHtml(l.ownerSource)})</span>` : ''}`,
    ];
    if (!applied) return base;
    return [
      ...base,
      escapeHtml(l.remediation?.optionType ?? ''),
      escapeHtml(l.remediation?.actor ?? ''),
      l.remediation ? when(l.remediation.appliedAt) : '',
      escapeHtml(l.remediation?.status ?? ''),
    ];
  });
}

export function renderHtmlReport(data: ReportData): string {
  const a = data.assessment;
  const title = `Least-privilege report — ${a.integrationName ?? a.integrationId}`;
  const tiers = widget(data, 'principals-by-tier');
  const tierMax = Math.max(1, ...(tiers?.buckets ?? []).map((b) => b.count));
  const cards: Array<[string, string]> = [
    [num(a.principalCount), 'principals'],
    [num(a.accountCount), 'accounts / projects'],
    [num(a.identityCount), 'identities seen'],
    [pct(widget(data, 'overprivilege')?.value), 'average overprivilege'],
    [num(widget(data, 'dormant-principals')?.value), 'dormant principals'],
    [num(widget(data, 'high-risk-overprivileged-principals')?.value), 'with unused IAM/ADMIN'],
    [num(data.recommendations.open.length), 'open recommendations'],
    [num(data.recommendations.applied.length), 'applied recommendations'],
    [num(data.ignored.length), 'ignored principals'],
    [num(a.errors.length), 'errors in this run'],
  ];
  const windowDays = data.coverage[0]?.windowDays;
  const coverageRows = data.coverage.map((c) => {
    const share = c.windowDays > 0 ? (100 * c.daysCovered) / c.windowDays : 0;
    const cls = share >= 100 ? '' : share === 0 ? ' class="bad"' : ' class="warn"';
    return [
      `${escapeHtml(c.name)}<br><code>${escapeHtml(c.accountId)}</code>`,
      escapeHtml(c.inventoryStatus),
      `<span${cls}>${num(c.daysCovered)} / ${num(c.windowDays)} (${share.toFixed(0)}%)</span>`,
      num(c.dataEventDays),
      escapeHtml(c.regions.join(', ')),
      escapeHtml(c.sources.join(', ')),
      num(c.records),
    ];
  });
  const riskRows = data.topRisks.map((r: Row) => [
    `${escapeHtml(r.principal_name)}<br><code>${escapeHtml(r.principal_id)}</code>`,
    `${escapeHtml(r.account_name ?? '')} <code>${escapeHtml(r.account_id)}</code>`,
    escapeHtml(r.type),
    escapeHtml(r.tier),
    num(r.risk_score),
    pct(r.overprivilege_pct),
    pct(r.high_risk_overprivilege_pct),
    escapeHtml(r.status),
    when(r.last_used_at),
    escapeHtml(r.owner ?? ''),
  ]);
  const errorRows = a.errors.map((e) => {
    const err = (e ?? {}) as Record<string, unknown>;
    return [
      escapeHtml(err.accountId ?? ''),
      escapeHtml(err.service ?? ''),
      escapeHtml(err.call ?? ''),
      escapeHtml(err.message ?? JSON.stringify(e)),
    ];
  });
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="meta">Assessment <code>${escapeHtml(a.assessmentId)}</code> · <span class="badge">${escapeHtml(a.status)}</span> · started ${when(a.startedAt)}, finished ${when(a.finishedAt)} · integration owner ${escapeHtml(a.integrationOwner ?? 'not set')} · generated ${when(data.generatedAt)}</p>

<h2>Summary</h2>
<div class="grid">${cards.map(([v, l]) => `<div class="card"><b>${v}</b><span>${escapeHtml(l)}</span></div>`).join('')}</div>

<h2>Evidence window and log coverage</h2>
<p>Evidence window <b>${escapeHtml(a.windowStart)}</b> to <b>${escapeHtml(a.windowEnd)}</b>${windowDays ? ` (${num(windowDays)} days)` : ''}; a principal is dormant after ${num(a.dormancyDays)} days without use, and only where the logs cover its account for the whole window. Permissions the logs cannot show are counted as unobservable, never as unused.</p>
${table(['account', 'inventory', 'days with logs', 'days with data events', 'regions', 'sources', 'records'], coverageRows, 'No log coverage was recorded for this assessment.')}

<h2>Tiers</h2>
${table(
  ['tier', 'principals', ''],
  (tiers?.buckets ?? []).map((b) => [
    escapeHtml(b.key),
    num(b.count),
    `<span class="bar" style="width:${Math.round((200 * b.count) / tierMax)}px"></span>`,
  ]),
  'No principals were scored.',
)}

<h2>Top risks</h2>
${table(['principal', 'account', 'type', 'tier', 'risk', 'overprivilege', 'IAM/ADMIN unused', 'status', 'last used', 'owner'], riskRows, 'No principals were scored.')}

<h2>Open recommendations</h2>
${table(['severity', 'principal', 'recommendation', 'owner'], recommendationRows(data.recommendations.open, false), 'No open recommendations.')}

<h2>Applied recommendations</h2>
${table(['severity', 'principal', 'recommendation', 'owner', 'option', 'applied by', 'applied at', 'status'], recommendationRows(data.recommendations.applied, true), 'No recommendation has been applied.')}

<h2>Ignored principals</h2>
${table(
  ['principal', 'reason', 'ignored by', 'since', 'expires'],
  data.ignored.map((i) => [
    `${escapeHtml(i.principalName)}<br><code>${escapeHtml(i.principalId)}</code>`,
    escapeHtml(i.reason),
    escapeHtml(i.createdBy),
    when(i.createdAt),
    i.expiresAt ? when(i.expiresAt) : 'never',
  ]),
  'No principal is ignored.',
)}

<h2>Errors</h2>
${table(['account', 'service', 'call', 'message'], errorRows, 'The run recorded no error.')}

<footer>Generated by Access Discovery from the stored rows of assessment ${escapeHtml(a.assessmentId)}; every figure can be reproduced from the database. Tabular exports of every principal: CSV, JSON, Parquet and Arrow.</footer>
</body></html>
`;
}
