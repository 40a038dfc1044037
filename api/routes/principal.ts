import type { FastifyInstance } from 'fastify';
import { ALL_ROLES } from '../plugins/auth.ts';
import {
  findPrincipal,
  principalDetails,
  principalRecommendations,
  principalUsedBy,
  principalUsedFor,
} from '../principal-details.ts';
import {
  anyJson,
  bool,
  dateTime,
  errorBody,
  errors,
  idParam,
  int,
  nullable,
  scopeQueryProps,
  security,
  str,
} from '../schemas.ts';
import { resolveScope, type ScopeQuery } from '../scope.ts';

const params = idParam('principalId', 'AWS ARN or GCP member string, URL-encoded');
const scopeQuery = {
  type: 'object',
  additionalProperties: false,
  properties: scopeQueryProps,
} as const;

const recommendationSummary = {
  type: 'object',
  properties: {
    recommendationId: str,
    kind: str,
    title: str,
    severity: str,
    rank: int,
    state: str,
    owner: nullable('string'),
    policyId: nullable('string'),
  },
} as const;

const levelCounts = {
  type: 'object',
  properties: { granted: int, used: int, unused: int, unobservable: int },
} as const;

const detail = {
  type: 'object',
  properties: {
    principalId: str,
    arn: { type: 'string', description: 'The ARN (AWS) or member string (GCP).' },
    name: str,
    type: str,
    cloud: str,
    path: nullable('string'),
    uniqueId: nullable('string'),
    identityType: str,
    integrationId: str,
    assessmentId: str,
    account: {
      type: 'object',
      properties: {
        id: str,
        name: nullable('string'),
        path: { type: 'array', items: str },
        riskLevel: nullable('string'),
        status: nullable('string'),
      },
    },
    createdAt: dateTime,
    owner: nullable('string'),
    tags: anyJson,
    boundaryPolicyId: nullable('string'),
    serviceLinked: bool,
    consoleAccess: nullable('boolean'),
    mfaEnabled: nullable('boolean'),
    scored: { type: 'boolean', description: 'False when scoring has not produced a row yet.' },
    status: nullable('string'),
    tier: nullable('string'),
    risk: {
      type: ['object', 'null'],
      properties: { score: int, breakdown: anyJson },
    },
    lastUsed: { type: 'object', properties: { at: dateTime, source: nullable('string') } },
    identities: {
      type: 'object',
      properties: { human: nullable('integer'), machine: nullable('integer') },
    },
    overprivilege: {
      type: ['object', 'null'],
      properties: {
        pct: nullable('number'),
        highRiskPct: nullable('number'),
        privilegedShare: nullable('number'),
        granted: int,
        used: int,
        unused: int,
        unobservable: int,
        evidenceGap: {
          ...nullable('string'),
          description:
            "Why the logs cannot show every use by this principal (a region its trail does not log, days before its account's logs start); when set, granted actions not seen used count as unobservable and no recommendation is made. Null when the logs cover it.",
        },
        unusedLevels: { type: 'array', items: str },
        levels: anyJson,
      },
    },
    ignored: {
      type: ['object', 'null'],
      properties: {
        ignoreId: str,
        reason: str,
        createdBy: str,
        createdAt: dateTime,
        expiresAt: dateTime,
      },
    },
    window: { type: 'object', properties: { start: str, end: str } },
    recommendations: {
      type: 'object',
      properties: {
        top: {
          type: 'array',
          items: recommendationSummary,
          description: 'The top 3 open, by rank.',
        },
        counts: { type: 'object', additionalProperties: { type: 'integer' } },
      },
    },
  },
} as const;

const recommendation = {
  type: 'object',
  properties: {
    ...recommendationSummary.properties,
    ownerSource: str,
    stateReason: nullable('string'),
    createdAt: dateTime,
    options: anyJson,
    proof: anyJson,
    remediations: { type: 'array', items: anyJson },
  },
} as const;

const usedBy = {
  type: 'object',
  properties: {
    principalId: str,
    assessmentId: str,
    window: { type: 'object', properties: { start: str, end: str } },
    counts: { type: 'object', properties: { human: int, machine: int, total: int } },
    total: int,
    limit: int,
    offset: int,
    identities: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          identity: str,
          kind: { type: 'string', description: 'human, machine, or unknown (login only)' },
          type: str,
          calls: int,
          activeDays: int,
          firstSeen: dateTime,
          lastSeen: dateTime,
          lastUserAgent: nullable('string'),
          lastSourceIp: nullable('string'),
          logins: {
            type: 'array',
            description: 'The last 5 logins, newest first.',
            items: {
              type: 'object',
              properties: {
                at: dateTime,
                eventName: str,
                userAgent: nullable('string'),
                sourceIp: nullable('string'),
              },
            },
          },
        },
      },
    },
  },
} as const;

