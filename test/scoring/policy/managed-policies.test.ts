import { describe, expect, it } from 'vitest';
import { getAwsCatalog } from '../../../scoring/catalog/aws.ts';
import { atLeast } from '../../../scoring/catalog/levels.ts';
import { ActionExpander } from '../../../scoring/policy/expand.ts';
import { parsePolicyDocument } from '../../../scoring/policy/parse.ts';
import { HAS_REALDATA, type ManagedPolicyLine, readJsonLinesGz } from '../../helpers/realdata.ts';

/**
 * Actions AWS's ReadOnlyAccess grants that stay at WRITE after our corrections, and why we keep
 * them there rather than lower them.
 */
const READ_ONLY_ACCESS_EXCEPTIONS = [
  {
    action: 'athena:GetSessionEndpoint',
    reason:
      'Returns an endpoint and an authentication token for a Spark session: a credential, so not lowered.',
  },
  {
    action: 'cognito-idp:GetTokensFromRefreshToken',
    reason: 'Issues new user pool tokens from a refresh token: credential minting, so not lowered.',
  },
  {
    action: 's3express:CreateSession',
    reason:
      'Creates the session token that authorizes object reads and writes on directory buckets; the session mode, not the action, limits it to reads.',
  },
];

describe.skipIf(!HAS_REALDATA)('expansion of the real AWS managed policies', () => {
  const policies = HAS_REALDATA
    ? readJsonLinesGz<ManagedPolicyLine>('aws', 'managed-policies.jsonl.gz')
    : [];
  const catalog = getAwsCatalog();
  const byName = new Map(policies.map((p) => [p.name, p]));
  const allowed = (name: string) => {
    const p = byName.get(name);
    if (!p) throw new Error(`managed policy ${name} is missing from the realdata file`);
    return catalog.expander.allowedActions(parsePolicyDocument(p.document));
  };

  it('parses every one of the 1,643 documents and expands each distinct pattern once', () => {
    expect(policies).toHaveLength(1643);
    const expander = new ActionExpander(catalog.expander.allActions());
    const distinct = new Set<string>();
    for (const p of policies) {
      const parsed = parsePolicyDocument(p.document);
      for (const st of parsed.statements)
        for (const a of st.actions ?? st.notActions ?? []) distinct.add(a.toLowerCase());
      for (const st of parsed.statements) expander.expandStatement(st);
    }
    expect(expander.cachedPatterns).toBe(distinct.size);
  });

  it('finds that AdministratorAccess grants every action', () => {
    expect(allowed('AdministratorAccess').size).toBe(catalog.size);
  });

  it('finds that PowerUserAccess grants no iam:, organizations: or account: action except those it names', () => {
    const named = allowed('PowerUserAccess');
    const iam = [...named].filter((a) => a.startsWith('iam:')).sort();
    expect(iam).toEqual([
      'iam:CreateServiceLinkedRole',
      'iam:DeleteServiceLinkedRole',
      'iam:ListRoles',
    ]);
    const doc = JSON.stringify(byName.get('PowerUserAccess')?.document);
    for (const a of named) {
      if (a.startsWith('organizations:') || a.startsWith('account:')) expect(doc).toContain(a);
    }
    expect(named.size).toBeGreaterThan(catalog.size / 2);
  });

  it('finds that ReadOnlyAccess grants nothing at WRITE or above except the listed exceptions', () => {
    const writeOrMore = [...allowed('ReadOnlyAccess')]
      .filter((a) => atLeast(catalog.find(a)!.level, 'WRITE'))
      .sort();
    expect(writeOrMore).toEqual(READ_ONLY_ACCESS_EXCEPTIONS.map((e) => e.action).sort());
  });
});
