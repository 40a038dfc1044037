import { errorMessage } from '../../lib/errors.ts';
import type { Db } from '../../model/db.ts';
import { insertRows } from '../../model/insert.ts';
import { parsePolicyDocumentLenient } from '../policy/parse.ts';

/**
 * Policy documents → `grant` rows (one per statement and action pattern). Parsing is lenient:
 * the statements that validate are kept, and `policy.parse_error` says what was left out, so one
 * bad statement never hides what the others grant.
 */

export interface GrantRow {
  assessment_id: string;
  policy_id: string;
  statement_index: number;
  pattern_index: number;
  sid: string | null;
  effect: 'Allow' | 'Deny';
  action_pattern: string;
  not_action: boolean;
  resources: string[];
  not_resource: boolean;
  has_condition: boolean;
  condition: unknown;
}

export interface PolicyDocumentInput {
  policy_id: string;
  cloud: string;
  document: unknown;
}

export interface GrantTransform {
  grants: GrantRow[];
  /** policy id → why (part of) the document was rejected. */
  errors: Map<string, string>;
}

function gcpPermissions(doc: unknown): string[] | string {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    return 'a GCP role document must be an object with includedPermissions';
  const list = (doc as Record<string, unknown>).includedPermissions;
  if (list === undefined) return [];
  if (!Array.isArray(list) || list.some((p) => typeof p !== 'string'))
    return 'includedPermissions must be a list of permission names';
  return list as string[];
}

/** Pure: documents → grant rows and parse errors. */
export function transformGrants(
  assessmentId: string,
  policies: PolicyDocumentInput[],
): GrantTransform {
  const grants: GrantRow[] = [];
  const errors = new Map<string, string>();
  for (const p of policies) {
    if (p.cloud === 'gcp') {
      const permissions = gcpPermissions(p.document);
      if (typeof permissions === 'string') {
        errors.set(p.policy_id, permissions);
        continue;
      }
      permissions.forEach((permission, i) => {
        grants.push({
          assessment_id: assessmentId,
          policy_id: p.policy_id,
          statement_index: 0,
          pattern_index: i,
          sid: null,
          effect: 'Allow',
          action_pattern: permission,
          not_action: false,
          resources: ['*'],
          not_resource: false,
          has_condition: false,
          condition: null,
        });
      });
      continue;
    }
    let parsed: ReturnType<typeof parsePolicyDocumentLenient>;
    try {
      parsed = parsePolicyDocumentLenient(p.document);
    } catch (err) {
      errors.set(p.policy_id, `cannot parse: ${errorMessage(err)}`);
      continue;
    }
    if (parsed.errors.length > 0) {
      const first = parsed.errors
        .slice(0, 3)
        .map((e) => `${e.path}: ${e.message}`)
        .join('; ');
      const more = parsed.errors.length > 3 ? ` (and ${parsed.errors.length - 3} more)` : '';
      errors.set(p.policy_id, `${first}${more}`);
    }
    for (const st of parsed.policy.statements) {
      const patterns = st.actions ?? st.notActions ?? [];
      patterns.forEach((pattern, i) => {
        grants.push({
          assessment_id: assessmentId,
          policy_id: p.policy_id,
          statement_index: st.index,
          pattern_index: i,
          sid: st.sid ?? null,
          effect: st.effect,
          action_pattern: pattern,
          not_action: st.notActions !== undefined,
          resources: st.resources ?? st.notResources ?? [],
          not_resource: st.notResources !== undefined,
          has_condition: st.condition !== undefined && Object.keys(st.condition).length > 0,
          condition: st.condition ?? null,
        });
      });
    }
  }
  return { grants, errors };
}

/** Replace the grant rows of an assessment and record parse errors on its policies. */
export async function writeGrants(
  db: Db,
  assessmentId: string,
): Promise<{ policies: number; grants: number; rejected: number }> {
  const rows = await db.all<{ policy_id: string; cloud: string; document: string }>(
    'SELECT policy_id, cloud, document::VARCHAR AS document FROM policy WHERE assessment_id = $a ORDER BY policy_id',
    { a: assessmentId },
  );
  const { grants, errors } = transformGrants(
    assessmentId,
    rows.map((r) => ({ policy_id: r.policy_id, cloud: r.cloud, document: JSON.parse(r.document) })),
  );
  await db.exec('DELETE FROM "grant" WHERE assessment_id = $a', { a: assessmentId });
  await insertRows(db, 'grant', grants);
  await db.exec(
    `UPDATE policy SET parse_error = NULL WHERE assessment_id = $a AND parse_error IS NOT NULL
       AND NOT starts_with(parse_error, 'SCP content is not JSON')`,
    { a: assessmentId },
  );
  if (errors.size > 0) {
    await db.exec('CREATE OR REPLACE TEMP TABLE sc_parse_error (policy_id VARCHAR, error VARCHAR)');
    await insertRows(
      db,
      'sc_parse_error',
      [...errors].map(([policy_id, error]) => ({ policy_id, error })),
    );
    await db.exec(
      `UPDATE policy SET parse_error = coalesce(policy.parse_error, e.error) FROM sc_parse_error e
       WHERE policy.assessment_id = $a AND policy.policy_id = e.policy_id`,
      { a: assessmentId },
    );
  }
  return { policies: rows.length, grants: grants.length, rejected: errors.size };
}