const usedFor = {
  type: 'object',
  properties: {
    principalId: str,
    assessmentId: str,
    usageAvailable: {
      type: 'boolean',
      description: 'False until the scoring engine has stored per-policy counts.',
    },
    policies: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          policyId: str,
          name: nullable('string'),
          kind: nullable('string'),
          cloud: nullable('string'),
          versionId: nullable('string'),
          document: anyJson,
          parseError: nullable('string'),
          attachments: {
            type: 'array',
            items: { type: 'object', properties: { via: str, viaRef: str, condition: anyJson } },
          },
          levels: {
            type: ['object', 'null'],
            additionalProperties: levelCounts,
            description: 'Per privilege level: granted, used, unused, unobservable.',
          },
          totals: { ...levelCounts, type: ['object', 'null'] },
        },
      },
    },
  },
} as const;

export function registerPrincipalRoutes(api: FastifyInstance): void {
  const configured = new Set(api.appConfig.integrations.map((i) => i.id));
  const read = { config: { access: { roles: ALL_ROLES } } };

  api.get<{ Params: { principalId: string }; Querystring: ScopeQuery }>(
    '/principals/:principalId',
    {
      ...read,
      schema: {
        tags: ['principals'],
        summary: 'Principal details: account, risk, identities, overprivilege, top recommendations',
        security,
        params,
        querystring: scopeQuery,
        response: { 200: detail, 409: errorBody, ...errors },
      },
    },
    async (request) =>
      api.pool.use(async (db) => {
        const scope = await resolveScope(db, request.query, configured);
        return principalDetails(db, await findPrincipal(db, scope, request.params.principalId));
      }),
  );

  api.get<{
    Params: { principalId: string };
    Querystring: ScopeQuery & { state: string };
  }>(
    '/principals/:principalId/recommendations',
    {
      ...read,
      schema: {
        tags: ['principals'],
        summary: 'All recommendations of a principal, with options, artifacts and proof',
        security,
        params,
        querystring: {
          ...scopeQuery,
          properties: {
            ...scopeQueryProps,
            state: {
              type: 'string',
              enum: ['all', 'open', 'applied', 'resolved', 'ignored', 'suppressed'],
              default: 'all',
            },
          },
        },
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: recommendation } } },
          409: errorBody,
          ...errors,
        },
      },
    },
    async (request) =>
      api.pool.use(async (db) => {
        const { state, ...scopeQ } = request.query;
        const scope = await resolveScope(db, scopeQ, configured);
        const row = await findPrincipal(db, scope, request.params.principalId);
        return { items: await principalRecommendations(db, row, state) };
      }),
  );

  api.get<{
    Params: { principalId: string };
    Querystring: ScopeQuery & { limit: number; offset: number };
  }>(
    '/principals/:principalId/used-by',
    {
      ...read,
      schema: {
        tags: ['principals'],
        summary: 'Identities acting through the principal, with their last 5 logins',
        security,
        params,
        querystring: {
          ...scopeQuery,
          properties: {
            ...scopeQueryProps,
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
            offset: { type: 'integer', minimum: 0, maximum: 10_000_000, default: 0 },
          },
        },
        response: { 200: usedBy, 409: errorBody, ...errors },
      },
    },
    async (request) =>
      api.pool.use(async (db) => {
        const { limit, offset, ...scopeQ } = request.query;
        const scope = await resolveScope(db, scopeQ, configured);
        const row = await findPrincipal(db, scope, request.params.principalId);
        return principalUsedBy(db, row, limit, offset);
      }),
  );

  api.get<{ Params: { principalId: string }; Querystring: ScopeQuery }>(
    '/principals/:principalId/used-for',
    {
      ...read,
      schema: {
        tags: ['principals'],
        summary:
          'Attached policies with used/unused actions per privilege level and the policy JSON',
        security,
        params,
        querystring: scopeQuery,
        response: { 200: usedFor, 409: errorBody, ...errors },
      },
    },
    async (request) =>
      api.pool.use(async (db) => {
        const scope = await resolveScope(db, request.query, configured);
        const row = await findPrincipal(db, scope, request.params.principalId);
        return principalUsedFor(db, row);
      }),
  );
}
