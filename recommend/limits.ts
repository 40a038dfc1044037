/**
 * IAM policy size quotas. IAM counts the characters of a policy document with whitespace
 * excluded; inline quotas are per principal (the sum of all its inline policies).
 */
export const POLICY_LIMITS = {
  managed: 6144,
  'inline-role': 10240,
  'inline-group': 5120,
  'inline-user': 2048,
} as const;

export type PolicyLimitKind = keyof typeof POLICY_LIMITS;

/** Managed policies IAM lets one user, role or group have attached (the default quota). */
export const MANAGED_POLICIES_PER_ENTITY = 10;
/** The most that quota can be raised to. */
export const MANAGED_POLICIES_MAX = 20;

/** Characters IAM counts for a document: its JSON text without whitespace. */
export function policyChars(document: unknown): number {
  const text = typeof document === 'string' ? document : JSON.stringify(document);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // space, tab, newline, carriage return: the whitespace JSON allows between tokens.
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) n++;
  }
  return n;
}

export function inlineLimitKind(
  principalKind: string,
): 'inline-user' | 'inline-role' | 'inline-group' {
  switch (principalKind) {
    case 'user':
      return 'inline-user';
    case 'role':
      return 'inline-role';
    case 'group':
      return 'inline-group';
    default:
      throw new RangeError(`no inline policy quota for principal kind ${principalKind}`);
  }
}

/** IAM names for policies: letters, digits and `+=,.@_-`, at most 128 characters. */
export function iamPolicyName(base: string, suffix = ''): string {
  const clean = base.replace(/[^\w+=,.@-]/g, '-');
  const room = 128 - suffix.length;
  return `${clean.slice(0, Math.max(1, room))}${suffix}`;
}
