/**
 * The dropdown filters of the dashboard edit the filter text itself, so the filter box stays
 * the one source of truth: a dropdown shows the value of a top-level `field = "value"` term of
 * the filter, and choosing a value replaces that term. The server parses and checks the
 * result; this file only needs to find terms, not to understand the language.
 */

/** Fields the dropdowns edit, with the aliases the filter language accepts for them. */
export const DROPDOWN_FIELDS = {
  type: ['type', 'kind'],
  status: ['status'],
  tier: ['tier'],
  cloud: ['cloud'],
  ignored: ['ignored'],
} as const;
export type DropdownField = keyof typeof DROPDOWN_FIELDS;

const BOOLEAN_FIELDS: ReadonlySet<string> = new Set(['ignored']);

function isWordBoundary(ch: string | undefined): boolean {
  return ch === undefined || /[\s()]/.test(ch);
}

/**
 * The terms joined by top-level `and`, trimmed; `null` when the filter has a top-level `or`
 * (it is then not a list of terms a dropdown could own). An empty filter has no terms.
 */
export function splitConjuncts(filter: string): string[] | null {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  let i = 0;
  while (i < filter.length) {
    const ch = filter[i]!;
    if (ch === '"') {
      i++;
      while (i < filter.length && filter[i] !== '"') i += filter[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0 && isWordBoundary(filter[i - 1])) {
      const word = /^[A-Za-z_]+/.exec(filter.slice(i))?.[0]?.toLowerCase();
      if (word && isWordBoundary(filter[i + word.length])) {
        if (word === 'or') return null;
        if (word === 'and') {
          parts.push(filter.slice(start, i));
          start = i + word.length;
        }
        i += word.length;
        continue;
      }
    }
    i++;
  }
  parts.push(filter.slice(start));
  const trimmed = parts.map((p) => p.trim());
  if (trimmed.length === 1 && trimmed[0] === '') return [];
  return trimmed;
}

function termPattern(field: DropdownField): RegExp {
  const names = DROPDOWN_FIELDS[field].join('|');
  return new RegExp(`^(?:${names})\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|(true|false))$`, 'i');
}

function decodeQuoted(value: string): string {
  try {
    return JSON.parse(`"${value}"`) as string;
  } catch {
    return value;
  }
}

/** The value a dropdown shows: that of the first top-level `field = value` term, or null. */
export function dropdownValue(filter: string, field: DropdownField): string | null {
  const parts = splitConjuncts(filter);
  if (!parts) return null;
  const pattern = termPattern(field);
  for (const part of parts) {
    const m = pattern.exec(part);
    if (m) return m[1] !== undefined ? decodeQuoted(m[1]) : m[2]!.toLowerCase();
  }
  return null;
}

/** The filter with the `field = ...` terms replaced by `field = value` (removed for null). */
export function setDropdown(filter: string, field: DropdownField, value: string | null): string {
  const split = splitConjuncts(filter);
  const parts = split ?? [`(${filter.trim()})`];
  const pattern = termPattern(field);
  const kept = parts.filter((p) => !pattern.test(p));
  if (value !== null) {
    kept.push(
      BOOLEAN_FIELDS.has(field) ? `${field} = ${value}` : `${field} = ${JSON.stringify(value)}`,
    );
  }
  return kept.join(' and ');
}

/** Filters compared the way a person reads them: outside quotes, runs of spaces do not matter. */
export function sameFilter(a: string, b: string): boolean {
  return normalizeFilter(a) === normalizeFilter(b);
}

export function normalizeFilter(filter: string): string {
  let out = '';
  let i = 0;
  while (i < filter.length) {
    const ch = filter[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < filter.length && filter[j] !== '"') j += filter[j] === '\\' ? 2 : 1;
      out += filter.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (/\s/.test(ch)) {
      if (out && !out.endsWith(' ')) out += ' ';
      i++;
      continue;
    }
    out += ch;
    i++;
  }
  return out.trim();
}
