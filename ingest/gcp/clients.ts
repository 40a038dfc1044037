import { BigQuery, type BigQueryOptions } from '@google-cloud/bigquery';
import { cloudidentity, type cloudidentity_v1 } from '@googleapis/cloudidentity';
import {
  cloudresourcemanager,
  type cloudresourcemanager_v3,
} from '@googleapis/cloudresourcemanager';
import { auth as googleapisAuth, iam, type iam_v1 } from '@googleapis/iam';
import { OAuth2Client } from 'google-auth-library';
import { IngestError } from '../../lib/errors.ts';

/**
 * Google clients for one GCP integration. Real runs authenticate with application-default
 * credentials (GoogleAuth, cloud-platform scope); nothing is stored. With an endpoint override
 * (the fixture cloud, a private endpoint) the clients send a static bearer token read from
 * ACCESS_DISCOVERY_GCP_TOKEN instead, so no credential lookup or token refresh reaches the
 * network.
 *
 * Retries: the googleapis clients' own retry only covers GET (getIamPolicy is a POST), so it is
 * switched off and every call goes through {@link withRetry} instead, one backoff policy for
 * all. BigQuery keeps its client's retry (it reuses the job id, so a retried insert never
 * starts a second billed job).
 */

export const GCP_TOKEN_ENV = 'ACCESS_DISCOVERY_GCP_TOKEN';
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  /** First backoff delay; doubled each retry, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 6, baseDelayMs: 500, maxDelayMs: 32_000 };

export interface GcpClientOptions {
  /** API root (fixture cloud or private endpoint); real Google APIs when unset. */
  endpoint?: string | undefined;
  /** Static bearer token, required with an endpoint override. */
  token?: string | undefined;
  /** BigQuery client retry settings (its defaults when unset). */
  bigQueryRetry?: BigQueryOptions['retryOptions'];
}

export interface GcpClients {
  resourceManager: cloudresourcemanager_v3.Cloudresourcemanager;
  iam: iam_v1.Iam;
  cloudIdentity: cloudidentity_v1.Cloudidentity;
  /** A BigQuery client whose jobs run (and are billed) in `projectId`. */
  bigQuery(projectId: string): BigQuery;
}

/** The token for an endpoint override, from the environment; never from the config file. */
export function tokenFromEnvironment(endpoint: string | undefined): string | undefined {
  if (!endpoint) return undefined;
  const token = process.env[GCP_TOKEN_ENV];
  if (!token) {
    throw new IngestError(
      `endpoints.gcp is set (${endpoint}): put the bearer token for it in the ${GCP_TOKEN_ENV} environment variable`,
      { endpoint },
    );
  }
  return token;
}

export function createGcpClients(options: GcpClientOptions = {}): GcpClients {
  const { endpoint, token } = options;
  if (endpoint && !token) {
    throw new IngestError('a GCP endpoint override needs a static token', { endpoint });
  }
  let googleapisCredentials:
    | InstanceType<typeof googleapisAuth.OAuth2>
    | InstanceType<typeof googleapisAuth.GoogleAuth>;
  let bigQueryAuth: Pick<BigQueryOptions, 'authClient' | 'scopes'>;
  if (endpoint && token) {
    // No expiry_date: the libraries then treat the token as valid and never try to refresh it.
    const googleapisClient = new googleapisAuth.OAuth2();
    googleapisClient.setCredentials({ access_token: token });
    googleapisCredentials = googleapisClient;
    const bigQueryClient = new OAuth2Client();
    bigQueryClient.setCredentials({ access_token: token });
    bigQueryAuth = { authClient: bigQueryClient };
  } else {
    googleapisCredentials = new googleapisAuth.GoogleAuth({ scopes: [CLOUD_PLATFORM] });
    bigQueryAuth = { scopes: [CLOUD_PLATFORM] };
  }
  const common = {
    auth: googleapisCredentials,
    retryConfig: { retry: 0 },
    ...(endpoint ? { rootUrl: endpoint.endsWith('/') ? endpoint : `${endpoint}/` } : {}),
  };
  const bigQueries = new Map<string, BigQuery>();
  return {
    resourceManager: cloudresourcemanager({ version: 'v3', ...common }),
    iam: iam({ version: 'v1', ...common }),
    cloudIdentity: cloudidentity({ version: 'v1', ...common }),
    bigQuery(projectId: string): BigQuery {
      let client = bigQueries.get(projectId);
      if (!client) {
        client = new BigQuery({
          projectId,
          ...bigQueryAuth,
          ...(endpoint ? { apiEndpoint: endpoint.replace(/\/$/, '') } : {}),
          ...(options.bigQueryRetry ? { retryOptions: options.bigQueryRetry } : {}),
        });
        bigQueries.set(projectId, client);
      }
      return client;
    },
  };
}

