import type { FastifyInstance } from 'fastify';
import { ApiError, notFound } from '../errors.ts';
import { ALL_ROLES } from '../plugins/auth.ts';
import { parseJsonColumn } from '../principals.ts';
import {
  anyJson,
  bool,
  dateTime,
  errorBody,
  errors,
  idParam,
  int,
  nullable,
  security,
  str,
} from '../schemas.ts';
import { loadSql } from '../sql.ts';

const summary = {
  type: 'object',
  properties: {
    assessmentId: str,
    integrationId: str,
    status: { type: 'string', description: 'running, succeeded, partial or failed' },
    trigger: str,
    stage: str,
    startedAt: dateTime,
    finishedAt: dateTime,
    windowStart: str,
    windowEnd: str,
    dormancyDays: int,
    accountCount: nullable('integer'),
    principalCount: nullable('integer'),
    identityCount: nullable('integer'),
    eventCount: nullable('integer'),
    errorCount: int,
    current: { type: 'boolean', description: 'The latest finished assessment of its integration.' },
  },
} as const;

const detail = {
  type: 'object',
  properties: {
    ...summary.properties,
    objectCount: nullable('integer'),
    rejectedObjectCount: nullable('integer'),
    progress: anyJson,
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          accountId: nullable('string'),
          service: nullable('string'),
          call: nullable('string'),
          message: str,
        },
      },
    },
    accounts: {
      type: 'array',
      description: 'Accounts or projects in the snapshot, with their inventory outcome and errors.',
      items: {
        type: 'object',
        properties: {
          accountId: str,
          name: str,
          cloud: str,
          status: str,
          riskLevel: str,
          inventoryStatus: str,
          inventoryError: nullable('string'),
          errors: {
            type: 'array',
            items: {
              type: 'object',
              properties: { service: nullable('string'), call: nullable('string'), message: str },
            },
          },
        },
      },
    },
  },
} as const;

const SUMMARY_SQL = `SELECT a.assessment_id, a.integration_id, a.status, a.trigger, a.stage, a.started_at,
  a.finished_at, CAST(a.window_start AS VARCHAR) AS window_start, CAST(a.window_end AS VARCHAR) AS window_end,
  a.dormancy_days, a.account_count, a.principal_count, a.identity_count, a.event_count,
  a.object_count, a.rejected_object_count, a.errors, a.progress,
  coalesce(json_array_length(a.errors), 0) AS error_count,
  a.assessment_id IN (SELECT assessment_id FROM (${loadSql('current-assessments')})) AS is_current
FROM assessment a`;

function toSummary(r: Record<string, unknown>) {
  return {
    assessmentId: r.assessment_id,
    integrationId: r.integration_id,
    status: r.status,
    trigger: r.trigger,
    stage: r.stage,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    windowStart: r.window_start,
    windowEnd: r.window_end,
    dormancyDays: r.dormancy_days,
    accountCount: r.account_count,
    principalCount: r.principal_count,
    identityCount: r.identity_count,
    eventCount: r.event_count,
    errorCount: r.error_count,
    current: Boolean(r.is_current),
  };
}

interface RunError {
  accountId: string | null;
  service: string | null;
  call: string | null;
  message: string;
}

function readErrors(value: unknown): RunError[] {
  const parsed = parseJsonColumn(value);
  if (!Array.isArray(parsed)) return [];
  return parsed.map((e: Record<string, unknown>) => ({
    accountId: typeof e.accountId === 'string' ? e.accountId : null,
    service: typeof e.service === 'string' ? e.service : null,
    call: typeof e.call === 'string' ? e.call : null,
    message: typeof e.message === 'string' ? e.message : JSON.stringify(e),
  }));
}

