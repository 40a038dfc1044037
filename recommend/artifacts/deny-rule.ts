import { PolicyError } from '../../lib/errors.ts';
import type { ActionExpander } from '../../scoring/policy/expand.ts';
import { iamPolicyName, POLICY_LIMITS } from '../limits.ts';
import {
  type ActionSet,
  minimizeActions,
  type PackedDocument,
  packStatements,
} from '../minimize.ts';
import { contentHash } from './statements.ts';

/**
 * The deny rule of an overprivileged policy's custom quarantine: a policy attached to the
 * principal that denies the policy's unused actions, leaving the policy itself untouched (so
 * other principals that share it are not affected). It is an inline policy when it fits in what
 * is left of the principal's inline quota, else one or more managed policies.
 */

export interface DenyRuleInput {
  expander: ActionExpander;
  policyName: string;
  /** What the rule is for (the policy id): two rules of one principal never share a name. */
  key: string;
  deny: ReadonlySet<string>;
  forbid: ActionSet;
  inlineBudget: { kind: 'inline-user' | 'inline-role' | 'inline-group'; chars: number };
}

export interface DenyRulePolicy {
  name: string;
  kind: 'managed' | 'inline-user' | 'inline-role' | 'inline-group';
  document: PackedDocument['document'];
  chars: number;
  limit: number;
}

export function denyRule(input: DenyRuleInput): { policies: DenyRulePolicy[]; patterns: string[] } {
  const { patterns } = minimizeActions(input.expander, input.deny, input.forbid);
  const items = [{ sid: 'DenyUnused', effect: 'Deny' as const, actions: patterns }];
  const name = iamPolicyName(
    `AccessDiscoveryDeny-${input.policyName}`,
    `-${contentHash(input.key, 6)}`,
  );
  let inline: PackedDocument[] = [];
  try {
    inline = packStatements(items, input.inlineBudget.chars);
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
  }
  if (inline.length === 1) {
    const doc = inline[0]!;
    return {
      patterns,
      policies: [
        {
          name,
          kind: input.inlineBudget.kind,
          document: doc.document,
          chars: doc.chars,
          limit: input.inlineBudget.chars,
        },
      ],
    };
  }
  const docs = packStatements(items, POLICY_LIMITS.managed);
  return {
    patterns,
    policies: docs.map((doc, i) => ({
      name: iamPolicyName(name, docs.length > 1 ? `-${i + 1}` : ''),
      kind: 'managed' as const,
      document: doc.document,
      chars: doc.chars,
      limit: POLICY_LIMITS.managed,
    })),
  };
}
