import { AthenaClient } from '@aws-sdk/client-athena';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { IngestError } from '../../lib/errors.ts';

/**
 * AWS SDK clients for one integration. Credentials come from the standard provider chain
 * (environment, profile, instance or web identity) and from AssumeRole into each account;
 * nothing is stored. The `endpoint` override points every client at one host (the fixture
 * cloud, or a private endpoint).
 */
export interface AwsSessionOptions {
  endpoint?: string | undefined;
  /** Region for global services and for the STS endpoint. */
  region?: string;
  externalId?: string | undefined;
  /** SDK attempts per call (throttling and 5xx are retried with backoff). */
  maxAttempts?: number;
  sessionName?: string;
}

interface ClientConfig {
  region: string;
  endpoint?: string;
  credentials?: AwsCredentialIdentityProvider;
  maxAttempts: number;
  forcePathStyle?: boolean;
}

const ROLE_SESSION_SECONDS = 3600;
const REFRESH_MARGIN_MS = 5 * 60 * 1000;

export class AwsSession {
  readonly options: AwsSessionOptions;
  private readonly assumed = new Map<string, AwsCredentialIdentityProvider>();

  constructor(options: AwsSessionOptions = {}) {
    this.options = options;
  }

  private config(
    region: string | undefined,
    credentials?: AwsCredentialIdentityProvider,
  ): ClientConfig {
    const config: ClientConfig = {
      region: region ?? this.options.region ?? 'us-east-1',
      maxAttempts: this.options.maxAttempts ?? 8,
    };
    if (this.options.endpoint) config.endpoint = this.options.endpoint;
    if (credentials) config.credentials = credentials;
    return config;
  }

  /**
   * Credentials of a role, assumed with the caller's credentials (or `via`'s) and refreshed
   * before they expire, so runs longer than one role session keep working.
   */
  assumeRole(roleArn: string, via?: AwsCredentialIdentityProvider): AwsCredentialIdentityProvider {
    const key = `${roleArn}|${via ? 'via' : 'base'}`;
    const existing = this.assumed.get(key);
    if (existing) return existing;
    const sts = new STSClient(this.config(this.options.region, via));
    let current: AwsCredentialIdentity | undefined;
    let pending: Promise<AwsCredentialIdentity> | undefined;
    const fetchCredentials = async (): Promise<AwsCredentialIdentity> => {
      const out = await sts.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: this.options.sessionName ?? 'access-discovery',
          ExternalId: this.options.externalId,
          DurationSeconds: ROLE_SESSION_SECONDS,
        }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) {
        throw new IngestError(`AssumeRole ${roleArn} returned no credentials`, {
          call: 'AssumeRole',
          roleArn,
        });
      }
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: c.Expiration,
      };
    };
    const provider: AwsCredentialIdentityProvider = async () => {
      const fresh =
        current &&
        (!current.expiration || current.expiration.getTime() - Date.now() > REFRESH_MARGIN_MS);
      if (fresh && current) return current;
      pending ??= fetchCredentials().finally(() => {
        pending = undefined;
      });
      current = await pending;
      return current;
    };
    this.assumed.set(key, provider);
    return provider;
  }

  sts(credentials?: AwsCredentialIdentityProvider): STSClient {
    return new STSClient(this.config(this.options.region, credentials));
  }
  organizations(credentials?: AwsCredentialIdentityProvider): OrganizationsClient {
    return new OrganizationsClient(this.config('us-east-1', credentials));
  }
  iam(credentials?: AwsCredentialIdentityProvider): IAMClient {
    return new IAMClient(this.config('us-east-1', credentials));
  }
  cloudTrail(region: string, credentials?: AwsCredentialIdentityProvider): CloudTrailClient {
    return new CloudTrailClient(this.config(region, credentials));
  }
  s3(region: string, credentials?: AwsCredentialIdentityProvider): S3Client {
    return new S3Client({
      ...this.config(region, credentials),
      forcePathStyle: Boolean(this.options.endpoint),
      // Log objects are gzip, whose own CRC DuckDB checks on read: the SDK's extra checksum of
      // every body in JavaScript would only cost CPU.
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }
  athena(region: string, credentials?: AwsCredentialIdentityProvider): AthenaClient {
    return new AthenaClient(this.config(region, credentials));
  }
}

/** The AWS error name (AccessDenied, ThrottlingException, ...) of an SDK error, if any. */
export function awsErrorName(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'name' in err && typeof err.name === 'string')
    return err.name;
  return undefined;
}
