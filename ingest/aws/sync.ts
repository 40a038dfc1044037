import { join } from 'node:path';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import pLimit from 'p-limit';
import type { AwsAccountConfig, AwsOrganizationConfig } from '../../config/schema.ts';
import { errorMessage, IngestError } from '../../lib/errors.ts';
import { insertRows } from '../../model/insert.ts';
import type { AccountRow } from '../../model/rows.ts';
import type { AssessmentRun } from '../assessment.ts';
import { loadAccountInventory, loadOrganization, setAccountStatus } from '../inventory.ts';
import { AwsSession, awsErrorName } from './clients.ts';
import type { EventMapper } from './cloudtrail/aggregate.ts';
import { loadAthenaUsage, runAthenaQuery, usageQuery } from './cloudtrail/athena.ts';
import {
  getDayEvents,
  ingestDayEvents,
  lookupKey,
  RateLimiter,
} from './cloudtrail/lookup-events.ts';
import {
  completionOrder,
  dayPrefix,
  daysOf,
  ingestedKeys,
  ingestObjects,
  LATE_DELIVERY_DAYS,
  listDays,
  listingDays,
  type ObjectRef,
  prefixesToList,
  recordListings,
  rejectedObjects,
  type TrailLocation,
} from './cloudtrail/s3.ts';
import { getTrails, type TrailInfo } from './cloudtrail/trails.ts';
import {
  getAuthorizationDetails,
  transformAuthorizationDetails,
} from './iam/authorization-details.ts';
import {
  applyCredentialReport,
  getAccessKeys,
  getCredentialReport,
  parseCredentialReport,
  usersWithKeys,
} from './iam/credential-report.ts';
import {
  accountRisk,
  getOrganization,
  transformOrganization,
} from './organizations/organization.ts';

/**
 * Live AWS integrations: an organization (every active member account through an assumed
 * read-only role) or a single account. Failures of one account are recorded and the rest
 * goes on; the assessment then ends `partial`.
 */

type AwsIntegration = AwsOrganizationConfig | AwsAccountConfig;

export interface AwsSyncOptions {
  mapper: EventMapper;
  /** Folder for staged log objects (default: a folder beside the database). */
  stageDir: string;
  /** SDK attempts per call (default 8); tests lower it to keep persistent faults quick. */
  maxAttempts?: number;
}

function roleArn(accountId: string, roleName: string): string {
  return `arn:aws:iam::${accountId}:role/${roleName}`;
}

function describe(err: unknown): string {
  const name = awsErrorName(err);
  const message = errorMessage(err);
  return name && !message.startsWith(name) ? `${name}: ${message}` : message;
}

async function syncAccountInventory(
  run: AssessmentRun,
  session: AwsSession,
  accountId: string,
  credentials: AwsCredentialIdentityProvider,
): Promise<void> {
  const iam = session.iam(credentials);
  let call = 'GetAccountAuthorizationDetails';
  try {
    const details = await getAuthorizationDetails(iam);
    call = 'GetCredentialReport';
    const report = parseCredentialReport(await getCredentialReport(iam));
    call = 'ListAccessKeys';
    const accessKeys = await getAccessKeys(iam, usersWithKeys(report));
    const rows = applyCredentialReport(
      transformAuthorizationDetails(
        {
          assessmentId: run.assessmentId,
          integrationId: run.integrationId,
          accountId,
          ownerTagKey: run.config.ownerTagKey,
        },
        details,
      ),
      report,
      run.assessmentId,
      accessKeys,
    );
    await loadAccountInventory(run.db, run.assessmentId, accountId, rows);
  } catch (err) {
    const message = describe(err);
    await setAccountStatus(run.db, run.assessmentId, accountId, 'failed', `${call}: ${message}`);
    await run.recordError({ accountId, service: 'iam', call, message });
    throw err;
  }
}

