import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { ImportConfig } from '../../config/schema.ts';
import { errorMessage, IngestError } from '../../lib/errors.ts';
import type { AccountRow } from '../../model/rows.ts';
import type { AssessmentRun } from '../assessment.ts';
import {
  type EventMapper,
  ingestLogBatch,
  type StagedObject,
} from '../aws/cloudtrail/aggregate.ts';
import { accountOfArn, transformAuthorizationDetails } from '../aws/iam/authorization-details.ts';
import { accountRisk } from '../aws/organizations/organization.ts';
import { loadAccountInventory, loadOrganization, splitByAccount } from '../inventory.ts';
import { classifyImportFiles } from './files.ts';

/**
 * `import` integrations: exported authorization details and CloudTrail files from a folder,
 * loaded into the same tables as a live AWS assessment.
 */

const BATCH_FILES = 64;

function accountOfDetails(details: unknown, fallback: string | undefined): string {
  const d = details as Record<string, Array<{ Arn?: string }> | undefined>;
  for (const list of ['UserDetailList', 'RoleDetailList', 'GroupDetailList', 'Policies']) {
    for (const item of d[list] ?? []) {
      if (item.Arn && !item.Arn.includes(':aws:policy/')) return accountOfArn(item.Arn);
    }
  }
  if (fallback) return fallback;
  throw new IngestError(
    'cannot tell the account of an authorization details file: set accountId in the config',
  );
}

export async function syncImport(
  run: AssessmentRun,
  integration: ImportConfig,
  mapper: EventMapper,
  baseDir = process.cwd(),
): Promise<void> {
  const directory = isAbsolute(integration.directory)
    ? integration.directory
    : resolve(baseDir, integration.directory);
  await run.stage('inventory');
  const { files, unknown } = classifyImportFiles(directory);
  for (const u of unknown)
    await run.recordError({ service: 'import', call: u.key, message: u.error });

  const accounts = new Map<string, AccountRow>();
  const account = (id: string): AccountRow => {
    let row = accounts.get(id);
    if (!row) {
      row = {
        assessment_id: run.assessmentId,
        account_id: id,
        integration_id: run.integrationId,
        cloud: 'aws',
        name: id,
        parent_path: [],
        status: 'ACTIVE',
        tags: {},
        ...accountRisk(id, {}, run.config),
        inventory_status: 'ok',
        inventory_error: null,
      };
      accounts.set(id, row);
    }
    return row;
  };

  const inventories: Array<{
    accountId: string;
    rows: ReturnType<typeof transformAuthorizationDetails>;
  }> = [];
  for (const file of files.filter((f) => f.kind === 'authorization-details')) {
    try {
      const details = JSON.parse(readFileSync(file.path, 'utf8')) as unknown;
      const accountId = accountOfDetails(details, integration.accountId);
      account(accountId);
      inventories.push({
        accountId,
        rows: transformAuthorizationDetails(
          {
            assessmentId: run.assessmentId,
            integrationId: run.integrationId,
            accountId,
            ownerTagKey: run.config.ownerTagKey,
          },
          details,
        ),
      });
    } catch (err) {
      await run.recordError({ service: 'import', call: file.key, message: errorMessage(err) });
    }
  }
  const byAccount = splitByAccount(inventories.map((i) => i.rows));
  for (const accountId of byAccount.keys()) account(accountId);
  await loadOrganization(run.db, run.assessmentId, {
    nodes: [],
    accounts: [...accounts.values()],
    policies: [],
    targets: [],
  });
  for (const [accountId, rows] of byAccount) {
    await loadAccountInventory(run.db, run.assessmentId, accountId, rows);
  }

  await run.stage('usage');
  const logs: StagedObject[] = files
    .filter((f) => f.kind !== 'authorization-details')
    .map((f) => ({
      key: f.key,
      path: f.path,
      shape: f.kind === 'cloudtrail-array' ? 'array' : 'records',
      etag: f.etag,
      sizeBytes: f.sizeBytes,
    }));
  let records = 0;
  for (let i = 0; i < logs.length; i += BATCH_FILES) {
    const batch = logs.slice(i, i + BATCH_FILES);
    const result = await ingestLogBatch(
      {
        db: run.db,
        integrationId: run.integrationId,
        assessmentId: run.assessmentId,
        source: 'import',
        dataEvents: false,
        mapper,
      },
      batch,
    );
    records += result.records;
    for (const r of result.rejected)
      await run.recordError({ service: 'cloudtrail', call: r.key, message: r.error });
    await run.addCounts({
      events: result.records,
      objects: result.objectsOk + result.objectsRejected,
      rejected: result.objectsRejected,
    });
    await run.progress(
      { objects: i + batch.length, of: logs.length, records },
      `usage: ${i + batch.length}/${logs.length} files, ${records} records`,
    );
  }
}
