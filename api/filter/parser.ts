import { describeFound, FilterError } from './errors.ts';
import { FIELD_NAMES, type FieldDef, lookupField } from './fields.ts';
import { type Token, tokenize } from './lexer.ts';

export type ComparisonOp =
  | '='
  | '!='
  | '>'
  | '>='
  | '<'
  | '<='
  | 'contains'
  | 'not_contains'
  | 'starts_with'
  | 'ends_with';

export interface Literal {
  kind: 'string' | 'number' | 'boolean';
  /** As written (numbers keep their text so that account ids survive). */
  text: string;
  value: string | number | boolean;
  position: number;
}

export interface FieldRef {
  def: FieldDef;
  /** The tag key for tag["key"]. */
  key?: string;
  position: number;
}

export type FilterNode =
  | { type: 'and' | 'or'; items: FilterNode[] }
  | { type: 'not'; item: FilterNode }
  | { type: 'compare'; field: FieldRef; op: ComparisonOp; value: Literal; position: number }
  | { type: 'in'; field: FieldRef; negated: boolean; values: Literal[]; position: number };

/** Guards against expressions built to exhaust the parser or the database. */
export const FILTER_LIMITS = {
  maxLength: 4000,
  maxDepth: 32,
  maxComparisons: 100,
  maxValues: 500,
  maxTagKeyLength: 256,
};

const WORD_OPS = ['contains', 'not_contains', 'starts_with', 'ends_with', 'in', 'not_in'];
const OPERATORS = ['=', '!=', '>', '>=', '<', '<=', ...WORD_OPS];
const KEYWORDS = new Set(['and', 'or', 'not', 'true', 'false', ...WORD_OPS]);

class Parser {
  private index = 0;
  private depth = 0;
  private comparisons = 0;
  private values = 0;

