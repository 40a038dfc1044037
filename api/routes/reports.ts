import { createReadStream } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { ApiError, notFound } from '../errors.ts';
import {
  buildReport,
  REPORT_CONTENT_TYPES,
  REPORT_FORMATS,
  type ReportFormat,
  reportFilename,
} from '../reports/index.ts';
import { errorBody, errors, security } from '../schemas.ts';
import { resolveScope } from '../scope.ts';

const formatQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['format'],
  properties: {
    format: {
      type: 'string',
      enum: [...REPORT_FORMATS],
      description: 'csv, json, parquet, arrow or html',
    },
  },
} as const;

const fileResponse = {
  200: {
    description: 'The report file (Content-Disposition: attachment).',
    type: 'string',
    format: 'binary',
  },
  409: errorBody,
  ...errors,
} as const;

export function registerReportRoutes(api: FastifyInstance): void {
  const configured = new Set(api.appConfig.integrations.map((i) => i.id));

  async function send(
    request: {
      method: string;
      auditDetails: Record<string, unknown> | null;
      auditTarget: string | null;
    },
    reply: import('fastify').FastifyReply,
    assessmentId: string,
    format: ReportFormat,
  ) {
    const file = await api.pool.use(async (db) => {
      const status = await db.scalar<string>(
        'SELECT status FROM assessment WHERE assessment_id = $id',
        {
          id: assessmentId,
        },
      );
      if (status === undefined) throw notFound('assessment', assessmentId);
      if (status === 'running') {
        throw new ApiError(
          409,
          'assessment-running',
          `assessment ${assessmentId} is still running`,
        );
      }
      // HEAD sends no body: answer the GET's status and headers without building the file
      // (its length is unknown then, so Content-Length is left out).
      return request.method === 'HEAD' ? null : buildReport(db, assessmentId, format);
    });
    if (file === null) {
      return reply
        .header('content-type', REPORT_CONTENT_TYPES[format])
        .header(
          'content-disposition',
          `attachment; filename="${reportFilename(assessmentId, format)}"`,
        )
        .send();
    }
    request.auditTarget = assessmentId;
    request.auditDetails = { format, bytes: file.bytes };
    const stream = createReadStream(file.path);
    stream.on('close', file.cleanup);
    return reply
      .header('content-type', file.contentType)
      .header('content-disposition', `attachment; filename="${file.filename}"`)
      .header('content-length', String(file.bytes))
      .send(stream);
  }

  api.get<{ Params: { assessmentId: string }; Querystring: { format: ReportFormat } }>(
    '/assessments/:assessmentId/report',
    {
      config: { access: { roles: ['admin', 'auditor'], audit: 'report.export' } },
      schema: {
        tags: ['reports'],
        summary: 'Least-privilege report of one assessment (admin, auditor)',
        security,
        params: {
          type: 'object',
          properties: { assessmentId: { type: 'string', minLength: 1, maxLength: 200 } },
          required: ['assessmentId'],
        },
        querystring: formatQuery,
        response: fileResponse,
      },
    },
    async (request, reply) =>
      send(request, reply, request.params.assessmentId, request.query.format),
  );

  api.get<{ Params: { integrationId: string }; Querystring: { format: ReportFormat } }>(
    '/integrations/:integrationId/report',
    {
      config: { access: { roles: ['admin', 'auditor'], audit: 'report.export' } },
      schema: {
        tags: ['reports'],
        summary:
          'Least-privilege report of the current assessment of an integration (admin, auditor)',
        security,
        params: {
          type: 'object',
          properties: { integrationId: { type: 'string', minLength: 1, maxLength: 63 } },
          required: ['integrationId'],
        },
        querystring: formatQuery,
        response: fileResponse,
      },
    },
    async (request, reply) => {
      const scope = await api.pool.use((db) =>
        resolveScope(db, { integrationId: request.params.integrationId }, configured),
      );
      return send(request, reply, scope[0]!.assessmentId, request.query.format);
    },
  );
}
