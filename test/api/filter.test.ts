import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  FIELDS,
  FILTER_LIMITS,
  FilterError,
  filterToSql,
  parseFilter,
} from '../../api/filter/index.ts';
import { quoteFilterString } from '../../api/widgets.ts';

interface ErrorCase {
  name: string;
  input: string;
  position: number;
  expected: string;
}

const errorCases = JSON.parse(
  readFileSync(join(import.meta.dirname, 'filter-errors.json'), 'utf8'),
) as ErrorCase[];

function filterError(input: string): FilterError {
  try {
    filterToSql(input);
  } catch (err) {
    if (err instanceof FilterError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

describe('filter language errors', () => {
  it.each(errorCases)('$name: position and expectation', (c) => {
    const err = filterError(c.input);
    expect(err.position).toBe(c.position);
    expect(err.expected).toContain(c.expected);
    expect(err.message).toContain(`position ${c.position}`);
  });

  it('refuses nesting deeper than the limit, without a stack overflow', () => {
    const deep = `${'('.repeat(FILTER_LIMITS.maxDepth + 1)}risk > 1${')'.repeat(FILTER_LIMITS.maxDepth + 1)}`;
    expect(filterError(deep).message).toMatch(/nests deeper/);
    const nots = `${'not '.repeat(900)}risk > 1`;
    expect(filterError(nots).message).toMatch(/nests deeper/);
  });

  it('refuses too many comparisons, values and characters', () => {
    const many = Array.from({ length: FILTER_LIMITS.maxComparisons + 1 }, () => 'risk > 1').join(
      ' or ',
    );
    expect(filterError(many).message).toMatch(/more than 100 comparisons/);
    const values = Array.from({ length: FILTER_LIMITS.maxValues + 1 }, (_, i) => String(i)).join(
      ', ',
    );
    expect(filterError(`risk in (${values})`).message).toMatch(/more than 500 values/);
    expect(filterError(`principal = "${'x'.repeat(FILTER_LIMITS.maxLength)}"`).message).toMatch(
      /longer than/,
    );
  });
});

describe('filter language compilation', () => {
  it('binds every value and never puts input text into the SQL', () => {
    const hostile = `x" or 1=1 --'; DROP TABLE principal; --`;
    const compiled = filterToSql(
      `principal = ${quoteFilterString(hostile)} or tag[${quoteFilterString(hostile)}] contains "a"`,
    );
    expect(compiled.where).not.toContain('DROP');
    expect(compiled.where).not.toContain("'");
    expect(Object.values(compiled.params)).toContain(hostile);
    expect(Object.values(compiled.params)).toContain(`/${hostile.replaceAll('/', '~1')}`);
  });

  it('reads keywords and fields case-insensitively and accepts "not in" and aliases', () => {
    const a = filterToSql('RISK > 3 AND Type NOT IN ("role") Or NOT ignored = TRUE');
    expect(a.where).toContain('q.risk_score');
    expect(filterToSql('risk_score >= 1').where).toContain('q.risk_score');
    expect(filterToSql('kind not contains "x"').where).toContain('NOT');
  });

  it('treats an empty or blank filter as no filter', () => {
    expect(filterToSql('').where).toBe('TRUE');
    expect(filterToSql('  \n\t ').where).toBe('TRUE');
    expect(parseFilter('')).toBeNull();
  });

  it('decodes string escapes', () => {
    const compiled = filterToSql('principal = "a\\"b\\\\c\\n\\u00e9\\/"');
    expect(Object.values(compiled.params)).toEqual(['a"b\\c\né/']);
  });

  it('quotes any text so that it reads back as the same value', () => {
    for (const text of [
      'plain',
      'with "quotes"',
      'back\\slash',
      'new\nline',
      'tab\t',
      '\u0001ctl',
      'ünï',
    ]) {
      const compiled = filterToSql(`principal = ${quoteFilterString(text)}`);
      expect(Object.values(compiled.params)).toEqual([text]);
    }
  });

  it('resolves relative dates against the reference time and bare dates as whole UTC days', () => {
    const now = new Date('2026-06-15T12:00:00Z');
    const rel = filterToSql('last_used < "30d"', { now });
    expect(Object.values(rel.params)).toEqual(['2026-05-16T12:00:00.000Z']);
    const day = filterToSql('last_used = "2026-01-31"', { now });
    expect(Object.values(day.params)).toEqual([
      '2026-01-31T00:00:00.000Z',
      '2026-02-01T00:00:00.000Z',
    ]);
    const after = filterToSql('created > "2026-01-31"', { now });
    expect(after.where).toContain('>=');
    expect(Object.values(after.params)).toEqual(['2026-02-01T00:00:00.000Z']);
    const zoned = filterToSql('created >= "2026-01-31T10:00:00+02:00"', { now });
    expect(Object.values(zoned.params)).toEqual(['2026-01-31T08:00:00.000Z']);
    expect(filterToSql('last_used = "never"').where).toContain('IS NULL');
  });

  it('documents every field in docs/filter-language.md', () => {
    const doc = readFileSync(
      join(import.meta.dirname, '..', '..', 'docs', 'filter-language.md'),
      'utf8',
    );
    for (const f of FIELDS) expect(doc, f.name).toContain(`\`${f.name}`);
  });
});