  constructor(private readonly tokens: Token[]) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.index++;
    return t;
  }

  private isWord(t: Token, word: string): boolean {
    return t.kind === 'word' && t.value.toLowerCase() === word;
  }

  private fail(t: Token, what: string, expected: string[]): never {
    throw new FilterError(
      `expected ${what} at position ${t.position}, found ${describeFound(t.text)}`,
      t.position,
      expected,
    );
  }

  parseAll(): FilterNode | null {
    if (this.peek().kind === 'eof') return null;
    const node = this.parseOr();
    const t = this.peek();
    if (t.kind !== 'eof') {
      this.fail(t, '"and", "or" or the end of the filter', ['and', 'or', 'end of filter']);
    }
    return node;
  }

  private enter(t: Token): void {
    this.depth++;
    if (this.depth > FILTER_LIMITS.maxDepth) {
      throw new FilterError(
        `filter nests deeper than ${FILTER_LIMITS.maxDepth} levels at position ${t.position}`,
        t.position,
        [],
      );
    }
  }

  private parseOr(): FilterNode {
    const items = [this.parseAnd()];
    while (this.isWord(this.peek(), 'or')) {
      this.next();
      items.push(this.parseAnd());
    }
    return items.length === 1 ? items[0]! : { type: 'or', items };
  }

  private parseAnd(): FilterNode {
    const items = [this.parseNot()];
    while (this.isWord(this.peek(), 'and')) {
      this.next();
      items.push(this.parseNot());
    }
    return items.length === 1 ? items[0]! : { type: 'and', items };
  }

  private parseNot(): FilterNode {
    const t = this.peek();
    if (this.isWord(t, 'not')) {
      this.next();
      this.enter(t);
      const item = this.parseNot();
      this.depth--;
      return { type: 'not', item };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): FilterNode {
    const t = this.peek();
    if (t.kind === 'lparen') {
      this.next();
      this.enter(t);
      const node = this.parseOr();
      this.depth--;
      const close = this.peek();
      if (close.kind !== 'rparen') this.fail(close, '")"', [')', 'and', 'or']);
      this.next();
      return node;
    }
    return this.parseComparison();
  }

  private parseField(): FieldRef {
    const t = this.peek();
    if (t.kind !== 'word' || KEYWORDS.has(t.value.toLowerCase())) {
      this.fail(t, 'a field name or "("', [...FIELD_NAMES, '(', 'not']);
    }
    const def = lookupField(t.value);
    if (!def) {
      throw new FilterError(
        `unknown field ${JSON.stringify(t.value)} at position ${t.position}; expected one of ${FIELD_NAMES.join(', ')}`,
        t.position,
        FIELD_NAMES,
      );
    }
    this.next();
    if (def.type !== 'tag') {
      if (this.peek().kind === 'lbracket') {
        this.fail(
          this.peek(),
          `an operator after ${def.name} (only tag takes a ["key"])`,
          OPERATORS,
        );
      }
      return { def, position: t.position };
    }
    const open = this.peek();
    if (open.kind !== 'lbracket') this.fail(open, '"[" and a tag key, as in tag["env"]', ['[']);
    this.next();
    const key = this.peek();
    if (key.kind !== 'string')
      this.fail(key, 'a double-quoted tag key', ['a double-quoted string']);
    if (key.value.length === 0 || key.value.length > FILTER_LIMITS.maxTagKeyLength) {
      throw new FilterError(
        `tag key at position ${key.position} must have 1 to ${FILTER_LIMITS.maxTagKeyLength} characters`,
        key.position,
        ['a non-empty tag key'],
      );
    }
    this.next();
    const close = this.peek();
    if (close.kind !== 'rbracket') this.fail(close, '"]"', [']']);
    this.next();
    return { def, key: key.value, position: t.position };
  }

  private parseOperator(): { op: ComparisonOp | 'in' | 'not_in'; token: Token } {
    const t = this.peek();
    if (t.kind === 'op') {
      this.next();
      return { op: t.value as ComparisonOp, token: t };
    }
    if (t.kind === 'word') {
      const word = t.value.toLowerCase();
      if (WORD_OPS.includes(word)) {
        this.next();
        return { op: word as ComparisonOp | 'in' | 'not_in', token: t };
      }
      // "not in" and "not contains" read naturally; accept them as not_in / not_contains.
      if (word === 'not') {
        const after = this.peek(1);
        const second = after.kind === 'word' ? after.value.toLowerCase() : '';
        if (second === 'in' || second === 'contains') {
          this.next();
          this.next();
          return { op: second === 'in' ? 'not_in' : 'not_contains', token: t };
        }
      }
    }
    return this.fail(t, 'an operator', OPERATORS);
  }

  private parseLiteral(): Literal {
    const t = this.peek();
    if (t.kind === 'string') {
      this.next();
      return { kind: 'string', text: t.value, value: t.value, position: t.position };
    }
    if (t.kind === 'number') {
      // Beyond 15 significant digits a double no longer holds the number as written.
      if (!/^-?\d{1,15}(\.\d{1,15})?$/.test(t.text)) {
        throw new FilterError(
          `number ${describeFound(t.text)} at position ${t.position} has more than 15 digits before or after the point`,
          t.position,
          ['a number of at most 15 digits'],
        );
      }
      this.next();
      return { kind: 'number', text: t.text, value: Number(t.text), position: t.position };
    }
    if (this.isWord(t, 'true') || this.isWord(t, 'false')) {
      this.next();
      const value = t.value.toLowerCase() === 'true';
      return { kind: 'boolean', text: String(value), value, position: t.position };
    }
    if (t.kind === 'word') {
      throw new FilterError(
        `expected a value at position ${t.position}, found ${describeFound(t.text)}: text values must be double-quoted, e.g. "${t.text}"`,
        t.position,
        ['a double-quoted string', 'a number', 'true', 'false'],
      );
    }
    return this.fail(t, 'a value', ['a double-quoted string', 'a number', 'true', 'false']);
  }

  private countValue(at: Literal): void {
    this.values++;
    if (this.values > FILTER_LIMITS.maxValues) {
      throw new FilterError(
        `filter has more than ${FILTER_LIMITS.maxValues} values (at position ${at.position})`,
        at.position,
        [],
      );
    }
  }

  private parseComparison(): FilterNode {
    const field = this.parseField();
    this.comparisons++;
    if (this.comparisons > FILTER_LIMITS.maxComparisons) {
      throw new FilterError(
        `filter has more than ${FILTER_LIMITS.maxComparisons} comparisons (at position ${field.position})`,
        field.position,
        [],
      );
    }
    const { op, token } = this.parseOperator();
    if (op === 'in' || op === 'not_in') {
      const open = this.peek();
      if (open.kind !== 'lparen') this.fail(open, `"(" after ${op}`, ['(']);
      this.next();
      const values: Literal[] = [];
      for (;;) {
        const value = this.parseLiteral();
        this.countValue(value);
        values.push(value);
        const sep = this.peek();
        if (sep.kind === 'comma') {
          this.next();
          continue;
        }
        if (sep.kind === 'rparen') {
          this.next();
          break;
        }
        this.fail(sep, '"," or ")"', [',', ')']);
      }
      return { type: 'in', field, negated: op === 'not_in', values, position: token.position };
    }
    const value = this.parseLiteral();
    this.countValue(value);
    return { type: 'compare', field, op, value, position: token.position };
  }
}

/** Parse a filter expression into its syntax tree; null for an empty filter. */
export function parseFilter(input: string): FilterNode | null {
  if (input.length > FILTER_LIMITS.maxLength) {
    throw new FilterError(
      `filter is longer than ${FILTER_LIMITS.maxLength} characters`,
      FILTER_LIMITS.maxLength,
      [],
    );
  }
  return new Parser(tokenize(input)).parseAll();
}
