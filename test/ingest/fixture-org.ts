import { parseConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import {
  EXTERNAL_ID,
  MGMT,
  ORG_ID,
  PROD,
  REGIONS,
  TRAIL_BUCKET,
} from '../fixtures/cloud/world-builder.ts';

/**
 * The `fixture-org` integration on the world builder's organization, pointed at a fixture cloud:
 * the organization trail by default, `integration` overriding any field.
 */
export function fixtureOrgConfig(
  cloudUrl: string,
  options: { days: number; integration?: Record<string, unknown> },
): Config {
  return parseConfig({
    lookbackDays: options.days,
    dormancyDays: options.days,
    integrations: [
      {
        id: 'fixture-org',
        kind: 'aws-organization',
        managementRoleArn: `arn:aws:iam::${MGMT}:role/AccessDiscoveryReadOnly`,
        memberRoleName: 'AccessDiscoveryReadOnly',
        externalId: EXTERNAL_ID,
        regions: REGIONS,
        trail: { bucket: TRAIL_BUCKET, prefix: '', organizationId: ORG_ID },
        endpoints: { aws: cloudUrl },
        ...options.integration,
      },
    ],
  });
}

/** One successful read-only IAM call by an IAM user of PROD, as CloudTrail records it. */
export function prodUserCall(options: {
  time: string;
  /** Unique per record: goes into requestID and eventID. */
  id: string;
  /** User name, and its path in the ARN (`people/bob`). */
  user: string;
  path?: string;
  region: string;
}) {
  const tag = options.user.toUpperCase().padEnd(6, '0').slice(0, 6);
  return {
    eventVersion: '1.10',
    userIdentity: {
      type: 'IAMUser',
      principalId: `AIDA${PROD}${tag}`,
      arn: `arn:aws:iam::${PROD}:user/${options.path ? `${options.path}/` : ''}${options.user}`,
      accountId: PROD,
      userName: options.user,
    },
    eventTime: options.time,
    eventSource: 'iam.amazonaws.com',
    eventName: 'GetRole',
    awsRegion: options.region,
    sourceIPAddress: '203.0.113.10',
    userAgent: 'aws-sdk-js/3.0.0',
    requestParameters: null,
    responseElements: null,
    requestID: `req-${options.id}`,
    eventID: `evt-${options.id}`,
    readOnly: true,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: PROD,
    eventCategory: 'Management',
  };
}
