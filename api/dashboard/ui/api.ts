/** Calls to /api/v1 with the bearer token of this browser tab. */

const TOKEN_KEY = 'access-discovery.token';
export const UNAUTHORIZED_EVENT = 'access-discovery:unauthorized';
const PREFIX = '/api/v1';

/** An error answer of the API: `{error, message, position?, expected?}` and the HTTP status. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly position?: number,
    readonly expected?: string[],
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

/**
 * The token: taken once from the URL fragment (`#token=...`, as the demo prints it), then kept
 * in sessionStorage only (gone when the tab closes). The fragment is erased from the address
 * bar and history at once, and never reaches the server.
 */
export function takeToken(): string | null {
  const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (match?.[1]) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export async function call<T>(
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  options: { query?: Query; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(withQuery(PREFIX + path, options.query), {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  const text = await response.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ApiFailure(
        response.status,
        'bad-response',
        `the server answered ${text.slice(0, 200)}`,
      );
    }
  }
  if (response.status === 401 && token) {
    // The token expired or was revoked while the page was open: the app asks for a new one.
    window.dispatchEvent(
      new CustomEvent(UNAUTHORIZED_EVENT, {
        detail: (parsed as { message?: string } | null)?.message ?? 'the token was refused',
      }),
    );
  }
  if (!response.ok) {
    const body = (parsed ?? {}) as {
      error?: string;
      message?: string;
      position?: number;
      expected?: string[];
    };
    throw new ApiFailure(
      response.status,
      body.error ?? 'http-error',
      body.message ?? `HTTP ${response.status}`,
      body.position,
      body.expected,
    );
  }
  return parsed as T;
}

export const get = <T>(path: string, query?: Query, signal?: AbortSignal) =>
  call<T>('GET', path, { query, signal });
export const post = <T>(path: string, body?: unknown, query?: Query) =>
  call<T>('POST', path, { body, query });
export const del = <T>(path: string, query?: Query) => call<T>('DELETE', path, { query });

export const enc = encodeURIComponent;
