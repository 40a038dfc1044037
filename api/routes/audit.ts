import type { FastifyInstance } from 'fastify';
import { parseJsonColumn } from '../principals.ts';
import { anyJson, dateTime, errors, int, nullable, security, str } from '../schemas.ts';

const entry = {
  type: 'object',
  properties: {
    auditId: int,
    occurredAt: dateTime,
    actor: str,
    role: nullable('string'),
    action: str,
    target: nullable('string'),
    outcome: { type: 'string', description: 'success, denied or failed' },
    details: anyJson,
    requestId: nullable('string'),
    sourceIp: nullable('string'),
  },
} as const;

export function registerAuditRoutes(api: FastifyInstance): void {
  api.get<{
    Querystring: {
      action?: string;
      actor?: string;
      outcome?: string;
      limit: number;
      offset: number;
    };
  }>(
    '/audit-log',
    {
      config: { access: { roles: ['admin', 'auditor'] } },
      schema: {
        tags: ['admin'],
        summary: 'Every mutation and export, newest first (admin, auditor)',
        security,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            action: { type: 'string', maxLength: 100 },
            actor: { type: 'string', maxLength: 300 },
            outcome: { type: 'string', enum: ['success', 'denied', 'failed'] },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
            offset: { type: 'integer', minimum: 0, maximum: 10_000_000, default: 0 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { total: int, items: { type: 'array', items: entry } },
          },
          ...errors,
        },
      },
    },
    async (request) => {
      const q = request.query;
      return api.pool.use(async (db) => {
        const where = `WHERE ($action IS NULL OR action = $action) AND ($actor IS NULL OR actor = $actor)
          AND ($outcome IS NULL OR outcome = $outcome)`;
        const params = {
          action: q.action ?? null,
          actor: q.actor ?? null,
          outcome: q.outcome ?? null,
        };
        const total = await db.scalar(`SELECT count(*) FROM audit_log ${where}`, params);
        const rows = await db.all(
          `SELECT audit_id AS "auditId", occurred_at AS "occurredAt", actor, role, action, target,
             outcome, details, request_id AS "requestId", source_ip AS "sourceIp"
           FROM audit_log ${where} ORDER BY audit_id DESC LIMIT $limit OFFSET $offset`,
          { ...params, limit: q.limit, offset: q.offset },
        );
        return {
          total: Number(total),
          items: rows.map((r) => ({ ...r, details: parseJsonColumn(r.details) })),
        };
      });
    },
  );
}
