import type { FastifyInstance } from 'fastify';
import { RemediationError } from '../../lib/errors.ts';
import type { Db } from '../../model/db.ts';
import { ApiError, notConfigured, notFound } from '../errors.ts';
import { ALL_ROLES } from '../plugins/auth.ts';
import { parseJsonColumn } from '../principals.ts';
import {
  anyJson,
  dateTime,
  errorBody,
  errors,
  idParam,
  int,
  nullable,
  security,
  str,
} from '../schemas.ts';
import type { RemediationService } from '../services.ts';

const remediation = {
  type: 'object',
  properties: {
    remediationId: str,
    recommendationId: str,
    integrationId: str,
    principalId: str,
    accountId: str,
    optionType: str,
    status: { type: 'string', description: 'applied, failed, rolled-back or rollback-failed' },
    calls: anyJson,
    previousState: anyJson,
    rollbackCalls: anyJson,
    actor: str,
    appliedAt: dateTime,
    rolledBackAt: dateTime,
    rolledBackBy: nullable('string'),
    error: nullable('string'),
  },
} as const;

const preview = {
  type: 'object',
  properties: {
    recommendationId: str,
    optionType: str,
    principalId: str,
    accountId: str,
    calls: {
      type: 'array',
      items: {
        type: 'object',
        properties: { service: str, operation: str, accountId: str, parameters: anyJson },
      },
    },
    currentState: anyJson,
    warnings: { type: 'array', items: str },
  },
} as const;

const optionBody = {
  type: 'object',
  additionalProperties: false,
  required: ['option'],
  properties: {
    option: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description: 'Option type of the recommendation, e.g. quarantine.',
    },
  },
} as const;

const SELECT_REMEDIATION = `SELECT remediation_id AS "remediationId", recommendation_id AS "recommendationId",
  integration_id AS "integrationId", principal_id AS "principalId", account_id AS "accountId",
  option_type AS "optionType", status, calls, previous_state AS "previousState",
  rollback_calls AS "rollbackCalls", actor, applied_at AS "appliedAt", rolled_back_at AS "rolledBackAt",
  rolled_back_by AS "rolledBackBy", error FROM remediation`;

function decodeRemediation(row: Record<string, unknown>) {
  return {
    ...row,
    calls: parseJsonColumn(row.calls),
    previousState: parseJsonColumn(row.previousState),
    rollbackCalls: parseJsonColumn(row.rollbackCalls),
  };
}

/** The option must be one the recommendation offers and marks as applicable. */
async function checkOption(db: Db, recommendationId: string, option: string): Promise<void> {
  const row = await db.one(
    'SELECT options, state FROM recommendation WHERE recommendation_id = $id',
    {
      id: recommendationId,
    },
  );
  if (!row) throw notFound('recommendation', recommendationId);
  const options = parseJsonColumn(row.options);
  const list = Array.isArray(options) ? (options as Array<Record<string, unknown>>) : [];
  const found = list.find((o) => o.type === option);
  if (!found) {
    throw new ApiError(
      400,
      'invalid-option',
      `recommendation ${recommendationId} has no option ${JSON.stringify(option)}; it offers ${list.map((o) => String(o.type)).join(', ') || 'none'}`,
    );
  }
  if (found.applicable !== true) {
    throw new ApiError(
      400,
      'invalid-option',
      `option ${option} of recommendation ${recommendationId} cannot be applied through the API (use its artifacts)`,
    );
  }
}

function remediationFailure(err: unknown): never {
  if (err instanceof RemediationError) {
    throw new ApiError(422, 'remediation-failed', err.message);
  }
  throw err;
}