async function syncUsageFromS3(
  run: AssessmentRun,
  integration: AwsIntegration,
  session: AwsSession,
  accounts: string[],
  trail: TrailLocation,
  dataEvents: boolean,
  options: AwsSyncOptions,
  readCredentials: AwsCredentialIdentityProvider | undefined,
): Promise<void> {
  const bucketRegion = integration.trail?.bucketRegion ?? integration.regions[0] ?? 'us-east-1';
  const s3 = session.s3(bucketRegion, readCredentials);
  const wanted = accounts.flatMap((accountId) =>
    integration.regions.flatMap((region) =>
      listingDays(run.window).map((day) => ({
        prefix: dayPrefix(trail, accountId, region, day),
        accountId,
        region,
        day,
      })),
    ),
  );
  const toList = await prefixesToList(run.db, run.integrationId, wanted);
  // One ranged listing per account and region covers all its days still to list.
  const ranges = new Map<string, { accountId: string; region: string; days: string[] }>();
  for (const w of toList) {
    const key = `${w.accountId}/${w.region}`;
    const range = ranges.get(key) ?? { accountId: w.accountId, region: w.region, days: [] };
    range.days.push(w.day);
    ranges.set(key, range);
  }
  run.logger.progress(
    `[${run.integrationId}] usage: listing ${toList.length} of ${wanted.length} day prefixes (${accounts.length} accounts x ${integration.regions.length} regions, ${ranges.size} ranged listings)`,
  );
  // Objects already ingested in the days listed again (inside their late-delivery margin) are
  // not downloaded again.
  const done = await ingestedKeys(
    run.db,
    run.integrationId,
    toList.reduce((min, w) => (w.day < min ? w.day : min), run.window.end),
  );
  const found: ObjectRef[] = [];
  const listings: Array<{
    prefix: string;
    accountId: string;
    region: string;
    day: string;
    objects: number;
  }> = [];
  const failedAccounts = new Set<string>();
  const listOne = async (range: {
    accountId: string;
    region: string;
    days: string[];
  }): Promise<ObjectRef[]> => {
    if (failedAccounts.has(range.accountId)) return [];
    try {
      const objects = await listDays(s3, trail.bucket, trail, range);
      found.push(...objects);
      const perDay = new Map<string, number>();
      for (const o of objects) perDay.set(o.day, (perDay.get(o.day) ?? 0) + 1);
      for (const day of range.days)
        listings.push({
          prefix: dayPrefix(trail, range.accountId, range.region, day),
          accountId: range.accountId,
          region: range.region,
          day,
          objects: perDay.get(day) ?? 0,
        });
      return objects.filter((o) => !done.has(o.key));
    } catch (err) {
      if (!failedAccounts.has(range.accountId)) {
        failedAccounts.add(range.accountId);
        await run.recordError({
          accountId: range.accountId,
          service: 's3',
          call: 'ListObjectsV2',
          message: describe(err),
        });
      }
      return [];
    }
  };
  // Earlier rejections are retried first; listing goes on while the first objects download.
  const retries = await rejectedObjects(run.db, run.integrationId);
  const wantedKeys = new Set(toList.map((w) => w.prefix));
  const retriesOutside = retries.filter(
    (r) => !wantedKeys.has(dayPrefix(trail, r.accountId, r.region, r.day)),
  );
  let listed = retriesOutside.length;
  async function* objectLists(): AsyncGenerator<ObjectRef[]> {
    if (retriesOutside.length) yield retriesOutside;
    for await (const objects of completionOrder([...ranges.values()], 16, listOne)) {
      listed += objects.length;
      if (objects.length) yield objects;
    }
    // Earlier rejections in listed prefixes that the listing no longer shows (or could not
    // list) are still retried, and fail or succeed on their own.
    const foundKeys = new Set(found.map((f) => f.key));
    const leftover = retries.filter(
      (r) =>
        wantedKeys.has(dayPrefix(trail, r.accountId, r.region, r.day)) && !foundKeys.has(r.key),
    );
    listed += leftover.length;
    if (leftover.length) yield leftover;
  }
  const started = Date.now();
  let lastLog = 0;
  const totals = await ingestObjects(
    {
      s3,
      trail,
      stageDir: options.stageDir,
      batch: {
        db: run.db,
        integrationId: run.integrationId,
        assessmentId: run.assessmentId,
        dataEvents,
        mapper: options.mapper,
      },
      onBatch: async (result, t) => {
        for (const r of result.rejected)
          await run.recordError({ service: 'cloudtrail', call: r.key, message: r.error });
        await run.addCounts({
          events: result.records,
          objects: result.objectsOk + result.objectsRejected,
          rejected: result.objectsRejected,
        });
        const seconds = (Date.now() - started) / 1000;
        const rate = Math.round(t.records / Math.max(seconds, 0.001));
        const done = t.objectsOk + t.objectsRejected;
        await run.progress(
          { objects: done, of: listed, records: t.records, eventsPerSecond: rate },
          Date.now() - lastLog > 2000
            ? `usage: ${done}/${listed} objects, ${t.records} events, ${rate} events/s`
            : undefined,
        );
        if (Date.now() - lastLog > 2000) lastLog = Date.now();
      },
    },
    objectLists(),
  );
  for (const e of totals.downloadErrors)
    await run.recordError({ service: 's3', call: `GetObject ${e.key}`, message: e.error });
  if (totals.downloadErrors.length > 0) {
    // In the ledger as rejected (see ingestObjects), so counted with the rejected objects.
    await run.addCounts({
      objects: totals.downloadErrors.length,
      rejected: totals.downloadErrors.length,
    });
  }
  // A listing counts as complete only when every object it found was read (ok or rejected).
  const failedKeys = new Set(totals.downloadErrors.map((e) => e.key));
  const incomplete = new Set(
    found
      .filter((f) => failedKeys.has(f.key))
      .map((f) => dayPrefix(trail, f.accountId, f.region, f.day)),
  );
  await recordListings(
    run.db,
    run.integrationId,
    listings.filter((l) => !incomplete.has(l.prefix)),
  );
  const seconds = (Date.now() - started) / 1000;
  run.logger.progress(
    `[${run.integrationId}] usage: ${totals.objectsOk} objects, ${totals.records} events in ${seconds.toFixed(1)} s (${Math.round(totals.records / Math.max(seconds, 0.001))} events/s), ${totals.objectsRejected} rejected`,
  );
}

