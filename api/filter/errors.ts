import { UsageError } from '../../lib/errors.ts';

/**
 * A filter expression that does not parse or does not make sense. `position` is the 0-based
 * character offset of the offending token, `expected` what would have been accepted there.
 */
export class FilterError extends UsageError {
  readonly position: number;
  readonly expected: string[];
  constructor(message: string, position: number, expected: string[] = []) {
    super(message, { position, expected });
    this.position = position;
    this.expected = expected;
  }
}

/** How a token is named in an error message: `"abc"` quoted, end of input spelt out. */
export function describeFound(text: string | undefined): string {
  if (text === undefined || text === '') return 'the end of the filter';
  const shown = text.length > 40 ? `${text.slice(0, 37)}...` : text;
  return JSON.stringify(shown);
}
