import type { FastifyInstance } from 'fastify';
import { createToken, listTokens, parseExpiresIn, ROLES, revokeToken } from '../auth/tokens.ts';
import { notFound } from '../errors.ts';
import { dateTime, errors, idParam, security, str } from '../schemas.ts';

const tokenInfo = {
  type: 'object',
  properties: {
    tokenId: str,
    name: str,
    role: str,
    createdAt: dateTime,
    createdBy: str,
    expiresAt: dateTime,
    revokedAt: dateTime,
    lastUsedAt: dateTime,
  },
} as const;

/**
 * Token management for admins while the server holds the database (DuckDB lets one process
 * open the file, so the CLI `tokens` commands work only while the server is stopped).
 */
export function registerTokenRoutes(api: FastifyInstance): void {
  api.get(
    '/tokens',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        tags: ['admin'],
        summary: 'API tokens (admin); secrets are never shown again',
        security,
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: tokenInfo } } },
          ...errors,
        },
      },
    },
    async () => ({ items: await api.pool.use((db) => listTokens(db)) }),
  );

  api.post<{ Body: { name: string; role: string; expiresIn?: string } }>(
    '/tokens',
    {
      config: { access: { roles: ['admin'], audit: 'token.create' } },
      schema: {
        tags: ['admin'],
        summary: 'Create a token (admin); the response is the only time the token is shown',
        security,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'role'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200 },
            role: { type: 'string', enum: [...ROLES] },
            expiresIn: { type: 'string', pattern: '^(\\d{1,5}[hdw]|never)$', default: '90d' },
          },
        },
        response: {
          201: {
            type: 'object',
            properties: { token: str, info: tokenInfo },
          },
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const { name, role, expiresIn } = request.body;
      const result = await api.pool.use((db) =>
        createToken(db, {
          name,
          role,
          createdBy: request.auth!.actor,
          expiresAt: parseExpiresIn(expiresIn ?? '90d'),
        }),
      );
      request.auditTarget = result.info.tokenId;
      request.auditDetails = { name, role, expiresAt: result.info.expiresAt };
      return reply.code(201).send(result);
    },
  );

  api.delete<{ Params: { tokenId: string } }>(
    '/tokens/:tokenId',
    {
      config: { access: { roles: ['admin'], audit: 'token.revoke' } },
      schema: {
        tags: ['admin'],
        summary: 'Revoke a token (admin); it stops working at once',
        security,
        params: idParam('tokenId', 'Token id (tok_...)'),
        response: { 200: tokenInfo, ...errors },
      },
    },
    async (request) => {
      const info = await api.pool.use((db) => revokeToken(db, request.params.tokenId));
      if (!info) throw notFound('token', request.params.tokenId);
      api.forgetToken(info.tokenId);
      return info;
    },
  );
}
