import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../../model/db.ts';
import { rerankRecommendations } from '../../recommend/store.ts';
import { ApiError, notFound } from '../errors.ts';
import { ALL_ROLES } from '../plugins/auth.ts';
import { invalidateIgnoreVersion } from '../principal-list.ts';
import {
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

const ignoreRule = {
  type: 'object',
  properties: {
    ignoreId: str,
    principalId: str,
    integrationId: { type: ['string', 'null'], description: 'null: every integration' },
    reason: str,
    createdBy: str,
    createdAt: dateTime,
    expiresAt: dateTime,
    removedAt: dateTime,
    removedBy: nullable('string'),
    active: bool,
  },
} as const;

const SELECT_RULE = `SELECT ignore_id AS "ignoreId", principal_id AS "principalId",
  integration_id AS "integrationId", reason, created_by AS "createdBy", created_at AS "createdAt",
  expires_at AS "expiresAt", removed_at AS "removedAt", removed_by AS "removedBy",
  (removed_at IS NULL AND (expires_at IS NULL OR expires_at > now())) AS active
FROM ignore_rule`;

const ACTIVE = `removed_at IS NULL AND (expires_at IS NULL OR expires_at > now())`;

/** Recommendations of the current assessments that an ignore rule hides or shows again. */
const CURRENT_RECOMMENDATIONS = `assessment_id IN (SELECT assessment_id FROM (${loadSql('current-assessments')}))
  AND principal_id = $principal AND ($integration IS NULL OR integration_id = $integration)`;

/** Ignoring or unignoring changes which recommendations are open: rank the rest again. */
async function rerank(db: Db, principalId: string): Promise<void> {
  for (const integrationId of await integrationsOf(db, principalId)) {
    await rerankRecommendations(db, integrationId, principalId);
  }
}

async function integrationsOf(db: Db, principalId: string): Promise<string[]> {
  const rows = await db.all(
    'SELECT DISTINCT integration_id FROM principal WHERE principal_id = $p ORDER BY 1',
    { p: principalId },
  );
  return rows.map((r) => String(r.integration_id));
}

export function registerIgnoreRoutes(api: FastifyInstance): void {
  api.post<{
    Params: { principalId: string };
    Body: { reason: string; expiresAt?: string; integrationId?: string };
  }>(
    '/principals/:principalId/ignore',
    {
      config: { access: { roles: ['admin', 'analyst'], audit: 'ignore.create' } },
      schema: {
        tags: ['ignores'],
        summary:
          'Ignore a principal (admin, analyst): left out of widgets; its open recommendations are set aside',
        security,
        params: idParam('principalId', 'AWS ARN or GCP member string, URL-encoded'),
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['reason'],
          properties: {
            reason: {
              type: 'string',
              minLength: 3,
              maxLength: 1000,
              description: 'Why (required).',
            },
            expiresAt: { type: 'string', format: 'date-time', description: 'Stops applying then.' },
            integrationId: {
              type: 'string',
              minLength: 1,
              maxLength: 63,
              description: 'Limit to one integration (default: all).',
            },
          },
        },
        response: { 201: ignoreRule, 409: errorBody, ...errors },
      },
    },
    async (request, reply) => {
      const { principalId } = request.params;
      const { reason, expiresAt, integrationId } = request.body;
      const actor = request.auth!.actor;
      if (reason.trim().length < 3) {
        throw new ApiError(400, 'invalid-request', 'a reason of at least 3 characters is required');
      }
      if (expiresAt !== undefined && new Date(expiresAt).getTime() <= Date.now()) {
        throw new ApiError(400, 'invalid-request', `expiresAt ${expiresAt} is not in the future`);
      }
      const rule = await api.pool.use((db) =>
        db.transaction(async (tx) => {
          const integrations = await integrationsOf(tx, principalId);
          if (integrations.length === 0) throw notFound('principal', principalId);
          if (integrationId !== undefined && !integrations.includes(integrationId)) {
            throw notFound(`principal in integration ${integrationId}:`, principalId);
          }
          const existing = await tx.one(
            `SELECT ignore_id FROM ignore_rule WHERE principal_id = $p AND ${ACTIVE}
               AND (integration_id IS NULL OR $i IS NULL OR integration_id = $i)`,
            { p: principalId, i: integrationId ?? null },
          );
          if (existing) {
            throw new ApiError(
              409,
              'already-ignored',
              `principal ${principalId} is already ignored (rule ${existing.ignore_id}); remove it first`,
            );
          }
          const id = `ign_${randomBytes(8).toString('hex')}`;
          await tx.exec(
            `INSERT INTO ignore_rule (ignore_id, principal_id, integration_id, reason, created_by, created_at, expires_at)
             VALUES ($id, $p, $i, $reason, $by, now(), CAST($expires AS TIMESTAMPTZ))`,
            {
              id,
              p: principalId,
              i: integrationId ?? null,
              reason: reason.trim(),
              by: actor,
              expires: expiresAt ?? null,
            },
          );
          await tx.exec(
            `UPDATE recommendation SET state = 'ignored', state_reason = $why
             WHERE state = 'open' AND ${CURRENT_RECOMMENDATIONS}`,
            {
              why: `ignore ${id}: ${reason.trim()}`,
              principal: principalId,
              integration: integrationId ?? null,
            },
          );
          await rerank(tx, principalId);
          return tx.one(`${SELECT_RULE} WHERE ignore_id = $id`, { id });
        }),
      );
      invalidateIgnoreVersion(api.pool.anyConnection());
      request.auditTarget = principalId;
      request.auditDetails = {
        ignoreId: rule!.ignoreId,
        reason: reason.trim(),
        expiresAt: expiresAt ?? null,
      };
      return reply.code(201).send(rule);
    },
  );

  api.delete<{ Params: { principalId: string }; Querystring: { integrationId?: string } }>(
    '/principals/:principalId/ignore',
    {
      config: { access: { roles: ['admin', 'analyst'], audit: 'ignore.remove' } },
      schema: {
        tags: ['ignores'],
        summary: 'Stop ignoring a principal (admin, analyst)',
        security,
        params: idParam('principalId', 'AWS ARN or GCP member string, URL-encoded'),
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { integrationId: { type: 'string', minLength: 1, maxLength: 63 } },
        },
        response: {
          200: { type: 'object', properties: { removed: { type: 'array', items: ignoreRule } } },
          ...errors,
        },
      },
    },
    async (request) => {
      const { principalId } = request.params;
      const integrationId = request.query.integrationId ?? null;
      const actor = request.auth!.actor;
      const removed = await api.pool.use((db) =>
        db.transaction(async (tx) => {
          const rules = await tx.all(
            `SELECT ignore_id FROM ignore_rule WHERE principal_id = $p AND ${ACTIVE}
               AND ($i IS NULL OR integration_id IS NULL OR integration_id = $i)`,
            { p: principalId, i: integrationId },
          );
          if (rules.length === 0) {
            const known = (await integrationsOf(tx, principalId)).length > 0;
            if (!known) throw notFound('principal', principalId);
            throw new ApiError(404, 'not-ignored', `principal ${principalId} is not ignored`);
          }
          const ids = rules.map((r) => String(r.ignore_id));
          for (const id of ids) {
            await tx.exec(
              'UPDATE ignore_rule SET removed_at = now(), removed_by = $by WHERE ignore_id = $id',
              { id, by: actor },
            );
            await tx.exec(
              `UPDATE recommendation SET state = 'open', state_reason = NULL
               WHERE state = 'ignored' AND starts_with(state_reason, $prefix) AND ${CURRENT_RECOMMENDATIONS}`,
              { prefix: `ignore ${id}:`, principal: principalId, integration: null },
            );
          }
          await rerank(tx, principalId);
          return tx.all(
            `${SELECT_RULE} WHERE ignore_id IN (SELECT unnest(string_split($ids, ',')))`,
            { ids: ids.join(',') },
          );
        }),
      );
      invalidateIgnoreVersion(api.pool.anyConnection());
      request.auditTarget = principalId;
      request.auditDetails = { ignoreIds: removed.map((r) => r.ignoreId) };
      return { removed };
    },
  );

  api.get<{
    Querystring: { active?: boolean; principalId?: string; limit: number; offset: number };
  }>(
    '/ignores',
    {
      config: { access: { roles: ALL_ROLES } },
      schema: {
        tags: ['ignores'],
        summary: 'Ignore rules, newest first',
        security,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            active: { type: 'boolean', description: 'Only rules in force (true) or not (false).' },
            principalId: { type: 'string', maxLength: 2048 },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
            offset: { type: 'integer', minimum: 0, maximum: 10_000_000, default: 0 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { total: int, items: { type: 'array', items: ignoreRule } },
          },
          ...errors,
        },
      },
    },
    async (request) => {
      const q = request.query;
      return api.pool.use(async (db) => {
        const where = `WHERE ($active IS NULL OR (${ACTIVE}) = $active) AND ($p IS NULL OR principal_id = $p)`;
        const params = { active: q.active ?? null, p: q.principalId ?? null };
        const total = await db.scalar(`SELECT count(*) FROM ignore_rule ${where}`, params);
        const items = await db.all(
          `${SELECT_RULE} ${where} ORDER BY created_at DESC, ignore_id LIMIT $limit OFFSET $offset`,
          { ...params, limit: q.limit, offset: q.offset },
        );
        return { total: Number(total), items };
      });
    },
  );
}