export function registerRemediationRoutes(api: FastifyInstance): void {
  function service(): RemediationService {
    const s = api.services.remediation;
    if (!s) throw notConfigured('remediation');
    return s;
  }

  api.post<{ Params: { recommendationId: string }; Body: { option: string } }>(
    '/recommendations/:recommendationId/preview',
    {
      config: { access: { roles: ['admin'], audit: 'remediation.preview' } },
      schema: {
        tags: ['remediations'],
        summary: 'Dry run (admin): the calls a remediation would make; nothing changes',
        security,
        params: idParam('recommendationId', 'Recommendation id'),
        body: optionBody,
        response: { 200: preview, 422: errorBody, 503: errorBody, ...errors },
      },
    },
    async (request) => {
      const remediation = service();
      const { recommendationId } = request.params;
      const { option } = request.body;
      request.auditDetails = { option, dryRun: true };
      await api.pool.use((db) => checkOption(db, recommendationId, option));
      return remediation.preview(recommendationId, option).catch(remediationFailure);
    },
  );

  api.post<{ Params: { recommendationId: string }; Body: { option: string } }>(
    '/recommendations/:recommendationId/apply',
    {
      config: { access: { roles: ['admin'], audit: 'remediation.apply' } },
      schema: {
        tags: ['remediations'],
        summary: 'Apply a remediation (admin); the previous state is recorded for rollback',
        security,
        params: idParam('recommendationId', 'Recommendation id'),
        body: optionBody,
        response: { 201: remediation, 422: errorBody, 503: errorBody, ...errors },
      },
    },
    async (request, reply) => {
      const remediation = service();
      const { recommendationId } = request.params;
      const { option } = request.body;
      request.auditDetails = { option, dryRun: false };
      await api.pool.use((db) => checkOption(db, recommendationId, option));
      const record = await remediation
        .apply(recommendationId, option, request.auth!.actor)
        .catch(remediationFailure);
      request.auditDetails = {
        ...request.auditDetails,
        remediationId: record.remediationId,
        status: record.status,
      };
      return reply.code(201).send(record);
    },
  );

  api.post<{ Params: { remediationId: string } }>(
    '/remediations/:remediationId/rollback',
    {
      config: { access: { roles: ['admin'], audit: 'remediation.rollback' } },
      schema: {
        tags: ['remediations'],
        summary: 'Roll a remediation back to the recorded previous state (admin)',
        security,
        params: idParam('remediationId', 'Remediation id'),
        response: { 200: remediation, 409: errorBody, 422: errorBody, 503: errorBody, ...errors },
      },
    },
    async (request) => {
      const remediation = service();
      const { remediationId } = request.params;
      const row = await api.pool.use((db) =>
        db.one('SELECT status FROM remediation WHERE remediation_id = $id', { id: remediationId }),
      );
      if (!row) throw notFound('remediation', remediationId);
      if (row.status !== 'applied' && row.status !== 'rollback-failed') {
        throw new ApiError(
          409,
          'not-rollbackable',
          `remediation ${remediationId} is ${String(row.status)}; only applied remediations (or failed rollbacks) can be rolled back`,
        );
      }
      const record = await remediation
        .rollback(remediationId, request.auth!.actor)
        .catch(remediationFailure);
      request.auditDetails = { status: record.status };
      return record;
    },
  );

  api.get<{
    Querystring: { principalId?: string; status?: string; limit: number; offset: number };
  }>(
    '/remediations',
    {
      config: { access: { roles: ALL_ROLES } },
      schema: {
        tags: ['remediations'],
        summary: 'Applied remediations, newest first',
        security,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            principalId: { type: 'string', maxLength: 2048 },
            status: {
              type: 'string',
              enum: ['applied', 'failed', 'rolled-back', 'rollback-failed'],
            },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
            offset: { type: 'integer', minimum: 0, maximum: 10_000_000, default: 0 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { total: int, items: { type: 'array', items: remediation } },
          },
          ...errors,
        },
      },
    },
    async (request) => {
      const q = request.query;
      return api.pool.use(async (db) => {
        const where = 'WHERE ($p IS NULL OR principal_id = $p) AND ($s IS NULL OR status = $s)';
        const params = { p: q.principalId ?? null, s: q.status ?? null };
        const total = await db.scalar(`SELECT count(*) FROM remediation ${where}`, params);
        const rows = await db.all(
          `${SELECT_REMEDIATION} ${where} ORDER BY applied_at DESC, remediation_id LIMIT $limit OFFSET $offset`,
          { ...params, limit: q.limit, offset: q.offset },
        );
        return { total: Number(total), items: rows.map(decodeRemediation) };
      });
    },
  );

  api.get<{ Params: { remediationId: string } }>(
    '/remediations/:remediationId',
    {
      config: { access: { roles: ALL_ROLES } },
      schema: {
        tags: ['remediations'],
        summary: 'One remediation with its calls and previous state',
        security,
        params: idParam('remediationId', 'Remediation id'),
        response: { 200: remediation, ...errors },
      },
    },
    async (request) => {
      const row = await api.pool.use((db) =>
        db.one(`${SELECT_REMEDIATION} WHERE remediation_id = $id`, {
          id: request.params.remediationId,
        }),
      );
      if (!row) throw notFound('remediation', request.params.remediationId);
      return decodeRemediation(row);
    },
  );
}