export function registerAssessmentRoutes(api: FastifyInstance): void {
  api.get<{
    Querystring: { integrationId?: string; status?: string; limit: number; offset: number };
  }>(
    '/assessments',
    {
      config: { access: { roles: ALL_ROLES } },
      schema: {
        tags: ['assessments'],
        summary: 'Assessments, newest first',
        security,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            integrationId: { type: 'string', maxLength: 63 },
            status: { type: 'string', enum: ['running', 'succeeded', 'partial', 'failed'] },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            offset: { type: 'integer', minimum: 0, maximum: 10_000_000, default: 0 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { total: int, items: { type: 'array', items: summary } },
          },
          ...errors,
        },
      },
    },
    async (request) => {
      const q = request.query;
      return api.pool.use(async (db) => {
        const where = `WHERE ($integration IS NULL OR a.integration_id = $integration)
          AND ($status IS NULL OR a.status = $status)`;
        const params = { integration: q.integrationId ?? null, status: q.status ?? null };
        const total = await db.scalar<number>(`SELECT count(*) FROM assessment a ${where}`, params);
        const rows = await db.all(
          `${SUMMARY_SQL} ${where} ORDER BY a.started_at DESC, a.assessment_id DESC LIMIT $limit OFFSET $offset`,
          { ...params, limit: q.limit, offset: q.offset },
        );
        return { total: Number(total), items: rows.map(toSummary) };
      });
    },
  );

  api.get<{ Params: { assessmentId: string } }>(
    '/assessments/:assessmentId',
    {
      config: { access: { roles: ALL_ROLES } },
      schema: {
        tags: ['assessments'],
        summary: 'One assessment: counts, status and per-account errors',
        security,
        params: idParam('assessmentId', 'Assessment id'),
        response: { 200: detail, ...errors },
      },
    },
    async (request) => {
      const id = request.params.assessmentId;
      return api.pool.use(async (db) => {
        const row = await db.one(`${SUMMARY_SQL} WHERE a.assessment_id = $id`, { id });
        if (!row) throw notFound('assessment', id);
        const runErrors = readErrors(row.errors);
        const accounts = await db.all(
          `SELECT account_id, name, cloud, status, risk_level, inventory_status, inventory_error
           FROM account WHERE assessment_id = $id ORDER BY account_id`,
          { id },
        );
        return {
          ...toSummary(row),
          objectCount: row.object_count,
          rejectedObjectCount: row.rejected_object_count,
          progress: parseJsonColumn(row.progress),
          errors: runErrors,
          accounts: accounts.map((a) => ({
            accountId: a.account_id,
            name: a.name,
            cloud: a.cloud,
            status: a.status,
            riskLevel: a.risk_level,
            inventoryStatus: a.inventory_status,
            inventoryError: a.inventory_error,
            errors: runErrors
              .filter((e) => e.accountId === a.account_id)
              .map(({ service, call, message }) => ({ service, call, message })),
          })),
        };
      });
    },
  );

  api.post<{ Body: { integrationId: string } }>(
    '/assessments',
    {
      config: {
        access: {
          roles: ['admin'],
          audit: 'assessment.run',
          target: (request) =>
            ((request.body as { integrationId?: unknown } | undefined)?.integrationId as string) ??
            null,
        },
      },
      schema: {
        tags: ['assessments'],
        summary: 'Run an assessment of an integration now (admin)',
        description:
          'Answers 202 as soon as the run has started; poll GET /assessments/{assessmentId}. 409 while the integration is already running (scheduled or not).',
        security,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['integrationId'],
          properties: { integrationId: { type: 'string', minLength: 1, maxLength: 63 } },
        },
        response: {
          202: {
            type: 'object',
            properties: { integrationId: str, assessmentId: nullable('string'), running: bool },
          },
          409: errorBody,
          503: errorBody,
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const { integrationId } = request.body;
      if (!api.appConfig.integrations.some((i) => i.id === integrationId)) {
        throw notFound('integration', integrationId);
      }
      const started = await api.runs.start(integrationId, 'api');
      request.auditDetails = { assessmentId: started.assessmentId };
      if (started.assessmentId === null) {
        throw new ApiError(
          500,
          'run-failed',
          `the assessment of ${integrationId} ended without an id`,
        );
      }
      return reply.code(202).send({
        integrationId,
        assessmentId: started.assessmentId,
        running: api.runs.isRunning(integrationId),
      });
    },
  );
}
