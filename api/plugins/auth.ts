import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { writeAudit } from '../audit.ts';
import {
  checkToken,
  loadStoredToken,
  type Role,
  type StoredToken,
  tokenIdOf,
} from '../auth/tokens.ts';
import { ApiError } from '../errors.ts';

export interface AuthContext {
  tokenId: string;
  name: string;
  role: Role;
  /** How the actor appears in audit_log and remediation rows. */
  actor: string;
}

/** Who may call a route and how the call is audited. Every /api route declares one. */
export interface RouteAccess {
  /** Roles allowed, or 'public' (no token needed). */
  roles: Role[] | 'public';
  /** audit_log action for mutations and exports; attempts, denials and failures are recorded too. */
  audit?: string;
  /** Target id written to audit_log; defaults to the first path parameter. */
  target?: (request: FastifyRequest) => string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null;
    authFailure: string | null;
    /** Details a handler adds to its audit row (dry-run flag, format, counts). */
    auditDetails: Record<string, unknown> | null;
    /** Overrides the audit target once the handler knows it (e.g. a new id). */
    auditTarget: string | null;
  }
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyInstance {
    /** Forget a cached token (after revocation through the API). */
    forgetToken(tokenId: string): void;
  }
}

export const ALL_ROLES: Role[] = ['admin', 'analyst', 'auditor'];

const CACHE_MS = 5_000;
const LAST_USED_WRITE_MS = 60_000;

/**
 * Bearer-token authentication (onRequest: identify), role checks (preParsing: before the body
 * is read) and the audit trail of mutations and exports (onSend: after the outcome is known).
 */
export const authPlugin = fp(
  async (app) => {
    const cache = new Map<string, { stored: StoredToken | undefined; at: number }>();
    const lastUsedWritten = new Map<string, number>();

    app.decorateRequest('auth', null);
    app.decorateRequest('authFailure', null);
    app.decorateRequest('auditDetails', null);
    app.decorateRequest('auditTarget', null);
    app.decorate('forgetToken', (tokenId: string) => {
      cache.delete(tokenId);
    });

    async function lookup(tokenId: string): Promise<StoredToken | undefined> {
      const now = Date.now();
      const hit = cache.get(tokenId);
      if (hit && now - hit.at < CACHE_MS) return hit.stored;
      const stored = await app.pool.use((db) => loadStoredToken(db, tokenId));
      // Unknown ids are not cached: a flood of invented ids must not grow the map.
      if (stored) cache.set(tokenId, { stored, at: now });
      return stored;
    }

    function touch(tokenId: string): void {
      const now = Date.now();
      if (now - (lastUsedWritten.get(tokenId) ?? 0) < LAST_USED_WRITE_MS) return;
      lastUsedWritten.set(tokenId, now);
      app.pool
        .use((db) =>
          db.exec('UPDATE api_token SET last_used_at = now() WHERE token_id = $id', {
            id: tokenId,
          }),
        )
        .catch((err: unknown) => app.log.error({ err, tokenId }, 'cannot record token use'));
    }

    app.addHook('onRequest', async (request) => {
      const header = request.headers.authorization;
      if (header === undefined) {
        request.authFailure = 'missing';
        return;
      }
      const m = /^Bearer ([^\s]+)$/i.exec(header);
      const token = m?.[1];
      const tokenId = token ? tokenIdOf(token) : undefined;
      if (!token || !tokenId) {
        request.authFailure = 'malformed';
        return;
      }
      const result = checkToken(token, await lookup(tokenId));
      if (!result.ok) {
        request.authFailure = result.reason;
        return;
      }
      request.auth = {
        tokenId,
        name: result.info.name,
        role: result.info.role,
        actor: `${result.info.name} (${tokenId})`,
      };
      touch(tokenId);
    });

    app.addHook('preParsing', async (request, reply, payload) => {
      const access = request.routeOptions.config.access;
      if (!access || access.roles === 'public') return payload;
      if (!request.auth) {
        void reply.header('www-authenticate', 'Bearer realm="access-discovery"');
        const why =
          request.authFailure === 'expired'
            ? 'the bearer token has expired'
            : request.authFailure === 'revoked'
              ? 'the bearer token has been revoked'
              : request.authFailure === 'missing'
                ? 'a bearer token is required (Authorization: Bearer tok_...)'
                : 'the bearer token is not valid';
        throw new ApiError(401, 'unauthorized', why);
      }
      if (!access.roles.includes(request.auth.role)) {
        throw new ApiError(
          403,
          'forbidden',
          `role ${request.auth.role} may not ${request.method} ${request.routeOptions.url}; allowed: ${access.roles.join(', ')}`,
        );
      }
      return payload;
    });

    app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload) => {
      const access = request.routeOptions.config.access;
      if (!access?.audit) return payload;
      const status = reply.statusCode;
      // Rate-limited calls never reached the route; auditing them would let a flood fill the log.
      if (status === 429) return payload;
      const outcome =
        status === 401 || status === 403 ? 'denied' : status < 400 ? 'success' : 'failed';
      // A HEAD answered sends no body, so it exported and changed nothing: not an export to
      // record (denied and failed ones still are, like every attempt).
      if (request.method === 'HEAD' && outcome === 'success') return payload;
      const params = (request.params ?? {}) as Record<string, string>;
      const target =
        request.auditTarget ??
        (access.target ? access.target(request) : (Object.values(params)[0] ?? null));
      try {
        await app.pool.use((db) =>
          writeAudit(db, {
            actor: request.auth?.actor ?? 'anonymous',
            role: request.auth?.role ?? null,
            action: access.audit!,
            target,
            outcome,
            details: { status, ...(request.auditDetails ?? {}) },
            requestId: request.id,
            sourceIp: request.ip,
          }),
        );
      } catch (err) {
        // The change is done and cannot be recalled; make the missing audit row loud.
        request.log.error({ err, action: access.audit, target }, 'AUDIT WRITE FAILED');
      }
      return payload;
    });

    app.addHook('onRoute', (route) => {
      if (route.url.startsWith('/api/') && !route.config?.access) {
        throw new Error(`route ${route.method} ${route.url} declares no access rule`);
      }
    });
  },
  { name: 'auth', dependencies: ['context'] },
);
