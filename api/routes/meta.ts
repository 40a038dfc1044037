import type { FastifyInstance } from 'fastify';
import { ALL_ROLES } from '../plugins/auth.ts';
import { errors, security, str } from '../schemas.ts';

export function registerMetaRoutes(api: FastifyInstance): void {
  api.get(
    '/health',
    {
      config: { access: { roles: 'public' } },
      schema: {
        tags: ['meta'],
        summary: 'Liveness: answers while the server runs (no token needed, no data)',
        response: { 200: { type: 'object', properties: { status: str } } },
      },
    },
    async () => ({ status: 'ok' }),
  );

  api.get(
    '/me',
    {
      config: { access: { roles: ALL_ROLES } },
      schema: {
        tags: ['meta'],
        summary: 'The token making the call: name, id and role',
        security,
        response: {
          200: {
            type: 'object',
            properties: { tokenId: str, name: str, role: str },
          },
          ...errors,
        },
      },
    },
    async (request) => {
      const auth = request.auth!;
      return { tokenId: auth.tokenId, name: auth.name, role: auth.role };
    },
  );
}
