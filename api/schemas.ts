/**
 * JSON schemas shared by routes. Fastify validates requests and serialises responses with
 * them (fields not declared are never sent) and @fastify/swagger publishes them at /docs.
 */

export const str = { type: 'string' } as const;
export const int = { type: 'integer' } as const;
export const num = { type: 'number' } as const;
export const bool = { type: 'boolean' } as const;
export const nullable = (type: 'string' | 'integer' | 'number' | 'boolean') =>
  ({ type: [type, 'null'] }) as const;
export const dateTime = { type: ['string', 'null'], format: 'date-time' } as const;
/** Any JSON (documents, breakdowns): serialised as given. */
export const anyJson = {} as const;

export const errorBody = {
  type: 'object',
  description: 'Every error: a stable code, one sentence, and the request id to quote.',
  properties: {
    error: str,
    message: str,
    requestId: str,
    position: { type: 'integer', description: 'invalid-filter: 0-based offset of the problem' },
    expected: { type: 'array', items: str, description: 'invalid-filter: what was expected there' },
    integrationId: str,
  },
  required: ['error', 'message'],
} as const;

/** Error responses every authenticated route can give. */
export const errors = {
  400: errorBody,
  401: errorBody,
  403: errorBody,
  404: errorBody,
  429: errorBody,
  500: errorBody,
} as const;

export const idParam = (name: string, description: string) =>
  ({
    type: 'object',
    properties: { [name]: { type: 'string', minLength: 1, maxLength: 2048, description } },
    required: [name],
  }) as const;

export const scopeQueryProps = {
  assessmentId: {
    type: 'string',
    minLength: 1,
    maxLength: 200,
    description: 'Read this assessment (default: the current one of each integration).',
  },
  integrationId: {
    type: 'string',
    minLength: 1,
    maxLength: 63,
    description: 'Read the current (latest finished) assessment of this integration.',
  },
} as const;

export const scopeSchema = {
  type: 'array',
  description: 'The assessments the answer comes from.',
  items: {
    type: 'object',
    properties: {
      assessmentId: str,
      integrationId: str,
      status: str,
      startedAt: dateTime,
      finishedAt: dateTime,
    },
  },
} as const;

export const security = [{ bearerAuth: [] }];