// --- errors ----------------------------------------------------------------------------------

interface ErrorFacts {
  status: number | undefined;
  reason: string | undefined;
  message: string;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object'
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Status, reason and message of a gaxios (googleapis) or @google-cloud/common (BigQuery) error. */
export function gcpErrorFacts(err: unknown): ErrorFacts {
  const e = asRecord(err);
  const message = err instanceof Error ? err.message : String(err);
  if (!e) return { status: undefined, reason: undefined, message };
  const response = asRecord(e.response);
  const body = asRecord(asRecord(response?.data)?.error);
  let status: number | undefined;
  for (const candidate of [e.status, response?.status, e.code, body?.code]) {
    if (typeof candidate === 'number') {
      status = candidate;
      break;
    }
  }
  const errors = (Array.isArray(e.errors) ? e.errors : body?.errors) as unknown;
  const first = Array.isArray(errors) ? asRecord(errors[0]) : undefined;
  let reason = typeof first?.reason === 'string' ? first.reason : undefined;
  if (!reason && Array.isArray(body?.details)) {
    for (const detail of body.details as unknown[]) {
      const d = asRecord(detail);
      if (typeof d?.reason === 'string') reason = d.reason;
    }
  }
  if (!reason && typeof body?.status === 'string') reason = body.status;
  const bodyMessage = typeof body?.message === 'string' ? body.message : undefined;
  return { status, reason, message: bodyMessage ?? message };
}

/** One sentence for the assessment's error list: `403 PERMISSION_DENIED: ...`. */
export function describeGcpError(err: unknown): string {
  const { status, reason, message } = gcpErrorFacts(err);
  const prefix = [status, reason].filter((p) => p !== undefined).join(' ');
  return prefix && !message.startsWith(prefix) ? `${prefix}: ${message}` : message;
}

const RETRYABLE_REASONS = new Set([
  'rateLimitExceeded',
  'userRateLimitExceeded',
  'RESOURCE_EXHAUSTED',
  'backendError',
  'internalError',
  'UNAVAILABLE',
]);

/** Throttling and transient server errors; everything else fails at once. */
export function isRetryableGcpError(err: unknown): boolean {
  const { status, reason } = gcpErrorFacts(err);
  if (status === 429 || status === 500 || status === 502 || status === 503 || status === 504)
    return true;
  return reason !== undefined && RETRYABLE_REASONS.has(reason);
}

export function isPermissionDenied(err: unknown): boolean {
  const { status } = gcpErrorFacts(err);
  return status === 401 || (status === 403 && !isRetryableGcpError(err) && !isServiceDisabled(err));
}

/** Service disabled in the project (BigQuery API never enabled): not a failure when searching. */
export function isServiceDisabled(err: unknown): boolean {
  const { reason, message } = gcpErrorFacts(err);
  return (
    reason === 'accessNotConfigured' ||
    reason === 'SERVICE_DISABLED' ||
    /has not been used in project|is disabled/.test(message)
  );
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Run a cloud call, retrying throttling (429, rateLimitExceeded) and transient 5xx with
 * exponential backoff and jitter. Every googleapis `get*` goes through here.
 */
export async function withRetry<T>(fn: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= policy.retries || !isRetryableGcpError(err)) throw err;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
      await sleep(ceiling / 2 + (Math.random() * ceiling) / 2);
    }
  }
}
