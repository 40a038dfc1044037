import type { Db } from '../model/db.ts';
import { insertRows } from '../model/insert.ts';
import {
  type AccountRow,
  emptyInventory,
  type InventoryRows,
  type OrgNodeRow,
  type PolicyRow,
  type PolicyTargetRow,
} from '../model/rows.ts';

/**
 * Load inventory snapshots. Each account's rows are replaced as a unit inside one
 * transaction, so re-running an account (after a crash or a retry) never duplicates or mixes
 * rows. Policies shared by accounts (AWS managed policies, GCP predefined roles) are stored
 * once per assessment.
 */

async function insertSharedPolicies(
  tx: Db,
  assessmentId: string,
  policies: PolicyRow[],
): Promise<void> {
  if (policies.length === 0) return;
  const existing = await tx.all<{ policy_id: string }>(
    'SELECT policy_id FROM policy WHERE assessment_id = $assessment_id AND account_id IS NULL',
    { assessment_id: assessmentId },
  );
  const have = new Set(existing.map((p) => p.policy_id));
  const fresh = new Map<string, PolicyRow>();
  for (const p of policies) if (!have.has(p.policy_id)) fresh.set(p.policy_id, p);
  await insertRows(tx, 'policy', [...fresh.values()]);
}

/** Replace one account's principals, policies, attachments and credentials in a snapshot. */
export async function loadAccountInventory(
  db: Db,
  assessmentId: string,
  accountId: string,
  rows: InventoryRows,
): Promise<void> {
  await db.transaction(async (tx) => {
    const ids = { assessment_id: assessmentId, account_id: accountId };
    await tx.exec(
      `DELETE FROM principal_policy WHERE assessment_id = $assessment_id AND principal_id IN
         (SELECT principal_id FROM principal WHERE assessment_id = $assessment_id AND account_id = $account_id)`,
      ids,
    );
    await tx.exec(
      `DELETE FROM credential WHERE assessment_id = $assessment_id AND principal_id IN
         (SELECT principal_id FROM principal WHERE assessment_id = $assessment_id AND account_id = $account_id)`,
      ids,
    );
    await tx.exec(
      'DELETE FROM principal WHERE assessment_id = $assessment_id AND account_id = $account_id',
      ids,
    );
    await tx.exec(
      "DELETE FROM policy WHERE assessment_id = $assessment_id AND account_id = $account_id AND kind <> 'scp'",
      ids,
    );
    await insertRows(tx, 'principal', rows.principals);
    await insertRows(
      tx,
      'policy',
      rows.policies.filter((p) => p.account_id !== null),
    );
    await insertSharedPolicies(
      tx,
      assessmentId,
      rows.policies.filter((p) => p.account_id === null),
    );
    await insertRows(tx, 'principal_policy', dedupe(rows.attachments));
    await insertRows(tx, 'credential', rows.credentials);
  });
}

function dedupe<
  T extends { principal_id: string; policy_id: string; via: string; via_ref: string },
>(rows: T[]): T[] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const key = `${r.principal_id}\u0000${r.policy_id}\u0000${r.via}\u0000${r.via_ref}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Replace the organization-level rows of a snapshot: nodes, accounts, SCPs and their targets. */
export async function loadOrganization(
  db: Db,
  assessmentId: string,
  rows: {
    nodes: OrgNodeRow[];
    accounts: AccountRow[];
    policies: PolicyRow[];
    targets: PolicyTargetRow[];
  },
): Promise<void> {
  await db.transaction(async (tx) => {
    const ids = { assessment_id: assessmentId };
    await tx.exec('DELETE FROM org_node WHERE assessment_id = $assessment_id', ids);
    await tx.exec('DELETE FROM account WHERE assessment_id = $assessment_id', ids);
    await tx.exec('DELETE FROM policy_target WHERE assessment_id = $assessment_id', ids);
    await tx.exec("DELETE FROM policy WHERE assessment_id = $assessment_id AND kind = 'scp'", ids);
    await insertRows(tx, 'org_node', rows.nodes);
    await insertRows(tx, 'account', rows.accounts);
    await insertRows(tx, 'policy', rows.policies);
    await insertRows(tx, 'policy_target', rows.targets);
  });
}

/** Record the outcome of one account's inventory in the snapshot. */
export async function setAccountStatus(
  db: Db,
  assessmentId: string,
  accountId: string,
  status: AccountRow['inventory_status'],
  error: string | null,
): Promise<void> {
  await db.exec(
    `UPDATE account SET inventory_status = $status, inventory_error = $error
     WHERE assessment_id = $assessment_id AND account_id = $account_id`,
    { status, error, assessment_id: assessmentId, account_id: accountId },
  );
}

/**
 * Merge inventories (several export files may describe the same account) and split them by
 * the account each principal and policy belongs to. The first occurrence of an id wins.
 * Shared policies (no account) travel with every account that attaches them.
 */
export function splitByAccount(inventories: InventoryRows[]): Map<string, InventoryRows> {
  const out = new Map<string, InventoryRows>();
  const of = (account: string): InventoryRows => {
    let rows = out.get(account);
    if (!rows) {
      rows = emptyInventory();
      out.set(account, rows);
    }
    return rows;
  };
  const principalAccount = new Map<string, string>();
  const seenPolicies = new Set<string>();
  for (const inv of inventories) {
    for (const p of inv.principals) {
      if (principalAccount.has(p.principal_id)) continue;
      principalAccount.set(p.principal_id, p.account_id);
      of(p.account_id).principals.push(p);
    }
  }
  const shared = new Map<string, PolicyRow>();
  for (const inv of inventories) {
    for (const p of inv.policies) {
      if (p.account_id === null) {
        if (!shared.has(p.policy_id)) shared.set(p.policy_id, p);
        continue;
      }
      const key = `${p.account_id}\u0000${p.policy_id}`;
      if (seenPolicies.has(key)) continue;
      seenPolicies.add(key);
      of(p.account_id).policies.push(p);
    }
    for (const a of inv.attachments) {
      const account = principalAccount.get(a.principal_id);
      if (!account) continue;
      const rows = of(account);
      rows.attachments.push(a);
      const sharedPolicy = shared.get(a.policy_id);
      if (sharedPolicy && !rows.policies.some((p) => p.policy_id === a.policy_id))
        rows.policies.push(sharedPolicy);
    }
    for (const c of inv.credentials) {
      const account = principalAccount.get(c.principal_id);
      if (account) of(account).credentials.push(c);
    }
  }
  return out;
}
