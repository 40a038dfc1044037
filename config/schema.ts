import { Cron } from 'croner';
import { z } from 'zod';

/**
 * The configuration file, validated at the boundary. Every field is documented in
 * docs/config.md; a test checks that each key here appears there.
 */

const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a lowercase id of letters, digits and dashes (max 63)');

const awsAccountId = z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id');
const roleArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/,
    'an IAM role ARN such as arn:aws:iam::123456789012:role/AccessDiscoveryReadOnly',
  );
const roleName = z.string().regex(/^[\w+=,.@-]{1,64}$/, 'an IAM role name (no path)');
const awsRegion = z
  .string()
  .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'an AWS region such as us-east-1');
const ouId = z
  .string()
  .regex(/^ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}$/, 'an OU id such as ou-ab12-cdef3456');
const gcpProjectId = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
    'a GCP project id (6-30 lowercase letters, digits, dashes)',
  );
const gcpFolderId = z.string().regex(/^(folders\/)?\d+$/, 'a folder id such as folders/123456789');
const url = z.url({ protocol: /^https?$/, error: 'an http(s) URL' });
const riskLevel = z.enum(['low', 'medium', 'high', 'critical']);

const endpoints = z
  .strictObject({
    aws: url.optional(),
    gcp: url.optional(),
  })
  .optional()
  .describe(
    'Override cloud API endpoints (the fixture cloud, VPC endpoints). Never holds credentials.',
  );

const trail = z.strictObject({
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name'),
  prefix: z.string().default(''),
  bucketRegion: awsRegion.optional(),
  bucketRoleArn: roleArn.optional(),
  organizationId: z
    .string()
    .regex(/^o-[a-z0-9]{10,32}$/, 'an organization id such as o-a1b2c3d4e5')
    .optional(),
});

