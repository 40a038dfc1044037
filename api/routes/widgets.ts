import type { FastifyInstance } from 'fastify';
import { ALL_ROLES } from '../plugins/auth.ts';
import {
  errorBody,
  errors,
  int,
  nullable,
  scopeQueryProps,
  scopeSchema,
  security,
  str,
} from '../schemas.ts';
import { resolveScope, type ScopeQuery } from '../scope.ts';
import { computeWidgets } from '../widgets.ts';

const widget = {
  type: 'object',
  properties: {
    id: str,
    title: str,
    description: str,
    unit: { type: 'string', enum: ['percent', 'count'] },
    value: nullable('number'),
    count: { type: 'integer', description: 'Principals the filter matches.' },
    filter: {
      type: 'string',
      description:
        'Filter expression that, applied to the principals list, gives the principals behind the widget.',
    },
    points: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          day: str,
          assessmentIds: { type: 'array', items: str },
          all: nullable('number'),
          privileged: nullable('number'),
          principals: int,
          privilegedPrincipals: int,
        },
      },
    },
    buckets: {
      type: 'array',
      items: { type: 'object', properties: { key: str, count: int, filter: str } },
    },
  },
} as const;

const response = {
  type: 'object',
  properties: { scope: scopeSchema, widgets: { type: 'array', items: widget } },
} as const;

export function registerWidgetRoutes(api: FastifyInstance): void {
  const configured = new Set(api.appConfig.integrations.map((i) => i.id));

  async function handle(query: ScopeQuery) {
    return api.pool.use(async (db) => {
      const scope = await resolveScope(db, query, configured);
      // The trend of a past assessment ends on its day; the current view's ends today.
      const trendEnd =
        query.assessmentId !== undefined && scope[0]
          ? scope[0].startedAt.slice(0, 10)
          : new Date().toISOString().slice(0, 10);
      return { scope, widgets: await computeWidgets(db, scope, trendEnd) };
    });
  }

  api.get<{ Querystring: ScopeQuery }>(
    '/widgets',
    {
      config: { access: { roles: ALL_ROLES } },
      schema: {
        tags: ['principals'],
        summary: 'Assessment page widgets, each with the filter it stands for',
        security,
        querystring: { type: 'object', additionalProperties: false, properties: scopeQueryProps },
        response: { 200: response, 409: errorBody, ...errors },
      },
    },
    async (request) => handle(request.query),
  );

  api.get<{ Params: { assessmentId: string } }>(
    '/assessments/:assessmentId/widgets',
    {
      config: { access: { roles: ALL_ROLES } },
      schema: {
        tags: ['principals'],
        summary: 'Widgets of one assessment',
        security,
        params: {
          type: 'object',
          properties: { assessmentId: { type: 'string', minLength: 1, maxLength: 200 } },
          required: ['assessmentId'],
        },
        response: { 200: response, 409: errorBody, ...errors },
      },
    },
    async (request) => handle({ assessmentId: request.params.assessmentId }),
  );
}
