import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Config } from '../config/schema.ts';
import { UsageError } from '../lib/errors.ts';
import type { Db } from '../model/db.ts';
import { registerDashboard } from './dashboard/index.ts';
import { ApiError } from './errors.ts';
import { FilterError } from './filter/index.ts';
import { authPlugin } from './plugins/auth.ts';
import { contextPlugin } from './plugins/context.ts';
import { securityPlugin } from './plugins/security.ts';
import { registerAssessmentRoutes } from './routes/assessments.ts';
import { registerAuditRoutes } from './routes/audit.ts';
import { registerIgnoreRoutes } from './routes/ignores.ts';
import { registerIntegrationRoutes } from './routes/integrations.ts';
import { registerMetaRoutes } from './routes/meta.ts';
import { registerPrincipalRoutes } from './routes/principal.ts';
import { registerPrincipalsRoutes } from './routes/principals.ts';
import { registerRemediationRoutes } from './routes/remediations.ts';
import { registerReportRoutes } from './routes/reports.ts';
import { registerTokenRoutes } from './routes/tokens.ts';
import { registerWidgetRoutes } from './routes/widgets.ts';
import type { RunCoordinator } from './runs.ts';
import type { ScheduledIntegration } from './schedule.ts';
import type { ApiServices } from './services.ts';

export const API_PREFIX = '/api/v1';
export const BODY_LIMIT = 1024 * 1024;

export interface LoggerSettings {
  level?: string;
  /** Where log lines go (default stdout). */
  stream?: Writable;
}

export interface BuildAppOptions {
  db: Db;
  config: Config;
  services?: ApiServices;
  /** false (default) for silence, true for info-level JSON logs on stdout. */
  logger?: boolean | LoggerSettings;
  /** Connections forked for request handlers (default 4). */
  poolSize?: number;
  /** Share the run lock with a scheduler built before the app. */
  runs?: RunCoordinator;
  /** Next and previous scheduled runs, shown by GET /integrations. */
  scheduleInfo?: () => ScheduledIntegration[];
}

const STATUS_CODES: Record<number, string> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  406: 'not-acceptable',
  409: 'conflict',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  429: 'rate-limited',
};

function loggerOptions(setting: BuildAppOptions['logger']) {
  if (!setting) return false;
  const custom = typeof setting === 'object' ? setting : {};
  return {
    level: custom.level ?? 'info',
    ...(custom.stream ? { stream: custom.stream } : {}),
    // Tokens are credentials: never written to a log, whatever the serializer includes.
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["proxy-authorization"]',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req(request: { method: string; url: string; headers: Record<string, unknown>; ip: string }) {
        return {
          method: request.method,
          url: request.url,
          headers: request.headers,
          remoteAddress: request.ip,
        };
      },
    },
  };
}

/** The API server: plugins, routes, OpenAPI at /docs. Call `listen` or `inject` on the result. */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(options.logger),
    bodyLimit: BODY_LIMIT,
    genReqId: () => randomUUID(),
    // Request ids land in audit_log: never take them from the client.
    requestIdHeader: false,
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
    routerOptions: { maxParamLength: 2048 },
    // URLs the router cannot even match (broken percent-encoding, an over-long id) get the
    // same JSON error shape as everything else, without echoing the whole URL back.
    frameworkErrors: (err, request, frameworkReply) => {
      const reply = frameworkReply as unknown as FastifyReply;
      const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
      // No route, so no hooks: the headers every API answer carries are set here.
      void reply.headers({
        'x-request-id': request.id,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      void reply.code(tooLong ? 414 : 400).send({
        error: tooLong ? 'uri-too-long' : 'bad-request',
        message: tooLong
          ? `a path segment of ${request.method} ${request.url.slice(0, 60)}... is longer than 2048 characters`
          : 'the URL is not valid: a path segment has a malformed percent-encoding',
        requestId: request.id,
      });
    },
  });
  app.removeContentTypeParser('text/plain');

  await app.register(contextPlugin, {
    db: options.db,
    config: options.config,
    services: options.services ?? {},
    poolSize: options.poolSize ?? 4,
    runs: options.runs,
    scheduleInfo: options.scheduleInfo ?? (() => []),
  });
  await app.register(authPlugin);
  await app.register(securityPlugin, {
    rateLimitPerMinute: options.config.server.rateLimitPerMinute,
    corsOrigins: options.config.server.corsOrigins,
  });

  app.addHook('onSend', async (request, reply, payload) => {
    void reply.header('x-request-id', request.id);
    if (request.url.startsWith('/api/')) void reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setErrorHandler((err: FastifyError | ApiError | Error, request, reply) => {
    const requestId = request.id;
    if (err instanceof FilterError) {
      return reply.code(400).send({
        error: 'invalid-filter',
        message: err.message,
        position: err.position,
        expected: err.expected,
        requestId,
      });
    }
    if (err instanceof ApiError) {
      if (err.statusCode >= 500) request.log.error({ err }, err.message);
      return reply
        .code(err.statusCode)
        .send({ error: err.code, message: err.message, requestId, ...err.extra });
    }
    if (err instanceof UsageError) {
      return reply.code(400).send({ error: 'invalid-request', message: err.message, requestId });
    }
    const fastifyError = err as FastifyError;
    if (fastifyError.validation) {
      return reply
        .code(400)
        .send({ error: 'invalid-request', message: fastifyError.message, requestId });
    }
    const status = fastifyError.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.code(status).send({
        error: STATUS_CODES[status] ?? 'bad-request',
        message: fastifyError.message,
        requestId,
      });
    }
    request.log.error({ err }, 'request failed');
    return reply.code(500).send({
      error: 'internal',
      message: 'internal error; quote the request id to an administrator',
      requestId,
    });
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    return reply.code(404).send({
      error: 'not-found',
      message: `no route ${request.method} ${path.length > 200 ? `${path.slice(0, 197)}...` : path}`,
      requestId: request.id,
    });
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Access Discovery API',
        version: '1',
        description:
          'Least-privilege assessments of AWS and GCP: principals, widgets, details, ignores, remediations and reports. Authenticate with `Authorization: Bearer tok_...` (see docs/api.md).',
      },
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description:
              'A token from `access-discovery tokens create --role admin|analyst|auditor`.',
          },
        },
      },
      tags: [
        { name: 'meta', description: 'Health and identity' },
        { name: 'integrations', description: 'Configured sources' },
        { name: 'assessments', description: 'Runs' },
        { name: 'principals', description: 'Principals, widgets and details' },
        { name: 'ignores', description: 'Ignored principals' },
        { name: 'remediations', description: 'Preview, apply and roll back' },
        { name: 'reports', description: 'Least-privilege reports for auditors' },
        { name: 'admin', description: 'Tokens and the audit log' },
      ],
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true },
    // The app-wide CSP from helmet stays in force; the UI's assets are all served from here.
    staticCSP: false,
  });

  registerDashboard(app);

  await app.register(
    async (api) => {
      registerMetaRoutes(api);
      registerIntegrationRoutes(api);
      registerAssessmentRoutes(api);
      registerPrincipalsRoutes(api);
      registerWidgetRoutes(api);
      registerPrincipalRoutes(api);
      registerIgnoreRoutes(api);
      registerRemediationRoutes(api);
      registerReportRoutes(api);
      registerTokenRoutes(api);
      registerAuditRoutes(api);
    },
    { prefix: API_PREFIX },
  );

  return app;
}
