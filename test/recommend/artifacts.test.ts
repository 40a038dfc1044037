import { describe, expect, it } from 'vitest';
import { addPolicySteps, boundarySteps } from '../../recommend/artifacts/aws-scripts.ts';
import {
  customQuarantineBoundary,
  customQuarantinePolicyName,
  denyForbidSet,
} from '../../recommend/artifacts/boundary.ts';
import { renderAwsCli } from '../../recommend/artifacts/delete-script.ts';
import {
  customRoleId,
  customRolePlan,
  removeBindingStep,
  renderGcloud,
} from '../../recommend/artifacts/gcp.ts';
import { kebab, shellQuote } from '../../recommend/artifacts/statements.ts';
import { getAwsCatalog } from '../../scoring/catalog/index.ts';
import { parsePolicyDocument } from '../../scoring/policy/parse.ts';

const catalog = getAwsCatalog();

describe('AWS CLI rendering', () => {
  it('spells API names as the CLI does and quotes values for the shell', () => {
    expect(kebab('ListSSHPublicKeys')).toBe('list-ssh-public-keys');
    expect(kebab('DeactivateMFADevice')).toBe('deactivate-mfa-device');
    expect(kebab('PutUserPermissionsBoundary')).toBe('put-user-permissions-boundary');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it('reads policy documents from the files beside the script', () => {
    const steps = [
      ...boundarySteps({ kind: 'role', name: 'app' }, 'aws', '100000000002', {
        name: 'AccessDiscoveryQuarantine',
        document: { Version: '2012-10-17', Statement: [] },
        description: 'quarantine',
      }),
      ...addPolicySteps({ kind: 'user', name: 'bob' }, 'aws', '100000000002', [
        { name: 'deny', kind: 'inline-user', document: {}, description: 'd' },
      ]),
    ];
    const text = renderAwsCli(steps, { title: 't', accountId: '100000000002' });
    expect(text).toContain('here="$(cd "$(dirname "$0")" && pwd)"');
    expect(text).toContain(
      `aws iam create-policy --policy-name 'AccessDiscoveryQuarantine' --policy-document "file://$here/AccessDiscoveryQuarantine.json" --description 'quarantine'`,
    );
    expect(text).toContain(
      `aws iam put-role-permissions-boundary --role-name 'app' --permissions-boundary 'arn:aws:iam::100000000002:policy/AccessDiscoveryQuarantine'`,
    );
    expect(text).toContain(
      `aws iam put-user-policy --user-name 'bob' --policy-name 'deny' --policy-document "file://$here/deny.json"`,
    );
    expect(text).toContain('*EntityAlreadyExists*');
  });
});

describe('custom quarantine boundary', () => {
  it('names the policy by principal and content, within IAM limits', () => {
    const a = customQuarantinePolicyName('x'.repeat(200), { a: 1 });
    expect(a.length).toBe(128);
    expect(a).toMatch(/^AccessDiscoveryCQ-x+-[0-9a-f]{8}$/);
    expect(customQuarantinePolicyName('bob', { a: 1 })).not.toBe(
      customQuarantinePolicyName('bob', { a: 2 }),
    );
  });

  it('keeps an existing boundary with its Sids, and renames a colliding deny Sid', () => {
    const deny = new Set(['iam:CreateUser']);
    const effective = new Set(['iam:CreateUser', 'iam:GetUser']);
    const boundary = customQuarantineBoundary({
      expander: catalog.expander,
      deny,
      forbid: denyForbidSet(deny, effective, (a) => catalog.find(a)!.levelRank),
      existingBoundary: {
        policyId: 'b',
        document: {
          Version: '2012-10-17',
          Statement: {
            Sid: 'DenyUnusedPrivileged',
            Effect: 'Allow',
            Action: 'iam:*',
            Resource: '*',
          },
        },
      },
      principalName: 'bob',
    });
    const sids = boundary.document.Statement.map((s) => s.Sid);
    expect(sids[0]).toBe('DenyUnusedPrivileged');
    expect(new Set(sids).size).toBe(sids.length);
    const parsed = parsePolicyDocument(boundary.document);
    const denied = catalog.expander.expandStatement(parsed.statements[1]!);
    expect(denied.has('iam:CreateUser')).toBe(true);
    expect(denied.has('iam:GetUser')).toBe(false);
  });
});

describe('gcloud rendering', () => {
  it('removes an unconditional binding with --condition=None and a conditional one from a file', () => {
    const text = renderGcloud(
      [
        removeBindingStep({
          resource: 'folders/2001',
          role: 'roles/editor',
          member: 'user:a@x.example',
          condition: null,
        }),
        removeBindingStep({
          resource: 'organizations/123456789012',
          role: 'roles/viewer',
          member: 'group:g@x.example',
          condition: { title: 'office hours', expression: 'request.time.getHours("UTC") < 18' },
        }),
        removeBindingStep({
          resource: '//storage.googleapis.com/b',
          role: 'roles/storage.admin',
          member: 'user:a@x.example',
          condition: null,
        }),
      ],
      'bindings',
    );
    expect(text).toContain(
      `gcloud resource-manager folders remove-iam-policy-binding '2001' --member='user:a@x.example' --role='roles/editor' --condition=None`,
    );
    expect(text).toContain(`expression: "request.time.getHours(\\"UTC\\") < 18"`);
    expect(text).toContain(
      `gcloud organizations remove-iam-policy-binding '123456789012' --member='group:g@x.example' --role='roles/viewer' --condition-from-file="$tmp/condition-1.yaml"`,
    );
    expect(text).toContain('# by hand: removeIamPolicyBinding role roles/storage.admin');
  });

  it('creates the custom role, binds it, then removes the old binding, in that order', () => {
    const binding = {
      resource: 'projects/p-1',
      role: 'roles/storage.admin',
      member: 'serviceAccount:s@p-1.iam.gserviceaccount.com',
      condition: null,
    };
    const id = customRoleId('ad_storage.admin', 'abcd1234');
    expect(id).toBe('ad_storage.admin_abcd1234');
    const steps = customRolePlan({
      parent: 'projects/p-1',
      roleId: id,
      title: 'storage.admin (right-sized)',
      description: 'used',
      permissions: ['storage.objects.get'],
      replaces: [binding],
    });
    expect(steps.map((s) => (s.kind === 'call' ? s.operation : ''))).toEqual([
      'projects.roles.create',
      'addIamPolicyBinding',
      'removeIamPolicyBinding',
    ]);
    const text = renderGcloud(steps, 'custom role');
    const order = [
      'gcloud iam roles create',
      'add-iam-policy-binding',
      'remove-iam-policy-binding',
    ].map((t) => text.indexOf(t));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(text).toContain(`--role='projects/p-1/roles/ad_storage.admin_abcd1234'`);
  });
});
