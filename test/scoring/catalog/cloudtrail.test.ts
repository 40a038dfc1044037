import { describe, expect, it } from 'vitest';
import { getAwsCatalog } from '../../../scoring/catalog/aws.ts';
import {
  CloudTrailMapper,
  getCloudTrailMapper,
  mapCloudTrailEvent,
  readCloudTrailEventMap,
} from '../../../scoring/catalog/cloudtrail.ts';
import { readCloudTrailFile } from '../../../scoring/catalog/cloudtrail-file.ts';
import { cloudTrailFiles, HAS_REALDATA } from '../../helpers/realdata.ts';

describe('CloudTrail event mapping', () => {
  it.each([
    {
      source: 'monitoring.amazonaws.com',
      name: 'GetMetricData',
      actions: ['cloudwatch:GetMetricData'],
    },
    {
      source: 'streams.dynamodb.amazonaws.com',
      name: 'GetRecords',
      actions: ['dynamodb:GetRecords'],
    },
    { source: 'tagging.amazonaws.com', name: 'GetResources', actions: ['tag:GetResources'] },
    { source: 's3.amazonaws.com', name: 'ListBuckets', actions: ['s3:ListAllMyBuckets'] },
    { source: 's3.amazonaws.com', name: 'HeadObject', actions: ['s3:GetObject'] },
    { source: 's3.amazonaws.com', name: 'ListObjectsV2', actions: ['s3:ListBucket'] },
    { source: 's3.amazonaws.com', name: 'CreateMultipartUpload', actions: ['s3:PutObject'] },
    { source: 's3.amazonaws.com', name: 'UploadPart', actions: ['s3:PutObject'] },
    { source: 's3.amazonaws.com', name: 'CompleteMultipartUpload', actions: ['s3:PutObject'] },
    { source: 's3.amazonaws.com', name: 'CopyObject', actions: ['s3:PutObject', 's3:GetObject'] },
    { source: 's3.amazonaws.com', name: 'DeleteBucketCors', actions: ['s3:PutBucketCORS'] },
    {
      source: 'lambda.amazonaws.com',
      name: 'ListFunctions20150331',
      actions: ['lambda:ListFunctions'],
    },
    {
      source: 'lambda.amazonaws.com',
      name: 'UpdateFunctionCode20150331v2',
      actions: ['lambda:UpdateFunctionCode'],
    },
    {
      source: 'lambda.amazonaws.com',
      name: 'CreateFunction20150331',
      actions: ['lambda:CreateFunction'],
    },
    {
      source: 'kms.amazonaws.com',
      name: 'ReEncrypt',
      actions: ['kms:ReEncryptFrom', 'kms:ReEncryptTo'],
    },
    {
      source: 'secretsmanager.amazonaws.com',
      name: 'BatchGetSecretValue',
      actions: ['secretsmanager:BatchGetSecretValue', 'secretsmanager:GetSecretValue'],
    },
    { source: 'apigateway.amazonaws.com', name: 'GetRestApis', actions: ['apigateway:GET'] },
    { source: 'apigateway.amazonaws.com', name: 'DeleteStage', actions: ['apigateway:DELETE'] },
    { source: 'iam.amazonaws.com', name: 'CreateAccessKey', actions: ['iam:CreateAccessKey'] },
    { source: 'ec2.amazonaws.com', name: 'describeinstances', actions: ['ec2:DescribeInstances'] },
  ])('maps $source $name to $actions', ({ source, name, actions }) => {
    const m = mapCloudTrailEvent(source, name);
    expect(m.status).toBe('mapped');
    expect(m.actions).toEqual(actions);
    expect(m.reason).toBeTruthy();
  });

  it('maps object-version requests to the Version actions', () => {
    expect(
      mapCloudTrailEvent('s3.amazonaws.com', 'GetObject', { versionId: true }).actions,
    ).toEqual(['s3:GetObjectVersion']);
    expect(mapCloudTrailEvent('s3.amazonaws.com', 'GetObject').actions).toEqual(['s3:GetObject']);
  });

  it.each([
    { source: 'sts.amazonaws.com', name: 'GetCallerIdentity', extra: {} },
    { source: 'signin.amazonaws.com', name: 'ConsoleLogin', extra: {} },
    { source: 'sso.amazonaws.com', name: 'GetRoleCredentials', extra: {} },
    { source: 'kms.amazonaws.com', name: 'RotateKey', extra: { eventType: 'AwsServiceEvent' } },
  ])('says $source $name needs no permission, with a reason', ({ source, name, extra }) => {
    const m = mapCloudTrailEvent(source, name, extra);
    expect(m).toMatchObject({ status: 'no-permission', actions: [] });
    expect(m.reason?.length).toBeGreaterThan(10);
  });

  it.each([
    { source: 'example.com', name: 'DoThing', reason: /no IAM service prefix/ },
    {
      source: 'ec2.amazonaws.com',
      name: 'LaunchRockets',
      reason: /no IAM action ec2:LaunchRockets/,
    },
    { source: '', name: 'GetObject', reason: /no eventSource/ },
  ])('returns $source $name unmapped with a reason', ({ source, name, reason }) => {
    const m = mapCloudTrailEvent(source, name);
    expect(m.status).toBe('unmapped');
    expect(m.actions).toEqual([]);
    expect(m.reason).toMatch(reason);
  });

  it('returns the same result object for a repeated pair (cached)', () => {
    expect(mapCloudTrailEvent('ec2.amazonaws.com', 'RunInstances')).toBe(
      mapCloudTrailEvent('ec2.amazonaws.com', 'RunInstances'),
    );
  });

  it('names only catalog actions anywhere in the mapping table', () => {
    const mapper = getCloudTrailMapper();
    expect(mapper.unknownActions).toEqual([]);
    const catalog = getAwsCatalog();
    for (const a of mapper.tableActions()) expect(catalog.find(a)?.action).toBe(a);
    for (const e of mapper.tableEvents()) {
      for (const versionId of [false, true]) {
        const m = mapper.map(e.eventSource, e.eventName, { versionId });
        expect(m.status, `${e.eventSource} ${e.eventName}`).not.toBe('unmapped');
        for (const a of m.actions) expect(catalog.find(a)?.action).toBe(a);
      }
    }
  });

  it('gives every rename a prefix the catalog knows', () => {
    const services = new Set(getAwsCatalog().expander.services());
    const unknown = readCloudTrailEventMap()
      .sourceRenames.map((r) => r.prefix)
      .filter((p) => !services.has(p));
    expect(unknown).toEqual([]);
  });

  it('reports table actions missing from the catalog instead of emitting them', () => {
    const table = readCloudTrailEventMap();
    table.events.push({
      eventSource: 'x.amazonaws.com',
      eventName: 'Y',
      actions: ['s3:NotAnAction'],
      reason: 'a test entry with a bad action',
    });
    const mapper = new CloudTrailMapper(getAwsCatalog().expander, table);
    expect(mapper.unknownActions).toEqual([
      { where: 'x.amazonaws.com Y', action: 's3:NotAnAction' },
    ]);
    expect(mapper.map('x.amazonaws.com', 'Y').status).toBe('unmapped');
  });
});

describe.skipIf(!HAS_REALDATA)('CloudTrail mapping on the real logs', () => {
  it('maps at least 98% of the stratus-red-team and trailscraper records or finds no permission needed', () => {
    const files = cloudTrailFiles();
    expect(files.length).toBeGreaterThan(30);
    const results = files.flatMap((f) =>
      readCloudTrailFile(f).map((r) => ({
        ...r,
        m: mapCloudTrailEvent(r.eventSource, r.eventName, {
          eventType: r.eventType,
          versionId: r.versionId,
        }),
      })),
    );
    expect(results.length).toBeGreaterThan(300);
    const unmapped = results.filter((r) => r.m.status === 'unmapped');
    for (const u of unmapped) expect(u.m.reason).toBeTruthy();
    expect(1 - unmapped.length / results.length).toBeGreaterThanOrEqual(0.98);
    const catalog = getAwsCatalog();
    for (const r of results) for (const a of r.m.actions) expect(catalog.find(a)?.action).toBe(a);
  });
});
