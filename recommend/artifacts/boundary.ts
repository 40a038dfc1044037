import { PolicyError } from '../../lib/errors.ts';
import type { ActionExpander } from '../../scoring/policy/expand.ts';
import { POLICY_LIMITS } from '../limits.ts';
import {
  type ActionSet,
  minimizeActions,
  type PackedDocument,
  type PackItem,
  packStatements,
} from '../minimize.ts';
import { contentHash, rawStatements } from './statements.ts';

/**
 * Permissions boundaries. A boundary caps what identity policies can grant: the principal may do
 * only what both allow, and an explicit Deny in the boundary refuses outright.
 *
 * - Quarantine: one statement denying everything. Shared by every quarantined principal of an
 *   account (`AccessDiscoveryQuarantine`), since its content never varies.
 * - Custom quarantine: keeps everything the principal may do today and denies its unused
 *   privileged actions. Without an existing boundary it is "Allow *" plus the deny. With one,
 *   the new boundary must encode existing ∩ (everything except the unused privileged actions):
 *   it copies every statement of the existing boundary verbatim (so for any action it does not
 *   deny, it decides exactly as the old boundary did, conditions and resources included) and adds
 *   the deny statements. The proof then checks, action by action, that the effective set after
 *   is the effective set before minus exactly those actions.
 */

export const QUARANTINE_POLICY_NAME = 'AccessDiscoveryQuarantine';
export const QUARANTINE_DESCRIPTION =
  'Access Discovery quarantine boundary: denies every action. Remove the boundary to restore access.';

export function quarantineBoundaryDocument() {
  return {
    Version: '2012-10-17' as const,
    Statement: [
      { Sid: 'AccessDiscoveryQuarantineDenyAll', Effect: 'Deny', Action: '*', Resource: '*' },
    ],
  };
}

/**
 * What a deny list may cover besides the actions it must deny: actions the principal cannot
 * perform today at the same privilege level or higher. A deny never reaches below the level of
 * what it removes, and never touches an action the principal can perform and keeps.
 */
export function denyForbidSet(
  deny: ReadonlySet<string>,
  effective: ReadonlySet<string>,
  levelRankOf: (action: string) => number,
): ActionSet {
  let floor = 5;
  for (const a of deny) floor = Math.min(floor, levelRankOf(a));
  return {
    has: (action) => !deny.has(action) && (effective.has(action) || levelRankOf(action) < floor),
  };
}

export interface CustomQuarantineInput {
  expander: ActionExpander;
  /** Unused privileged actions to deny (granted today, observable, not used, not NOREPO). */
  deny: ReadonlySet<string>;
  /** Actions the deny must not cover (see {@link denyForbidSet}). */
  forbid: ActionSet;
  /** The current boundary's document, when the principal has one. */
  existingBoundary?: { policyId: string; document: unknown } | undefined;
  principalName: string;
}

export interface CustomQuarantineBoundary {
  document: PackedDocument['document'];
  chars: number;
  denyPatterns: string[];
  policyName: string;
}

export function customQuarantineBoundary(input: CustomQuarantineInput): CustomQuarantineBoundary {
  const { patterns } = minimizeActions(input.expander, input.deny, input.forbid);
  const items: PackItem[] = [];
  if (input.existingBoundary) {
    for (const statement of rawStatements(input.existingBoundary.document)) {
      items.push({ verbatim: statement });
    }
  } else {
    items.push({
      verbatim: {
        Sid: 'AllowWithinIdentityPolicies',
        Effect: 'Allow',
        Action: '*',
        Resource: '*',
      },
    });
  }
  items.push({ sid: 'DenyUnusedPrivileged', effect: 'Deny', actions: patterns });
  const docs = packStatements(items, POLICY_LIMITS.managed);
  if (docs.length !== 1) {
    throw new PolicyError(
      `the custom quarantine boundary needs ${docs.length} policies of ${POLICY_LIMITS.managed} characters, and a principal has one boundary`,
      { patterns: patterns.length },
    );
  }
  const doc = docs[0]!;
  return {
    document: doc.document,
    chars: doc.chars,
    denyPatterns: patterns,
    policyName: customQuarantinePolicyName(input.principalName, doc.document),
  };
}

/** Per principal and content: the same content reuses the policy, new content gets a new one. */
export function customQuarantinePolicyName(principalName: string, document: unknown): string {
  const tail = `-${contentHash(document)}`;
  const base = `AccessDiscoveryCQ-${principalName.replace(/[^\w+=,.@-]/g, '-')}`;
  return `${base.slice(0, 128 - tail.length)}${tail}`;
}
