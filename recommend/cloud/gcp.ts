import { auth as googleapisAuth, iam, type iam_v1 } from '@googleapis/iam';
import { errorMessage, RemediationError } from '../../lib/errors.ts';
import type { RecordedCall } from './aws.ts';

/**
 * The only code of recommend/ that talks to GCP: service account disable, enable and get through
 * the IAM API. Real runs use application-default credentials; with an endpoint override (the
 * fixture cloud, a private endpoint) a static bearer token from ACCESS_DISCOVERY_GCP_TOKEN, as
 * the GCP ingestion does.
 */

export const GCP_TOKEN_ENV = 'ACCESS_DISCOVERY_GCP_TOKEN';
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

export function gcpIamClient(endpoint: string | undefined): iam_v1.Iam {
  if (!endpoint) {
    return iam({
      version: 'v1',
      auth: new googleapisAuth.GoogleAuth({ scopes: [CLOUD_PLATFORM] }),
    });
  }
  const token = process.env[GCP_TOKEN_ENV];
  if (!token) {
    throw new RemediationError(
      `endpoints.gcp is set (${endpoint}): put the bearer token for it in ${GCP_TOKEN_ENV}`,
    );
  }
  const client = new googleapisAuth.OAuth2();
  client.setCredentials({ access_token: token });
  return iam({
    version: 'v1',
    auth: client,
    rootUrl: endpoint.endsWith('/') ? endpoint : `${endpoint}/`,
  });
}

/** A GCP IAM client bound to one project that records every call. */
export class RecordingGcpIam {
  readonly calls: RecordedCall[] = [];

  constructor(
    private readonly client: iam_v1.Iam,
    readonly projectId: string,
  ) {}

  private async record<T>(
    operation: string,
    parameters: Record<string, unknown>,
    fn: () => Promise<T>,
  ): Promise<T> {
    const entry: RecordedCall = {
      service: 'iam',
      operation,
      accountId: this.projectId,
      parameters,
      outcome: 'ok',
      at: new Date().toISOString(),
    };
    this.calls.push(entry);
    try {
      return await fn();
    } catch (err) {
      entry.outcome = 'error';
      entry.error = errorMessage(err);
      throw err;
    }
  }

  async getServiceAccount(name: string): Promise<{ disabled: boolean; email: string }> {
    return this.record('projects.serviceAccounts.get', { name }, async () => {
      const res = await this.client.projects.serviceAccounts.get({ name });
      return { disabled: res.data.disabled === true, email: String(res.data.email) };
    });
  }

  async disableServiceAccount(name: string): Promise<void> {
    await this.record('projects.serviceAccounts.disable', { name }, async () => {
      await this.client.projects.serviceAccounts.disable({ name, requestBody: {} });
    });
  }

  async enableServiceAccount(name: string): Promise<void> {
    await this.record('projects.serviceAccounts.enable', { name }, async () => {
      await this.client.projects.serviceAccounts.enable({ name, requestBody: {} });
    });
  }
}
