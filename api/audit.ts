import { userInfo } from 'node:os';
import type { Db } from '../model/db.ts';

export type AuditOutcome = 'success' | 'denied' | 'failed';

export interface AuditEntry {
  actor: string;
  role: string | null;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  details: Record<string, unknown>;
  requestId: string | null;
  sourceIp: string | null;
}

/** Record one mutation or export (or an attempt at one). Never pass tokens or credentials. */
export async function writeAudit(db: Db, entry: AuditEntry): Promise<void> {
  await db.exec(
    `INSERT INTO audit_log (occurred_at, actor, role, action, target, outcome, details, request_id, source_ip)
     VALUES (now(), $actor, $role, $action, $target, $outcome, $details, $requestId, $sourceIp)`,
    {
      actor: entry.actor,
      role: entry.role,
      action: entry.action,
      target: entry.target,
      outcome: entry.outcome,
      details: JSON.stringify(entry.details),
      requestId: entry.requestId,
      sourceIp: entry.sourceIp,
    },
  );
}

/** The actor name for audit rows written by the CLI. */
export function cliActor(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the uid still identifies the operator.
    user = `uid-${process.getuid?.() ?? 'unknown'}`;
  }
  return `cli:${user}`;
}
