import type { Db, Row } from '../../model/db.ts';
import { parseJsonColumn } from '../principals.ts';
import type { ScopeEntry } from '../scope.ts';
import { loadSql } from '../sql.ts';
import { computeWidgets, type Widget } from '../widgets.ts';
import { reportSelectList } from './columns.ts';

/** Everything the JSON and HTML reports show, read from one assessment's stored rows. */
export interface ReportData {
  generatedAt: string;
  assessment: {
    assessmentId: string;
    integrationId: string;
    integrationName: string | null;
    integrationOwner: string | null;
    status: string;
    trigger: string;
    startedAt: string;
    finishedAt: string | null;
    windowStart: string;
    windowEnd: string;
    dormancyDays: number;
    accountCount: number | null;
    principalCount: number | null;
    identityCount: number | null;
    eventCount: number | null;
    errors: unknown[];
  };
  widgets: Widget[];
  coverage: Array<{
    accountId: string;
    name: string;
    inventoryStatus: string;
    windowDays: number;
    daysCovered: number;
    dataEventDays: number;
    regions: string[];
    sources: string[];
    records: number;
    firstDay: string | null;
    lastDay: string | null;
  }>;
  topRisks: Row[];
  recommendations: { open: RecommendationLine[]; applied: RecommendationLine[] };
  ignored: Array<{
    principalId: string;
    principalName: string;
    reason: string;
    createdBy: string;
    createdAt: string;
    expiresAt: string | null;
  }>;
}

export interface RecommendationLine {
  recommendationId: string;
  principalId: string;
  principalName: string | null;
  title: string;
  kind: string;
  severity: string;
  owner: string | null;
  ownerSource: string;
  state: string;
  remediation: {
    remediationId: string;
    optionType: string;
    status: string;
    actor: string;
    appliedAt: string;
  } | null;
}

const TOP_RISKS = 25;

/** Rows of the report table, typed (lists and timestamps kept) or CSV-ready. */
export function reportRowsSql(format: 'csv' | 'typed'): string {
  return `SELECT ${reportSelectList(format)} FROM (${loadSql('report-principals')}) r ORDER BY r.risk_score DESC, r.principal_id`;
}

export async function gatherReport(db: Db, assessmentId: string): Promise<ReportData> {
  const a = await db.one(
    `SELECT a.*, CAST(a.window_start AS VARCHAR) AS ws, CAST(a.window_end AS VARCHAR) AS we,
       i.name AS integration_name, i.owner AS integration_owner
     FROM assessment a LEFT JOIN integration i ON i.integration_id = a.integration_id
     WHERE a.assessment_id = $id`,
    { id: assessmentId },
  );
  if (!a) throw new Error(`assessment ${assessmentId} vanished while the report was built`);
  const scope: ScopeEntry[] = [
    {
      assessmentId,
      integrationId: String(a.integration_id),
      status: String(a.status),
      startedAt: String(a.started_at),
      finishedAt: a.finished_at === null ? null : String(a.finished_at),
    },
  ];
  const widgets = await computeWidgets(db, scope, String(a.started_at).slice(0, 10));
  const coverage = await db.all(loadSql('report-coverage'), { assessment_id: assessmentId });
  const topRisks = await db.all(`${reportRowsSql('typed')} LIMIT ${TOP_RISKS}`, {
    assessment_id: assessmentId,
  });
  const recs = await db.all(
    `SELECT r.recommendation_id, r.principal_id, p.name AS principal_name, r.title, r.kind,
       r.severity, r.owner, r.owner_source, r.state,
       m.remediation_id, m.option_type, m.status AS remediation_status, m.actor, m.applied_at
     FROM recommendation r
     LEFT JOIN principal p ON p.assessment_id = r.assessment_id AND p.principal_id = r.principal_id
     LEFT JOIN (
       SELECT * FROM remediation
       QUALIFY row_number() OVER (PARTITION BY recommendation_id ORDER BY applied_at DESC) = 1
     ) m ON m.recommendation_id = r.recommendation_id
     WHERE r.assessment_id = $id AND r.state IN ('open', 'applied')
     ORDER BY CASE r.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
       r.principal_id, r.rank`,
    { id: assessmentId },
  );
  const toLine = (r: Row): RecommendationLine => ({
    recommendationId: String(r.recommendation_id),
    principalId: String(r.principal_id),
    principalName: r.principal_name === null ? null : String(r.principal_name),
    title: String(r.title),
    kind: String(r.kind),
    severity: String(r.severity),
    owner: r.owner === null ? null : String(r.owner),
    ownerSource: String(r.owner_source),
    state: String(r.state),
    remediation:
      r.remediation_id === null
        ? null
        : {
            remediationId: String(r.remediation_id),
            optionType: String(r.option_type),
            status: String(r.remediation_status),
            actor: String(r.actor),
            appliedAt: String(r.applied_at),
          },
  });
  const ignored = await db.all(
    `SELECT DISTINCT ON (p.principal_id) p.principal_id, p.name, ir.reason, ir.created_by,
       ir.created_at, ir.expires_at
     FROM principal p
     JOIN ignore_rule ir ON ir.principal_id = p.principal_id
       AND (ir.integration_id IS NULL OR ir.integration_id = p.integration_id)
     WHERE p.assessment_id = $id AND ir.removed_at IS NULL
       AND (ir.expires_at IS NULL OR ir.expires_at > now())
     ORDER BY p.principal_id, ir.created_at DESC`,
    { id: assessmentId },
  );
  const errors = parseJsonColumn(a.errors);
  return {
    generatedAt: new Date().toISOString(),
    assessment: {
      assessmentId,
      integrationId: String(a.integration_id),
      integrationName: a.integration_name === null ? null : String(a.integration_name),
      integrationOwner: a.integration_owner === null ? null : String(a.integration_owner),
      status: String(a.status),
      trigger: String(a.trigger),
      startedAt: String(a.started_at),
      finishedAt: a.finished_at === null ? null : String(a.finished_at),
      windowStart: String(a.ws),
      windowEnd: String(a.we),
      dormancyDays: Number(a.dormancy_days),
      accountCount: a.account_count === null ? null : Number(a.account_count),
      principalCount: a.principal_count === null ? null : Number(a.principal_count),
      identityCount: a.identity_count === null ? null : Number(a.identity_count),
      eventCount: a.event_count === null ? null : Number(a.event_count),
      errors: Array.isArray(errors) ? errors : [],
    },
    widgets,
    coverage: coverage.map((c) => ({
      accountId: String(c.account_id),
      name: String(c.name),
      inventoryStatus: String(c.inventory_status),
      windowDays: Number(c.window_days),
      daysCovered: Number(c.days_covered),
      dataEventDays: Number(c.data_event_days),
      regions: (c.regions ?? []) as string[],
      sources: (c.sources ?? []) as string[],
      records: Number(c.records),
      firstDay: c.first_day === null ? null : String(c.first_day),
      lastDay: c.last_day === null ? null : String(c.last_day),
    })),
    topRisks,
    recommendations: {
      open: recs.filter((r) => r.state === 'open').map(toLine),
      applied: recs.filter((r) => r.state === 'applied').map(toLine),
    },
    ignored: ignored.map((r) => ({
      principalId: String(r.principal_id),
      principalName: String(r.name),
      reason: String(r.reason),
      createdBy: String(r.created_by),
      createdAt: String(r.created_at),
      expiresAt: r.expires_at === null ? null : String(r.expires_at),
    })),
  };
}
