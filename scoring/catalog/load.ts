import { LIST, listValue, VARCHAR } from '@duckdb/node-api';
import { UsageError } from '../../lib/errors.ts';
import { timeSlicer } from '../../lib/event-loop.ts';
import type { Db } from '../../model/db.ts';
import { getAwsCatalog } from './aws.ts';
import { classifyGcpPermission, isGcpPermission } from './gcp.ts';
import type { ActionClassification } from './types.ts';

/**
 * Writes the catalog into action_catalog. AWS rows are replaced as a whole (the bundled data is
 * the truth); GCP rows accumulate as ingestion meets permissions, and are re-classified with the
 * current rules whenever the catalog is loaded.
 */

const VARCHAR_LIST = LIST(VARCHAR);

async function appendRows(db: Db, rows: Iterable<ActionClassification>): Promise<number> {
  let count = 0;
  // 22,000 AWS rows take about half a second of this thread: let API requests in between.
  const breathe = timeSlicer();
  await db.append('action_catalog', async (appender) => {
    for (const c of rows) {
      await breathe();
      appender.appendVarchar(c.cloud);
      appender.appendVarchar(c.action);
      appender.appendVarchar(c.action.toLowerCase());
      appender.appendVarchar(c.service);
      appender.appendList(c.accessLevels, VARCHAR_LIST);
      appender.appendVarchar(c.level);
      appender.appendTinyInt(c.levelRank);
      appender.appendTinyInt(c.sensitivity);
      appender.appendList(c.resourceTypes, VARCHAR_LIST);
      appender.appendBoolean(c.resourceScopeable);
      appender.appendVarchar(c.observable);
      appender.appendVarchar(c.levelReason);
      appender.appendVarchar(c.sensitivityReasons.join(' | '));
      appender.appendVarchar(c.dataVersion);
      appender.endRow();
      count++;
    }
  });
  return count;
}

export interface CatalogLoadResult {
  aws: number;
  gcp: number;
  dataVersion: string;
}

/** Replace the AWS rows and re-classify the GCP rows already present. Idempotent. */
export async function loadActionCatalog(db: Db): Promise<CatalogLoadResult> {
  const catalog = getAwsCatalog();
  return db.transaction(async (tx) => {
    const existing = await tx.all<{ action: string }>(
      "SELECT action FROM action_catalog WHERE cloud = 'gcp' ORDER BY action",
    );
    await tx.exec('DELETE FROM action_catalog');
    const aws = await appendRows(tx, catalog.entries());
    const gcp = await appendRows(
      tx,
      existing.map((r) => classifyGcpPermission(r.action)),
    );
    return { aws, gcp, dataVersion: catalog.dataVersion };
  });
}

/**
 * Classify and insert the GCP permissions not yet in action_catalog. Ingestion calls it with the
 * permissions of the roles in use. A name that is not a GCP permission is a UsageError naming it.
 */
export async function ensureGcpPermissions(db: Db, permissions: string[]): Promise<void> {
  const wanted = [...new Set(permissions)];
  const invalid = wanted.filter((p) => !isGcpPermission(p));
  if (invalid.length > 0) {
    throw new UsageError(
      `not GCP permissions (expected service.resource.verb): ${invalid.slice(0, 5).join(', ')}${invalid.length > 5 ? ` and ${invalid.length - 5} more` : ''}`,
      { invalid },
    );
  }
  if (wanted.length === 0) return;
  await db.transaction(async (tx) => {
    const present = await tx.all<{ action: string }>(
      "SELECT action FROM action_catalog WHERE cloud = 'gcp' AND list_contains($names, action)",
      { names: listValue(wanted) },
    );
    const have = new Set(present.map((r) => r.action));
    const missing = wanted.filter((p) => !have.has(p)).sort();
    await appendRows(tx, missing.map(classifyGcpPermission));
  });
}
