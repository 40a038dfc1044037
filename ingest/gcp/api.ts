import type { z } from 'zod';
import { IngestError } from '../../lib/errors.ts';
import { collectPages } from '../paginate.ts';
import { type GcpClients, type RetryPolicy, withRetry } from './clients.ts';

/**
 * What every GCP `get*` needs: the clients, the retry policy, and zod checks of the response
 * fields the ingestion relies on (a wrong shape is an error naming the call, never a silent
 * empty answer).
 */
export interface GcpApi {
  clients: GcpClients;
  retry: RetryPolicy;
}

/** One googleapis call with retries; returns the response body. */
export async function call<T>(api: GcpApi, fn: () => Promise<{ data: T }>): Promise<T> {
  return (await withRetry(fn, api.retry)).data;
}

/** Every item of a googleapis listing (`pageToken` / `nextPageToken`), each page retried. */
export async function listAll<Page extends { nextPageToken?: string | null }, Item>(
  api: GcpApi,
  fetchPage: (pageToken: string | undefined) => Promise<{ data: Page }>,
  items: (page: Page) => Item[] | null | undefined,
): Promise<Item[]> {
  return collectPages(
    (token) => call(api, () => fetchPage(token)),
    (page) => page.nextPageToken,
    (page) => items(page) ?? undefined,
  );
}

/** Parse a cloud response with `schema`, or throw an IngestError naming the call. */
export function parseResponse<T>(schema: z.ZodType<T>, value: unknown, callName: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.join('.') ?? '';
    throw new IngestError(
      `${callName} returned an unexpected shape${where ? ` at ${where}` : ''}: ${issue?.message ?? 'invalid'}`,
      { call: callName },
    );
  }
  return result.data;
}
