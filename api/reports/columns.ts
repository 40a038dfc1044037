/**
 * Columns of the tabular reports (CSV, Parquet, Arrow, and the `principals` array of JSON),
 * in order, with their Arrow type. One definition for every format.
 */
export type ColumnKind = 'utf8' | 'int32' | 'float64' | 'bool' | 'timestamp' | 'list';

export interface ReportColumn {
  name: string;
  kind: ColumnKind;
  /** Expression over the report rows `r`; defaults to the column of the same name. */
  sql?: string;
  /** Free text a person or a cloud chose: neutralised against spreadsheet formulas in CSV. */
  freeText?: boolean;
  description: string;
}

export const REPORT_COLUMNS: ReportColumn[] = [
  { name: 'integration_id', kind: 'utf8', description: 'Integration.' },
  { name: 'assessment_id', kind: 'utf8', description: 'Assessment.' },
  { name: 'account_id', kind: 'utf8', description: 'AWS account or GCP project.' },
  { name: 'account_name', kind: 'utf8', freeText: true, description: 'Account display name.' },
  { name: 'principal_id', kind: 'utf8', freeText: true, description: 'ARN or member string.' },
  { name: 'principal_name', kind: 'utf8', freeText: true, description: 'Principal name.' },
  { name: 'type', kind: 'utf8', description: 'Principal kind.' },
  { name: 'cloud', kind: 'utf8', description: 'aws or gcp.' },
  { name: 'status', kind: 'utf8', description: 'active, dormant, new or no-coverage.' },
  { name: 'tier', kind: 'utf8', description: 'Critical, High, Medium or Low.' },
  { name: 'risk_score', kind: 'int32', description: 'Risk score 0-100.' },
  { name: 'overprivilege_pct', kind: 'float64', description: 'Unused observable share, %.' },
  {
    name: 'high_risk_overprivilege_pct',
    kind: 'float64',
    description: 'Same over IAM and ADMIN, %.',
  },
  { name: 'granted_count', kind: 'int32', description: 'Actions granted.' },
  { name: 'used_count', kind: 'int32', description: 'Actions used in the window.' },
  { name: 'unused_count', kind: 'int32', description: 'Observable actions not used.' },
  { name: 'unobservable_count', kind: 'int32', description: 'Actions the logs cannot show.' },
  { name: 'unused_levels', kind: 'list', description: 'Levels with unused actions.' },
  { name: 'last_used_at', kind: 'timestamp', description: 'Latest known use (UTC).' },
  { name: 'last_used_source', kind: 'utf8', description: 'Source of last_used_at.' },
  { name: 'created_at', kind: 'timestamp', description: 'Creation time (UTC).' },
  { name: 'owner', kind: 'utf8', freeText: true, description: 'Owner tag value.' },
  { name: 'human_identities', kind: 'int32', description: 'Human identities acting through it.' },
  {
    name: 'machine_identities',
    kind: 'int32',
    description: 'Machine identities acting through it.',
  },
  {
    name: 'ignored',
    kind: 'bool',
    sql: 'r.ignore_reason IS NOT NULL',
    description: 'An ignore rule is in force.',
  },
  { name: 'ignore_reason', kind: 'utf8', freeText: true, description: 'Why it is ignored.' },
  {
    name: 'open_recommendations',
    kind: 'int32',
    sql: 'CAST(r.open_recommendations AS INTEGER)',
    description: 'Open recommendations.',
  },
  {
    name: 'top_recommendation',
    kind: 'utf8',
    freeText: true,
    description: 'Highest-ranked open recommendation.',
  },
];

/** A spreadsheet runs a cell starting with = + - @ (or a tab/CR before them) as a formula. */
function csvSafe(expr: string): string {
  return `CASE WHEN regexp_matches(${expr}, '^[=+\\-@\\t\\r]') THEN '''' || ${expr} ELSE ${expr} END`;
}

/** The SELECT list over `r` for one output format. */
export function reportSelectList(format: 'csv' | 'typed'): string {
  return REPORT_COLUMNS.map((c) => {
    let expr = c.sql ?? `r.${c.name}`;
    if (format === 'csv') {
      if (c.kind === 'list') expr = `array_to_string(${expr}, ';')`;
      if (c.freeText) expr = csvSafe(expr);
    }
    return `${expr} AS ${c.name}`;
  }).join(',\n  ');
}
