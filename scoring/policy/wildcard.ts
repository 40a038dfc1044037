/**
 * IAM action wildcards: `*` matches any run of characters (also none), `?` exactly one, and
 * matching ignores case, as IAM does for action names.
 */

export function hasWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/** A case-insensitive, anchored RegExp for one IAM wildcard pattern. */
export function wildcardToRegExp(pattern: string): RegExp {
  let source = '^';
  for (const ch of pattern) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[\\^$.|+()[\]{}/-]/g, '\\$&');
  }
  return new RegExp(`${source}$`, 'i');
}

/** Whether `value` matches the IAM wildcard `pattern` (case-insensitive). */
export function matchesWildcard(pattern: string, value: string): boolean {
  if (!hasWildcard(pattern)) return pattern.toLowerCase() === value.toLowerCase();
  return wildcardToRegExp(pattern).test(value);
}
