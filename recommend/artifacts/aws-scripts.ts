import type { PlanStep } from '../types.ts';

/**
 * Plans (and so AWS CLI scripts) for the policy artifacts. Every policy document is also an
 * artifact named `<policy name>.json`; the scripts read it from beside themselves.
 *: put a boundary, attach a deny rule,
 * replace a policy by its right-sized version. The remediation service applies boundaries and
 * deny rules itself; these scripts are for people who prefer to run the change by hand.
 */

export type IamEntity = { kind: 'user' | 'role' | 'group'; name: string };

const ENTITY_PARAM = { user: 'UserName', role: 'RoleName', group: 'GroupName' } as const;
const ENTITY_WORD = { user: 'User', role: 'Role', group: 'Group' } as const;

export function entityParameter(entity: IamEntity): Record<string, string> {
  return { [ENTITY_PARAM[entity.kind]]: entity.name };
}

/** `arn:<partition>:iam::<account>:policy/<name>` for a policy created in the principal's account. */
export function policyArn(partition: string, accountId: string, name: string): string {
  return `arn:${partition}:iam::${accountId}:policy/${name}`;
}

/** The partition of an ARN (`aws`, `aws-us-gov`, `aws-cn`). */
export function partitionOf(arn: string): string {
  return arn.split(':')[1] || 'aws';
}

export function createPolicyStep(name: string, document: unknown, description: string): PlanStep {
  return {
    kind: 'call',
    service: 'iam',
    operation: 'CreatePolicy',
    parameters: {
      PolicyName: name,
      PolicyDocument: JSON.stringify(document),
      Description: description,
    },
    tolerate: ['EntityAlreadyExists', 'EntityAlreadyExistsException'],
    files: { PolicyDocument: `${name}.json` },
    comment: `create the managed policy ${name} (an existing one of that name is reused)`,
  };
}

export function boundarySteps(
  entity: IamEntity,
  partition: string,
  accountId: string,
  policy: { name: string; document: unknown; description: string },
): PlanStep[] {
  if (entity.kind === 'group') throw new RangeError('groups cannot have a permissions boundary');
  return [
    createPolicyStep(policy.name, policy.document, policy.description),
    {
      kind: 'call',
      service: 'iam',
      operation: `Put${ENTITY_WORD[entity.kind]}PermissionsBoundary`,
      parameters: {
        ...entityParameter(entity),
        PermissionsBoundary: policyArn(partition, accountId, policy.name),
      },
      comment: `set it as the permissions boundary of ${entity.kind} ${entity.name}`,
    },
  ];
}

export interface PolicyToAdd {
  name: string;
  kind: 'managed' | 'inline-user' | 'inline-role' | 'inline-group';
  document: unknown;
  description: string;
}

/** Add policies to a principal: inline ones put, managed ones created and attached. */
export function addPolicySteps(
  entity: IamEntity,
  partition: string,
  accountId: string,
  policies: PolicyToAdd[],
): PlanStep[] {
  const steps: PlanStep[] = [];
  const word = ENTITY_WORD[entity.kind];
  for (const p of policies) {
    if (p.kind === 'managed') {
      steps.push(createPolicyStep(p.name, p.document, p.description), {
        kind: 'call',
        service: 'iam',
        operation: `Attach${word}Policy`,
        parameters: {
          ...entityParameter(entity),
          PolicyArn: policyArn(partition, accountId, p.name),
        },
        comment: `attach ${p.name} to ${entity.kind} ${entity.name}`,
      });
    } else {
      steps.push({
        kind: 'call',
        service: 'iam',
        operation: `Put${word}Policy`,
        parameters: {
          ...entityParameter(entity),
          PolicyName: p.name,
          PolicyDocument: JSON.stringify(p.document),
        },
        files: { PolicyDocument: `${p.name}.json` },
        comment: `put the inline policy ${p.name} on ${entity.kind} ${entity.name}`,
      });
    }
  }
  return steps;
}

/** Remove the policy being replaced: detach a managed one, delete an inline one. */
export function removePolicyStep(
  entity: IamEntity,
  policy: { policyId: string; name: string; inline: boolean },
): PlanStep {
  const word = ENTITY_WORD[entity.kind];
  return policy.inline
    ? {
        kind: 'call',
        service: 'iam',
        operation: `Delete${word}Policy`,
        parameters: { ...entityParameter(entity), PolicyName: policy.name },
        comment: `delete the inline policy ${policy.name} it replaces`,
      }
    : {
        kind: 'call',
        service: 'iam',
        operation: `Detach${word}Policy`,
        parameters: { ...entityParameter(entity), PolicyArn: policy.policyId },
        comment: `detach ${policy.name}, which it replaces (the policy itself is left for its other users)`,
      };
}
