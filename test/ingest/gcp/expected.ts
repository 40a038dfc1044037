import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { AuditEntry, AuditFile } from '../../fixtures/cloud/gcp/world-builder.ts';

/**
 * What the ingestion should store, computed in plain TypeScript straight from the audit entries
 * a test world holds: independent of both the fixture's DuckDB aggregate and the ingestion's SQL.
 */

export interface UsageKey {
  principal_id: string;
  action: string;
  day: string;
  account_id: string;
}

export interface ExpectedUsage extends UsageKey {
  calls: number;
  denied: number;
}

function isoDay(compact: string): string {
  return `${compact.slice(0, 4)}-${compact.slice(4, 6)}-${compact.slice(6, 8)}`;
}

export function member(email: string): string {
  return email.endsWith('.gserviceaccount.com') ? `serviceAccount:${email}` : `user:${email}`;
}

function inWindow(file: AuditFile, start: string, end: string): boolean {
  const day = isoDay(file.day);
  return day >= start && day <= end;
}

function entriesIn(
  audit: readonly AuditFile[],
  start: string,
  end: string,
): Array<{ entry: AuditEntry; logType: string }> {
  return audit
    .filter((f) => inWindow(f, start, end))
    .flatMap((f) =>
      f.entries.map((entry) => ({
        entry,
        logType: f.tableId.endsWith('data_access') ? 'data_access' : 'activity',
      })),
    );
}

/** usage_daily rows: principal × permission × day × project, sorted. */
export function expectedUsage(
  audit: readonly AuditFile[],
  start: string,
  end: string,
  fallbackAccount: string,
): ExpectedUsage[] {
  const out = new Map<string, ExpectedUsage>();
  for (const { entry } of entriesIn(audit, start, end)) {
    const email = entry.protopayload_auditlog.authenticationInfo.principalEmail;
    if (!email) continue;
    for (const check of entry.protopayload_auditlog.authorizationInfo ?? []) {
      if (!check.permission) continue;
      const row: UsageKey = {
        principal_id: member(email),
        action: check.permission,
        day: entry.timestamp.slice(0, 10),
        account_id: entry.resource.labels.project_id ?? fallbackAccount,
      };
      const key = JSON.stringify(row);
      const current = out.get(key) ?? { ...row, calls: 0, denied: 0 };
      current.calls++;
      if (check.granted !== true) current.denied++;
      out.set(key, current);
    }
  }
  return [...out.values()].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** Entries without authorizationInfo in the window (one unmapped "(no permission)" call each). */
export function expectedNoPermission(
  audit: readonly AuditFile[],
  start: string,
  end: string,
): number {
  return entriesIn(audit, start, end).filter(
    ({ entry }) => (entry.protopayload_auditlog.authorizationInfo ?? []).length === 0,
  ).length;
}

/** Project × day pairs with Data Access entries. */
export function dataAccessDays(
  audit: readonly AuditFile[],
  start: string,
  end: string,
): Set<string> {
  const out = new Set<string>();
  for (const { entry, logType } of entriesIn(audit, start, end)) {
    if (logType === 'data_access')
      out.add(`${entry.resource.labels.project_id}|${entry.timestamp.slice(0, 10)}`);
  }
  return out;
}

/** Rewrites one day file of a running fixture world (the fixture reads day files per query). */
export function rewriteDayFile(dir: string, file: AuditFile): void {
  const path = join(
    dir,
    'gcp',
    'audit',
    file.projectId,
    file.datasetId,
    file.tableId,
    `${file.day}.jsonl.gz`,
  );
  writeFileSync(path, gzipSync(`${file.entries.map((e) => JSON.stringify(e)).join('\n')}\n`));
}
