import type { FastifyInstance, FastifyReply } from 'fastify';
import { FILTER_LIMITS, filterToSql } from '../filter/index.ts';
import { ALL_ROLES } from '../plugins/auth.ts';
import { listPrincipalsJson, MAX_PAGE, SORT_NAMES, type SortColumn } from '../principals.ts';
import {
  bool,
  dateTime,
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

export const principalItem = {
  type: 'object',
  properties: {
    principalId: { type: 'string', description: 'AWS ARN or GCP member string' },
    name: str,
    type: str,
    cloud: str,
    integrationId: str,
    assessmentId: str,
    account: { type: 'object', properties: { id: str, name: nullable('string') } },
    status: str,
    tier: str,
    riskScore: int,
    overprivilegePct: nullable('number'),
    highRiskOverprivilegePct: nullable('number'),
    lastUsedAt: dateTime,
    createdAt: dateTime,
    owner: nullable('string'),
    ignored: bool,
    tags: { type: 'object', additionalProperties: true },
    unusedLevels: { type: 'array', items: str },
    identities: { type: 'object', properties: { human: int, machine: int } },
    actions: {
      type: 'object',
      properties: { granted: int, used: int, unused: int, unobservable: int },
    },
  },
} as const;

interface ListQuery extends ScopeQuery {
  filter?: string;
  sort?: SortColumn;
  order?: 'asc' | 'desc';
  limit: number;
  offset: number;
}

const listQuerystring = {
  type: 'object',
  additionalProperties: false,
  properties: {
    filter: {
      type: 'string',
      maxLength: FILTER_LIMITS.maxLength,
      description:
        'Filter expression, e.g. `tier >= "high" and last_used < "90d"` (docs/filter-language.md).',
    },
    sort: { type: 'string', enum: SORT_NAMES, default: 'risk' },
    order: { type: 'string', enum: ['asc', 'desc'], default: 'desc' },
    limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 50 },
    offset: { type: 'integer', minimum: 0, maximum: 10_000_000, default: 0 },
  },
} as const;

/** The page without its items: serialised by its schema, the items are spliced in as text. */
const listHead = {
  type: 'object',
  properties: {
    total: { type: 'integer', description: 'Principals matching the filter (all pages).' },
    limit: int,
    offset: int,
    sort: str,
    order: str,
    filter: str,
    scope: scopeSchema,
  },
} as const;

const listResponse = {
  ...listHead,
  properties: { ...listHead.properties, items: { type: 'array', items: principalItem } },
} as const;

export function registerPrincipalsRoutes(api: FastifyInstance): void {
  const configured = new Set(api.appConfig.integrations.map((i) => i.id));

  /**
   * The page as JSON text. The items are stored as JSON when the list copy is built (migration
   * 006, principal-list-build.sql) in the shape of `principalItem`; sending them as text spares
   * parsing and re-serialising 50 to 500 objects per request.
   */
  async function handle(query: ListQuery, reply: FastifyReply): Promise<string> {
    // A bad filter is refused before any database work.
    const compiled = filterToSql(query.filter ?? '');
    const { head, items } = await api.pool.use(async (db) => {
      const scope = await resolveScope(db, query, configured);
      const page = await listPrincipalsJson(db, scope, { ...query, filter: compiled });
      const head = {
        total: page.total,
        limit: query.limit,
        offset: query.offset,
        sort: query.sort ?? 'risk',
        order: query.order ?? 'desc',
        filter: query.filter ?? '',
        scope,
      };
      return { head, items: page.items };
    });
    const text = reply.serializeInput(head, listHead) as string;
    void reply.type('application/json; charset=utf-8');
    return `${text.slice(0, -1)},"items":[${items.join(',')}]}`;
  }

  api.get<{ Querystring: ListQuery }>(
    '/principals',
    {
      config: { access: { roles: ALL_ROLES } },
      schema: {
        tags: ['principals'],
        summary: 'Principals of the current assessments (or of one), filtered, sorted and paged',
        security,
        querystring: {
          ...listQuerystring,
          properties: { ...listQuerystring.properties, ...scopeQueryProps },
        },
        response: { 200: listResponse, 409: errorBody, ...errors },
      },
    },
    async (request, reply) => handle(request.query, reply),
  );

  api.get<{ Params: { assessmentId: string }; Querystring: ListQuery }>(
    '/assessments/:assessmentId/principals',
    {
      config: { access: { roles: ALL_ROLES } },
      schema: {
        tags: ['principals'],
        summary: 'Principals of one assessment, filtered, sorted and paged',
        security,
        params: {
          type: 'object',
          properties: { assessmentId: { type: 'string', minLength: 1, maxLength: 200 } },
          required: ['assessmentId'],
        },
        querystring: listQuerystring,
        response: { 200: listResponse, 409: errorBody, ...errors },
      },
    },
    async (request, reply) =>
      handle({ ...request.query, assessmentId: request.params.assessmentId }, reply),
  );
}