async function syncUsageFromAthena(
  run: AssessmentRun,
  integration: AwsIntegration,
  session: AwsSession,
  credentials: AwsCredentialIdentityProvider,
  options: AwsSyncOptions,
  accounts: string[],
): Promise<void> {
  const table = integration.athena;
  if (!table) throw new Error('usageSource athena needs an athena block');
  const latest = await run.db.scalar<string | null>(
    "SELECT max(day)::VARCHAR FROM usage_daily WHERE integration_id = $i AND source = 'athena'",
    { i: run.integrationId },
  );
  const margin = latest
    ? new Date(Date.parse(`${latest}T00:00:00Z`) - LATE_DELIVERY_DAYS * 86_400_000)
    : undefined;
  const start =
    margin && margin.toISOString().slice(0, 10) > run.window.start
      ? margin.toISOString().slice(0, 10)
      : run.window.start;
  const endExclusive = new Date(Date.parse(`${run.window.end}T00:00:00Z`) + 86_400_000)
    .toISOString()
    .slice(0, 10);
  const client = session.athena(table.region ?? integration.regions[0] ?? 'us-east-1', credentials);
  try {
    const { rows, scannedBytes } = await runAthenaQuery(
      client,
      table,
      usageQuery(table, start, endExclusive),
    );
    const loaded = await loadAthenaUsage(
      run.db,
      {
        integrationId: run.integrationId,
        assessmentId: run.assessmentId,
        mapper: options.mapper,
        accounts: new Set(accounts),
      },
      { start, endExclusive },
      rows,
    );
    await run.addCounts({ events: loaded.calls, objects: 1 });
    run.logger.progress(
      `[${run.integrationId}] usage: Athena returned ${rows.length} aggregate rows for ${start}..${run.window.end} (${loaded.calls} calls, ${loaded.outOfScope} calls of accounts out of scope left out, ${(scannedBytes / 1e6).toFixed(1)} MB scanned)`,
    );
  } catch (err) {
    await run.recordError({
      service: 'athena',
      call: 'StartQueryExecution',
      message: describe(err),
    });
  }
}

