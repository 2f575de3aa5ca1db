/**
 * The one way a filter expression is rejected: `MQ_ERR_FILTER_INVALID` (a 400) whose message names
 * the 1-based character position and what was expected there, with `details: { position,
 * expression }` for clients that point at the spot.
 */
import { MqgateError } from '../../errors.js';

/** Longest expression (in UTF-16 code units) a filter accepts; longer input is rejected unread. */
export const MAX_EXPRESSION_LENGTH = 4096;

/**
 * Deepest nesting accepted: parentheses, prefix operators and chained comparisons together. It keeps
 * the recursive parser and evaluator far from the stack limit on hostile input.
 */
export const MAX_NESTING_DEPTH = 100;

/** What a rejected expression carries in `MqgateError.details`. */
export interface FilterErrorDetails {
  /** 1-based position (in characters, i.e. code points) where the problem was found. */
  readonly position: number;
  /** The rejected expression (cut at {@link MAX_EXPRESSION_LENGTH} when it was too long). */
  readonly expression: string;
}

/** The 1-based character position of UTF-16 `index` in `expression` (astral characters count once). */
export function characterPosition(expression: string, index: number): number {
  let position = 1;
  for (let i = 0; i < index && i < expression.length; i++) {
    const unit = expression.charCodeAt(i);
    // A high surrogate followed by a low one is one character: count it at its low half.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < expression.length) {
      const next = expression.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) continue;
    }
    position++;
  }
  return position;
}

/**
 * The error for `expression` rejected at UTF-16 `index`: "position P: expected X, found Y".
 *
 * @param found - what is at the position, already quoted (e.g. `'AND'`, `end of expression`)
 */
export function filterError(expression: string, index: number, expected: string, found: string): MqgateError {
  const position = characterPosition(expression, index);
  const shown = expression.slice(0, MAX_EXPRESSION_LENGTH);
  const details: FilterErrorDetails = { position, expression: shown };
  return new MqgateError(
    'MQ_ERR_FILTER_INVALID',
    `position ${position}: expected ${expected}, found ${found}`,
    {
      details,
    },
  );
}

/** Rejects an expression longer than {@link MAX_EXPRESSION_LENGTH} before any parsing. */
export function checkExpressionLength(expression: string): void {
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    throw filterError(
      expression,
      MAX_EXPRESSION_LENGTH,
      `at most ${MAX_EXPRESSION_LENGTH} characters`,
      `${expression.length} characters`,
    );
  }
}
