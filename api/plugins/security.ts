import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.ts';

export interface SecurityOptions {
  rateLimitPerMinute: number;
  corsOrigins: string[];
}

/**
 * Security headers (a CSP that allows only this origin: the dashboard is served from here),
 * per-token rate limiting, and CORS only for the origins the config names.
 */
export const securityPlugin = fp<SecurityOptions>(
  async (app, options) => {
    await app.register(helmet, {
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          // The Swagger UI stylesheet draws its icons as data: SVG.
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'"],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
      referrerPolicy: { policy: 'no-referrer' },
    });

    await app.register(rateLimit, {
      global: true,
      max: options.rateLimitPerMinute,
      timeWindow: 60_000,
      // Runs after authentication: a valid token is limited on its own, everything else by address.
      keyGenerator: (request) =>
        request.auth ? `token:${request.auth.tokenId}` : `ip:${request.ip}`,
      errorResponseBuilder: (_request, context) =>
        new ApiError(
          429,
          'rate-limited',
          `more than ${context.max} requests per minute; retry in ${Math.ceil(context.ttl / 1000)} s`,
        ),
    });

    const origins = new Set(options.corsOrigins.map((o) => new URL(o).origin));
    if (origins.size === 0) return;
    app.addHook('onRequest', async (request, reply) => {
      const origin = request.headers.origin;
      if (!origin || !origins.has(origin)) return undefined;
      void reply.header('access-control-allow-origin', origin);
      void reply.header('vary', 'Origin');
      void reply.header('access-control-expose-headers', 'content-disposition, x-request-id');
      if (request.method === 'OPTIONS') {
        void reply.header('access-control-allow-methods', 'GET, POST, DELETE');
        void reply.header('access-control-allow-headers', 'authorization, content-type');
        void reply.header('access-control-max-age', '600');
        return reply.code(204).send();
      }
      return undefined;
    });
    // Preflight requests need a route to land on.
    app.options(
      '/api/*',
      { config: { access: { roles: 'public' } }, schema: { hide: true } },
      async (_req, reply) => {
        await reply.code(204).send();
      },
    );
  },
  { name: 'security', dependencies: ['auth'] },
);
