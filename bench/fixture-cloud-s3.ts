/**
 * Fixture cloud S3 throughput: build a world with many CloudTrail objects, then list the
 * bucket and download every object through the real @aws-sdk/client-s3, as AWS ingestion
 * does. Prints start-up, listing and download figures; never fails on machine noise.
 *
 *   node --import tsx bench/fixture-cloud-s3.ts [--objects 20000] [--concurrency 32]
 */

import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, paginateListObjectsV2, S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { startFixtureCloud } from '../fixtures/cloud/index.ts';
import { buildWorld } from '../test/fixtures/cloud/world-builder.ts';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '32' },
  },
});
const objects = Number(values.objects);
const concurrency = Number(values.concurrency);

const world = buildWorld({ days: 1, filesPerDay: 1, recordsPerFile: 1 });
const bucketDir = join(world.dir, 'aws', 's3', 'fixture-org-trail');
const record = (i: number) => ({
  eventVersion: '1.10',
  userIdentity: {
    type: 'AssumedRole',
    arn: `arn:aws:sts::100000000002:assumed-role/app/s${i}`,
    accountId: '100000000002',
  },
  eventTime: '2026-11-21T10:00:00Z',
  eventSource: 'ec2.amazonaws.com',
  eventName: 'DescribeInstances',
  awsRegion: 'us-east-1',
  sourceIPAddress: '203.0.113.7',
  userAgent: 'aws-sdk-go-v2/1.30.0',
  // Random request ids keep objects about as incompressible as real logs (~25 KB gzipped).
  requestParameters: {
    instancesSet: {},
    filterSet: {},
    maxResults: 1000,
    clientToken: randomBytes(96).toString('base64'),
  },
  responseElements: null,
  requestID: `r-${i}`,
  eventID: `e-${i}`,
  readOnly: true,
  eventType: 'AwsApiCall',
  managementEvent: true,
  recipientAccountId: '100000000002',
  eventCategory: 'Management',
});
const t0 = performance.now();
let bytes = 0;
for (let i = 0; i < objects; i++) {
  const day = String(1 + (i % 28)).padStart(2, '0');
  const key = `AWSLogs/o-11111111aa/100000000002/CloudTrail/us-east-1/2026/10/${day}/100000000002_CloudTrail_us-east-1_202610${day}T1005Z_B${String(i).padStart(15, '0')}.json.gz`;
  const body = gzipSync(
    JSON.stringify({ Records: Array.from({ length: 120 }, (_, r) => record(i * 1000 + r)) }),
  );
  bytes += body.length;
  const path = join(bucketDir, ...key.split('/'));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, body);
}
const built = performance.now() - t0;

const s0 = performance.now();
const cloud = await startFixtureCloud({ dir: world.dir });
const startup = performance.now() - s0;
const client = new S3Client({ ...cloud.awsClientConfig('us-east-1'), maxAttempts: 1 });

const l0 = performance.now();
const keys: string[] = [];
for await (const page of paginateListObjectsV2({ client }, { Bucket: 'fixture-org-trail' })) {
  keys.push(...(page.Contents ?? []).map((c) => c.Key!));
}
const listing = performance.now() - l0;

const g0 = performance.now();
const limit = pLimit(concurrency);
let downloaded = 0;
await Promise.all(
  keys.map((Key) =>
    limit(async () => {
      const out = await client.send(new GetObjectCommand({ Bucket: 'fixture-org-trail', Key }));
      downloaded += (await out.Body!.transformToByteArray()).length;
    }),
  ),
);
const download = performance.now() - g0;
await cloud.close();
world.cleanup();

const mb = downloaded / 1024 / 1024;
console.log(
  `objects ${keys.length}, ${(bytes / 1024 / 1024).toFixed(1)} MB (avg ${(bytes / objects / 1024).toFixed(1)} KB), built in ${(built / 1000).toFixed(1)} s`,
);
console.log(`startup (index) ${startup.toFixed(0)} ms`);
console.log(
  `list all (first time, ETags computed) ${(listing / 1000).toFixed(2)} s = ${(keys.length / (listing / 1000)).toFixed(0)} keys/s`,
);
console.log(
  `get all @${concurrency} ${(download / 1000).toFixed(2)} s = ${(keys.length / (download / 1000)).toFixed(0)} objects/s, ${(mb / (download / 1000)).toFixed(1)} MB/s`,
);
console.log(
  `projected for 200k objects / 5 GB: list ${(((200_000 / keys.length) * listing) / 1000).toFixed(0)} s, get ${(((200_000 / keys.length) * download) / 1000).toFixed(0)} s`,
);
