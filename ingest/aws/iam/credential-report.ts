import {
  GenerateCredentialReportCommand,
  GetCredentialReportCommand,
  type IAMClient,
  paginateListAccessKeys,
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

export interface AccessKeyInfo {
  accessKeyId: string;
  createDate: string | null;
  status: string | null;
}

/** Users named by the report that hold access keys (active, or rotated at some point). */
export function usersWithKeys(report: Array<Record<string, string>>): string[] {
  return report
    .filter((r) =>
      [1, 2].some(
        (n) =>
          r[`access_key_${n}_active`] === 'true' ||
          timestamp(r[`access_key_${n}_last_rotated`]) !== null,
      ),
    )
    .map((r) => r.user ?? '')
    .filter((u) => u !== '' && u !== '<root_account>');
}

/**
 * The access key ids of the given users (ListAccessKeys): the credential report names keys
 * only by slot (access_key_1, access_key_2), remediation and people need their ids.
 */
export async function getAccessKeys(
  client: IAMClient,
  userNames: string[],
  concurrency = 4,
): Promise<Map<string, AccessKeyInfo[]>> {
  const out = new Map<string, AccessKeyInfo[]>();
  let next = 0;
  const worker = async () => {
    while (next < userNames.length) {
      const user = userNames[next++]!;
      const keys: AccessKeyInfo[] = [];
      for await (const page of paginateListAccessKeys({ client }, { UserName: user })) {
        for (const k of page.AccessKeyMetadata ?? []) {
          if (!k.AccessKeyId) continue;
          keys.push({
            accessKeyId: k.AccessKeyId,
            createDate: k.CreateDate ? k.CreateDate.toISOString() : null,
            status: k.Status ?? null,
          });
        }
      }
      out.set(user, keys);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, userNames.length) }, worker));
  return out;
}

// --- transform -------------------------------------------------------------------------------

/**
 * Pure: the key of a report slot: the key created when the slot was last rotated (to the
 * second), else the slot's place among the user's keys by creation date.
 */
function keyOfSlot(
  keys: AccessKeyInfo[] | undefined,
  slot: 1 | 2,
  rotated: string | null,
): string | undefined {
  if (!keys || keys.length === 0) return undefined;
  const second = (iso: string | null) => (iso ? iso.slice(0, 19) : null);
  const exact = keys.find((k) => rotated !== null && second(k.createDate) === second(rotated));
  if (exact) return exact.accessKeyId;
  const sorted = [...keys].sort((a, b) => (a.createDate ?? '').localeCompare(b.createDate ?? ''));
  return sorted[slot - 1]?.accessKeyId;
}

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
  accessKeys: ReadonlyMap<string, AccessKeyInfo[]> = new Map(),
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
        credential_id:
          keyOfSlot(accessKeys.get(r.user ?? ''), n, rotated) ??
          `${p.principal_id}#access-key-${n}`,
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
