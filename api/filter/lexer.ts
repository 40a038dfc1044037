import { FilterError } from './errors.ts';

export type TokenKind =
  | 'word'
  | 'string'
  | 'number'
  | 'op'
  | 'lparen'
  | 'rparen'
  | 'lbracket'
  | 'rbracket'
  | 'comma'
  | 'eof';

export interface Token {
  kind: TokenKind;
  /** The token as written (for strings: with quotes and escapes). */
  text: string;
  /** Decoded value: the string content for strings, the text otherwise. */
  value: string;
  /** 0-based offset of the first character. */
  position: number;
}

const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  n: '\n',
  r: '\r',
  t: '\t',
};
const ESCAPE_NAMES = ['\\"', '\\\\', '\\/', '\\n', '\\r', '\\t', '\\uXXXX'];

function isWordStart(ch: string): boolean {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch === '_';
}

function isWordPart(ch: string): boolean {
  return isWordStart(ch) || isDigit(ch);
}

function isDigit(ch: string): boolean {
  return ch >= '0' && ch <= '9';
}

/** Split a filter expression into tokens; the last one is always `eof`. */
export function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i++;
      continue;
    }
    const start = i;
    const single: Partial<Record<string, TokenKind>> = {
      '(': 'lparen',
      ')': 'rparen',
      '[': 'lbracket',
      ']': 'rbracket',
      ',': 'comma',
    };
    const singleKind = single[ch];
    if (singleKind) {
      tokens.push({ kind: singleKind, text: ch, value: ch, position: start });
      i++;
      continue;
    }
    if (ch === '=' || ch === '<' || ch === '>' || ch === '!') {
      const two = input.slice(i, i + 2);
      if (two === '!=' || two === '>=' || two === '<=') {
        tokens.push({ kind: 'op', text: two, value: two, position: start });
        i += 2;
        continue;
      }
      if (ch === '!') {
        throw new FilterError(
          `unexpected "!" at position ${start}: the only operator starting with "!" is "!="`,
          start,
          ['!='],
        );
      }
      if (two === '==') {
        throw new FilterError(`unexpected "==" at position ${start}: use "=" to compare`, start, [
          '=',
        ]);
      }
      tokens.push({ kind: 'op', text: ch, value: ch, position: start });
      i++;
      continue;
    }
    if (ch === '"') {
      const { value, end } = readString(input, i);
      tokens.push({ kind: 'string', text: input.slice(start, end), value, position: start });
      i = end;
      continue;
    }
    if (isDigit(ch) || (ch === '-' && isDigit(input[i + 1] ?? ''))) {
      i++;
      while (isDigit(input[i] ?? '')) i++;
      if (input[i] === '.' && isDigit(input[i + 1] ?? '')) {
        i++;
        while (isDigit(input[i] ?? '')) i++;
      }
      if (isWordPart(input[i] ?? '') || input[i] === '.') {
        let end = i;
        while (isWordPart(input[end] ?? '') || input[end] === '.' || input[end] === '-') end++;
        const word = input.slice(start, end);
        throw new FilterError(
          `unexpected ${JSON.stringify(word)} at position ${start}: values other than plain numbers must be double-quoted, e.g. "${word}"`,
          start,
          ['a number', 'a double-quoted string'],
        );
      }
      const text = input.slice(start, i);
      tokens.push({ kind: 'number', text, value: text, position: start });
      continue;
    }
    if (isWordStart(ch)) {
      i++;
      while (isWordPart(input[i] ?? '')) i++;
      const text = input.slice(start, i);
      tokens.push({ kind: 'word', text, value: text, position: start });
      continue;
    }
    if (ch === "'") {
      throw new FilterError(
        `unexpected "'" at position ${start}: strings take double quotes ("...")`,
        start,
        ['a double-quoted string'],
      );
    }
    throw new FilterError(
      `unexpected character ${JSON.stringify(ch)} at position ${start}`,
      start,
      ['a field name', '(', 'a value', 'an operator'],
    );
  }
  tokens.push({ kind: 'eof', text: '', value: '', position: input.length });
  return tokens;
}

function readString(input: string, start: number): { value: string; end: number } {
  let i = start + 1;
  let value = '';
  while (i < input.length) {
    const ch = input[i]!;
    if (ch === '"') return { value, end: i + 1 };
    if (ch === '\\') {
      const next = input[i + 1];
      if (next === undefined) break;
      const simple = ESCAPES[next];
      if (simple !== undefined) {
        value += simple;
        i += 2;
        continue;
      }
      if (next === 'u') {
        const hex = input.slice(i + 2, i + 6);
        if (/^[0-9a-fA-F]{4}$/.test(hex)) {
          value += String.fromCharCode(Number.parseInt(hex, 16));
          i += 6;
          continue;
        }
      }
      throw new FilterError(
        `invalid escape ${JSON.stringify(input.slice(i, i + 2))} at position ${i}: expected one of ${ESCAPE_NAMES.join(' ')}`,
        i,
        ESCAPE_NAMES,
      );
    }
    value += ch;
    i++;
  }
  throw new FilterError(
    `unterminated string starting at position ${start}: expected a closing "`,
    start,
    ['"'],
  );
}