async function syncUsageFromLookupEvents(
  run: AssessmentRun,
  integration: AwsIntegration,
  session: AwsSession,
  accounts: string[],
  options: AwsSyncOptions,
  credentialsFor: (accountId: string) => AwsCredentialIdentityProvider,
): Promise<void> {
  const today = new Date().toISOString().slice(0, 10);
  const days = daysOf(run.window.start, run.window.end).filter((d) => d < today);
  const limiter = new RateLimiter(2);
  const limit = pLimit(integration.concurrency);
  const done = new Set(
    (
      await run.db.all<{ object_key: string }>(
        "SELECT object_key FROM ingest_object WHERE integration_id = $i AND source = 'lookup-events' AND status = 'ok'",
        { i: run.integrationId },
      )
    ).map((r) => r.object_key),
  );
  let events = 0;
  await Promise.all(
    accounts.flatMap((accountId) =>
      integration.regions.map((region) =>
        limit(async () => {
          const client = session.cloudTrail(region, credentialsFor(accountId));
          for (const day of days) {
            if (done.has(lookupKey(accountId, region, day))) continue;
            try {
              const dayEvents = await getDayEvents(client, day, limiter, `${accountId}/${region}`);
              const result = await ingestDayEvents(
                {
                  db: run.db,
                  integrationId: run.integrationId,
                  assessmentId: run.assessmentId,
                  dataEvents: false,
                  mapper: options.mapper,
                },
                options.stageDir,
                { accountId, region, day },
                dayEvents,
              );
              events += result.records;
              await run.addCounts({
                events: result.records,
                objects: 1,
                rejected: result.objectsRejected,
              });
              await run.progress({ events }, undefined);
            } catch (err) {
              await run.recordError({
                accountId,
                service: 'cloudtrail',
                call: `LookupEvents ${region} ${day}`,
                message: describe(err),
              });
              return;
            }
          }
        }),
      ),
    ),
  );
  run.logger.progress(
    `[${run.integrationId}] usage: LookupEvents gave ${events} management events`,
  );
}

async function recordTrail(run: AssessmentRun, trail: TrailInfo, accountId: string): Promise<void> {
  await run.db.exec('DELETE FROM log_source WHERE integration_id = $i AND source_id = $s', {
    i: run.integrationId,
    s: trail.arn,
  });
  await insertRows(run.db, 'log_source', [
    {
      integration_id: run.integrationId,
      source_id: trail.arn,
      account_id: accountId,
      kind: 'cloudtrail',
      details: {
        bucket: trail.bucket,
        prefix: trail.prefix,
        organizationTrail: trail.organizationTrail,
        multiRegion: trail.multiRegion,
        homeRegion: trail.homeRegion,
      },
      data_event_selectors: trail.selectors,
      observed_at: new Date().toISOString(),
    },
  ]);
}