const athena = z.strictObject({
  database: z.string().min(1),
  table: z.string().min(1),
  workgroup: z.string().default('primary'),
  outputLocation: z
    .string()
    .regex(/^s3:\/\//, 'an s3:// URL')
    .optional(),
  region: awsRegion.optional(),
});

const usageSource = z.enum(['s3', 'athena', 'lookup-events']);

const awsCommon = {
  id: slug,
  name: z.string().min(1).optional(),
  owner: z.string().min(1).optional(),
  regions: z.array(awsRegion).min(1).default(['us-east-1']),
  externalId: z.string().min(2).max(1224).optional(),
  usageSource: usageSource.default('s3'),
  trail: trail.optional(),
  athena: athena.optional(),
  remediationRoleName: roleName.optional(),
  concurrency: z.number().int().min(1).max(64).default(8),
  endpoints,
};

const awsOrganization = z.strictObject({
  kind: z.literal('aws-organization'),
  ...awsCommon,
  managementRoleArn: roleArn,
  memberRoleName: roleName,
  excludeOuIds: z.array(ouId).default([]),
  excludeAccountIds: z.array(awsAccountId).default([]),
});

const awsAccount = z.strictObject({
  kind: z.literal('aws-account'),
  ...awsCommon,
  roleArn,
});

const auditSink = z.strictObject({
  projectId: gcpProjectId.optional(),
  datasetLabel: z.string().min(1).default('access_discovery_audit_log_sink'),
  maxBytesProcessed: z
    .number()
    .int()
    .positive()
    .default(1024 ** 4)
    .describe('Ceiling for one aggregation query, checked by a dry run first.'),
  location: z.string().optional(),
});

const gcpCommon = {
  id: slug,
  name: z.string().min(1).optional(),
  owner: z.string().min(1).optional(),
  auditSink: auditSink.prefault({}),
  concurrency: z.number().int().min(1).max(64).default(8),
  endpoints,
};

const gcpOrganization = z.strictObject({
  kind: z.literal('gcp-organization'),
  ...gcpCommon,
  organizationId: z.string().regex(/^(organizations\/)?\d+$/, 'a numeric organization id'),
  customerId: z
    .string()
    .regex(/^C[0-9a-z]+$/, 'a Cloud Identity customer id such as C01abc23d')
    .optional(),
  excludeFolderIds: z.array(gcpFolderId).default([]),
  excludeProjectIds: z.array(gcpProjectId).default([]),
});

const gcpProject = z.strictObject({
  kind: z.literal('gcp-project'),
  ...gcpCommon,
  projectId: gcpProjectId,
  customerId: z
    .string()
    .regex(/^C[0-9a-z]+$/)
    .optional(),
});

const importIntegration = z.strictObject({
  kind: z.literal('import'),
  id: slug,
  name: z.string().min(1).optional(),
  owner: z.string().min(1).optional(),
  directory: z.string().min(1),
  accountId: awsAccountId.optional(),
});

export const integrationSchema = z.discriminatedUnion('kind', [
  awsOrganization,
  awsAccount,
  gcpOrganization,
  gcpProject,
  importIntegration,
]);

const cron = z.string().refine(
  (value) => {
    try {
      new Cron(value, { paused: true });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'a cron expression with five fields, such as "0 2 * * *"' },
);

export const configSchema = z
  .strictObject({
    version: z.literal(1).default(1),
    database: z.string().min(1).default('./data/access-discovery.duckdb'),
    lookbackDays: z.number().int().min(1).max(400).default(90),
    dormancyDays: z.number().int().min(1).max(400).default(90),
    staleUsageDays: z.number().int().min(1).max(60).default(3),
    schedule: z
      .strictObject({
        cron: cron.default('0 2 * * *'),
        timezone: z.string().default('UTC'),
        catchUp: z.boolean().default(true),
      })
      .prefault({}),
    ownerTagKey: z.string().min(1).max(128).optional(),
    owner: z.string().min(1).optional(),
    breakGlassTag: z
      .strictObject({ key: z.string().min(1), value: z.string().optional() })
      .prefault({ key: 'break-glass' }),
    exclusions: z
      .strictObject({
        principals: z.array(z.string().min(1)).default([]),
        neverTouchServiceLinkedRoles: z.boolean().default(true),
        skipYoungerThanWindow: z.boolean().default(true),
      })
      .prefault({}),
    accountRiskLevels: z.record(z.string(), riskLevel).default({}),
    accountRiskTags: z
      .array(z.strictObject({ key: z.string(), value: z.string(), level: riskLevel }))
      .default([
        { key: 'env', value: 'prod', level: 'high' },
        { key: 'env', value: 'production', level: 'high' },
        { key: 'env', value: 'staging', level: 'medium' },
        { key: 'env', value: 'dev', level: 'low' },
      ]),
    server: z
      .strictObject({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
        corsOrigins: z.array(url).default([]),
        rateLimitPerMinute: z.number().int().min(1).default(600),
        duckdb: z
          .strictObject({
            memoryLimit: z
              .string()
              .regex(
                /^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/,
                'a size such as 4GB or 512MiB (units KB, MB, GB, TB, KiB, MiB, GiB, TiB)',
              )
              .default('8GB'),
            threads: z.number().int().min(1).max(256).optional(),
            readThreads: z.number().int().min(1).max(256).default(1),
          })
          .prefault({}),
      })
      .prefault({}),
    integrations: z.array(integrationSchema).min(1, 'at least one integration'),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.integrations.forEach((integration, index) => {
      if (seen.has(integration.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['integrations', index, 'id'],
          message: `duplicate integration id "${integration.id}"`,
        });
      }
      seen.add(integration.id);
      if (config.ownerTagKey && !integration.owner && !config.owner) {
        ctx.addIssue({
          code: 'custom',
          path: ['integrations', index, 'owner'],
          message:
            'an integration owner (or a top-level owner), required because ownerTagKey is set',
        });
      }
      if (integration.kind === 'aws-organization' || integration.kind === 'aws-account') {
        if (integration.usageSource === 's3' && !integration.trail) {
          ctx.addIssue({
            code: 'custom',
            path: ['integrations', index, 'trail'],
            message: 'a trail {bucket, prefix} because usageSource is s3',
          });
        }
        if (integration.usageSource === 'athena' && !integration.athena) {
          ctx.addIssue({
            code: 'custom',
            path: ['integrations', index, 'athena'],
            message: 'an athena {database, table} block because usageSource is athena',
          });
        }
      }
    });
    if (config.dormancyDays > config.lookbackDays) {
      ctx.addIssue({
        code: 'custom',
        path: ['dormancyDays'],
        message: `at most lookbackDays (${config.lookbackDays}): dormancy cannot be judged beyond the evidence window`,
      });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type IntegrationConfig = z.infer<typeof integrationSchema>;
export type AwsOrganizationConfig = z.infer<typeof awsOrganization>;
export type AwsAccountConfig = z.infer<typeof awsAccount>;
export type GcpOrganizationConfig = z.infer<typeof gcpOrganization>;
export type GcpProjectConfig = z.infer<typeof gcpProject>;
export type ImportConfig = z.infer<typeof importIntegration>;
