/**
 * Errors a route raises on purpose. The error handler turns them into
 * `{error, message, requestId, ...extra}` with their status; anything else is a 500 whose
 * details stay in the log.
 */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly extra: Record<string, unknown>;
  constructor(
    statusCode: number,
    code: string,
    message: string,
    extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.code = code;
    this.extra = extra;
  }
}

export function notFound(what: string, id: string): ApiError {
  const shown = id.length > 200 ? `${id.slice(0, 197)}...` : id;
  return new ApiError(404, 'not-found', `${what} ${JSON.stringify(shown)} does not exist`);
}

export function notConfigured(what: string): ApiError {
  return new ApiError(
    503,
    'not-configured',
    `${what} is not available on this server (the engine is not configured)`,
  );
}