export async function syncAws(
  run: AssessmentRun,
  integration: AwsIntegration,
  options: AwsSyncOptions,
): Promise<void> {
  const session = new AwsSession({
    endpoint: integration.endpoints?.aws,
    region: integration.regions[0],
    externalId: integration.externalId,
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
  });
  await run.stage('inventory');
  let managementAccountId: string;
  let accountsToRead: string[];
  let managementCredentials: AwsCredentialIdentityProvider;
  if (integration.kind === 'aws-organization') {
    managementCredentials = session.assumeRole(integration.managementRoleArn);
    let org: Awaited<ReturnType<typeof getOrganization>>;
    try {
      org = await getOrganization(session.organizations(managementCredentials));
    } catch (err) {
      // Nothing can be assessed without the account list: the run fails, saying through what.
      throw new IngestError(
        `the organization cannot be read through ${integration.managementRoleArn}: ${describe(err)}`,
        { call: 'AssumeRole / Organizations', roleArn: integration.managementRoleArn },
      );
    }
    managementAccountId = org.managementAccountId;
    const rows = transformOrganization(
      {
        assessmentId: run.assessmentId,
        integrationId: run.integrationId,
        excludeOuIds: integration.excludeOuIds,
        excludeAccountIds: integration.excludeAccountIds,
        config: run.config,
      },
      org,
    );
    await loadOrganization(run.db, run.assessmentId, rows);
    accountsToRead = rows.accounts
      .filter((a) => a.inventory_status === 'ok')
      .map((a) => a.account_id);
    const skipped = rows.accounts.length - accountsToRead.length;
    run.logger.progress(
      `[${run.integrationId}] organization ${org.organizationId}: ${rows.accounts.length} accounts, ${accountsToRead.length} to assess, ${skipped} excluded or suspended`,
    );
  } else {
    managementCredentials = session.assumeRole(integration.roleArn);
    managementAccountId = integration.roleArn.split(':')[4]!;
    const account: AccountRow = {
      assessment_id: run.assessmentId,
      account_id: managementAccountId,
      integration_id: run.integrationId,
      cloud: 'aws',
      name: integration.name ?? managementAccountId,
      parent_path: [],
      status: 'ACTIVE',
      tags: {},
      ...accountRisk(managementAccountId, {}, run.config),
      inventory_status: 'ok',
      inventory_error: null,
    };
    await loadOrganization(run.db, run.assessmentId, {
      nodes: [],
      accounts: [account],
      policies: [],
      targets: [],
    });
    accountsToRead = [managementAccountId];
  }

  const limit = pLimit(integration.concurrency);
  const readable: string[] = [];
  let done = 0;
  await Promise.all(
    accountsToRead.map((accountId) =>
      limit(async () => {
        const credentials =
          integration.kind === 'aws-organization'
            ? session.assumeRole(roleArn(accountId, integration.memberRoleName))
            : managementCredentials;
        try {
          await syncAccountInventory(run, session, accountId, credentials);
          readable.push(accountId);
        } catch (err) {
          if (
            awsErrorName(err) === 'AccessDenied' ||
            awsErrorName(err) === 'AccessDeniedException'
          ) {
            run.logger.debug(`account ${accountId} denied`, { error: errorMessage(err) });
          }
          // Recorded by syncAccountInventory; the other accounts go on.
        }
        done++;
        await run.progress(
          { accountsDone: done, accounts: accountsToRead.length },
          `inventory: ${done}/${accountsToRead.length} accounts`,
        );
      }),
    ),
  );

  await run.stage('usage');
  if (integration.usageSource === 'athena') {
    // Every account in scope, even one whose inventory failed: the query is incremental by
    // day over the whole trail, so a day loaded without an account would never be read again.
    await syncUsageFromAthena(
      run,
      integration,
      session,
      managementCredentials,
      options,
      accountsToRead,
    );
    return;
  }
  if (integration.usageSource === 'lookup-events') {
    await syncUsageFromLookupEvents(
      run,
      integration,
      session,
      readable.sort(),
      options,
      (accountId) =>
        integration.kind === 'aws-organization'
          ? session.assumeRole(roleArn(accountId, integration.memberRoleName))
          : managementCredentials,
    );
    return;
  }
  if (!integration.trail)
    throw new Error('usageSource s3 needs a trail (config validation should have caught this)');
  let dataEvents = false;
  try {
    const trails = await getTrails(
      session.cloudTrail(integration.regions[0] ?? 'us-east-1', managementCredentials),
    );
    const trail = trails.find((t) => t.bucket === integration.trail?.bucket);
    if (trail) {
      dataEvents = trail.dataEvents;
      await recordTrail(run, trail, managementAccountId);
    } else {
      await run.recordError({
        accountId: managementAccountId,
        service: 'cloudtrail',
        call: 'DescribeTrails',
        message: `no trail delivers to bucket ${integration.trail.bucket}; data events are assumed not logged`,
      });
    }
  } catch (err) {
    await run.recordError({
      accountId: managementAccountId,
      service: 'cloudtrail',
      call: 'DescribeTrails',
      message: describe(err),
    });
  }
  const trailLocation: TrailLocation = {
    bucket: integration.trail.bucket,
    prefix: integration.trail.prefix,
    organizationId: integration.trail.organizationId,
  };
  const readCredentials = integration.trail.bucketRoleArn
    ? session.assumeRole(integration.trail.bucketRoleArn)
    : managementCredentials;
  await syncUsageFromS3(
    run,
    integration,
    session,
    readable.sort(),
    trailLocation,
    dataEvents,
    { ...options, stageDir: join(options.stageDir, run.assessmentId) },
    readCredentials,
  );
}
