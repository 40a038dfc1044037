import {
  GenerateCredentialReportCommand,
  GetCredentialReportCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { IngestError } from '../../../lib/errors.ts';
import type { CredentialRow, InventoryRows } from '../../../model/rows.ts';

/**
 * The IAM credential report: console passwords, MFA and access key last use per user.
 */

// --- get -------------------------------------------------------------------------------------

export interface CredentialReportOptions {
  /** Polls while the report is being generated. */
  maxPolls?: number;
  pollDelayMs?: number;
}

export async function getCredentialReport(
  client: IAMClient,
  options: CredentialReportOptions = {},
): Promise<string> {
  const maxPolls = options.maxPolls ?? 30;
  for (let i = 0; i < maxPolls; i++) {
    const generated = await client.send(new GenerateCredentialReportCommand({}));
    if (generated.State === 'COMPLETE') break;
    await new Promise((r) => setTimeout(r, options.pollDelayMs ?? Math.min(200 * 2 ** i, 2000)));
  }
  const report = await client.send(new GetCredentialReportCommand({}));
  if (!report.Content)
    throw new IngestError('GetCredentialReport returned no content', {
      call: 'GetCredentialReport',
    });
  return Buffer.from(report.Content).toString('utf8');
}

// --- transform -------------------------------------------------------------------------------

/** Parse the report's CSV (no quoted fields in this format, but be strict about the header). */
export function parseCredentialReport(csv: string): Array<Record<string, string>> {
  const lines = csv.split(/\r?\n/).filter((l) => l.length > 0);
  const header = lines[0]?.split(',');
  if (!header?.includes('arn') || !header.includes('password_enabled')) {
    throw new IngestError('credential report has no recognisable header', {
      call: 'GetCredentialReport',
    });
  }
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    const row: Record<string, string> = {};
    header.forEach((h, i) => {
      row[h] = cells[i] ?? '';
    });
    return row;
  });
}

function timestamp(value: string | undefined): string | null {
  if (!value || value === 'N/A' || value === 'no_information' || value === 'not_supported')
    return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

function latest(...values: Array<string | null>): string | null {
  return (
    values
      .filter((v): v is string => v !== null)
      .sort()
      .at(-1) ?? null
  );
}

/**
 * Pure: fold the credential report into the account's principals (console access, MFA,
 * last use) and add credential rows for passwords and access keys.
 */
export function applyCredentialReport(
  rows: InventoryRows,
  report: Array<Record<string, string>>,
  assessmentId: string,
): InventoryRows {
  const byArn = new Map(report.map((r) => [r.arn, r]));
  const credentials: CredentialRow[] = [...rows.credentials];
  const principals = rows.principals.map((p) => {
    if (p.kind !== 'user') return p;
    const r = byArn.get(p.principal_id);
    if (!r) return p;
    const console = r.password_enabled === 'true';
    const passwordUsed = timestamp(r.password_last_used);
    const keyUsed: Array<string | null> = [];
    for (const n of [1, 2] as const) {
      const active = r[`access_key_${n}_active`];
      const rotated = timestamp(r[`access_key_${n}_last_rotated`]);
      if (active !== 'true' && !rotated) continue;
      const used = timestamp(r[`access_key_${n}_last_used_date`]);
      keyUsed.push(used);
      credentials.push({
        assessment_id: assessmentId,
        credential_id: `${p.principal_id}#access-key-${n}`,
        principal_id: p.principal_id,
        kind: 'access-key',
        status: active === 'true' ? 'Active' : 'Inactive',
        created_at: rotated,
        last_used_at: used,
        last_used_service: r[`access_key_${n}_last_used_service`]?.replace('N/A', '') || null,
        last_used_region: r[`access_key_${n}_last_used_region`]?.replace('N/A', '') || null,
      });
    }
    if (console) {
      credentials.push({
        assessment_id: assessmentId,
        credential_id: `${p.principal_id}#password`,
        principal_id: p.principal_id,
        kind: 'password',
        status: 'Active',
        created_at: timestamp(r.password_last_changed),
        last_used_at: passwordUsed,
        last_used_service: null,
        last_used_region: null,
      });
    }
    const lastUsed = latest(passwordUsed, ...keyUsed);
    const hasKeys = keyUsed.length > 0;
    return {
      ...p,
      console_access: console,
      mfa_enabled: r.mfa_active === 'true',
      identity_type: !console && hasKeys ? ('machine' as const) : p.identity_type,
      last_used_at: latest(p.last_used_at, lastUsed),
      last_used_source:
        lastUsed && lastUsed === latest(p.last_used_at, lastUsed)
          ? 'credential-report'
          : p.last_used_source,
    };
  });
  return { ...rows, principals, credentials };
}
