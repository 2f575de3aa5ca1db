import { describe, expect, it } from 'vitest';
import { compileFilter, FilterType, MAX_EXPRESSION_LENGTH, parseSql } from '../../src/broker/filter/index.js';
import type { FilterType as FilterTypeName } from '../../src/broker/filter/index.js';
import { isMqgateError } from '../../src/errors.js';
import type { MqgateError } from '../../src/errors.js';

/** The error compiling `expression` as SQL92 throws (fails the test if it throws none). */
function rejection(expression: string): MqgateError {
  try {
    compileFilter({ type: FilterType.SQL92, expression });
  } catch (e) {
    if (isMqgateError(e)) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(expression)} to be refused`);
}

/** Checks code, status, details and the "position N: expected ..." message. */
function expectRejected(expression: string, position: number, expected: string | RegExp): MqgateError {
  const e = rejection(expression);
  expect(e.code).toBe('MQ_ERR_FILTER_INVALID');
  expect(e.statusCode).toBe(400);
  expect(e.retriable).toBe(false);
  expect(e.details).toEqual({ position, expression: expression.slice(0, MAX_EXPRESSION_LENGTH) });
  expect(e.message).toMatch(new RegExp(`^invalid filter expression: position ${position}: expected `));
  expect(e.message).toMatch(expected);
  return e;
}

describe('sql92 filter errors', () => {
  it('sql92 errors - an unclosed string points at the end and names where it opened', () => {
    expectRejected("a = 'x", 7, /closing the string opened at position 5, found end of expression/);
    expectRejected("a = 'it''s", 11, /opened at position 5/);
  });

  it('sql92 errors - an unknown operator', () => {
    expectRejected('a ~ 1', 3, /found "~"/);
    expectRejected('a != 1', 3, /expected "<>" \(the not-equal operator\), found "!"/);
    expectRejected('a == 1', 4, /expected a value .* found "="/);
    expectRejected("a LIKE 'x%'", 3, /expected an operator or the end of the expression, found "LIKE"/);
  });

  it('sql92 errors - trailing input after a complete expression (RocketMQ ignores it silently)', () => {
    expectRejected('a = 1 b = 2', 7, /expected an operator or the end of the expression, found "b"/);
    expectRejected('a = 1)', 6, /found "\)"/);
    expectRejected("a = 'x' 'y'", 9, /found "'y'"/);
    expectRejected('a = 07', 6, /found "7"/);
  });

  it('sql92 errors - an empty expression', () => {
    expectRejected('', 1, /expected a value .* found end of expression/);
    expectRejected('   ', 4, /found end of expression/);
    expectRejected('-- only a comment', 18, /found end of expression/);
    expect(rejection(null as unknown as string).code).toBe('MQ_ERR_FILTER_INVALID');
  });

  it('sql92 errors - a missing operand', () => {
    expectRejected('a =', 4, /expected a value .* found end of expression/);
    expectRejected('a > AND b = 1', 5, /found "AND"/);
    expectRejected('a AND', 6, /found end of expression/);
    expectRejected('NOT', 4, /found end of expression/);
    expectRejected('a BETWEEN 1', 12, /expected AND between the bounds of BETWEEN/);
    expectRejected('a BETWEEN 1 AND', 16, /expected a value/);
    expectRejected('a IN', 5, /expected "\(" starting the list of IN/);
    expectRejected("a IN ('x',)", 11, /expected a quoted string in the list of IN, found "\)"/);
    expectRejected("a IN ('x'", 10, /expected "," or "\)" in the list of IN/);
    expectRejected('a CONTAINS', 11, /expected a quoted string after CONTAINS/);
    expectRejected('a IS', 5, /expected NULL or NOT NULL/);
    expectRejected('a IS NOT', 9, /expected NULL, found end of expression/);
    expectRejected('(a = 1', 7, /expected "\)" or an operator/);
  });

  it('sql92 errors - operands RocketMQ refuses while building its tree', () => {
    expectRejected("a > 'x'", 5, /expected a number or a property name .* found "'x'"/);
    expectRejected('a >= TRUE', 6, /expected a number or a property name/);
    expectRejected('(a = 1) > 2', 2, /expected a number or a property name/);
    expectRejected("a BETWEEN 'a' AND 'b'", 11, /expected a number or a property name/);
    expectRejected('a = NULL', 5, /expected a value other than NULL \(write IS NULL\)/);
    expectRejected('NULL <> a', 1, /other than NULL/);
    expectRejected('TRUE = 1', 8, /expected TRUE or FALSE/);
    expectRejected('a BETWEEN 5 AND 1', 11, /expected a lower bound not above the upper bound, found "5"/);
    expectRejected("'a' IN ('a')", 1, /expected a property name before IN/);
    expectRejected('a CONTAINS x', 12, /expected a quoted string after CONTAINS, found "x"/);
    expectRejected('a CONTAINS 123', 12, /expected a quoted string after CONTAINS/);
  });

  it('sql92 errors - a condition is required where RocketMQ needs a boolean', () => {
    expectRejected('5', 1, /expected a condition .* found "5"/);
    expectRejected("'x'", 1, /expected a condition/);
    expectRejected('NOT 5', 5, /expected a condition/);
    expectRejected('a AND 5', 7, /expected a condition/);
    expectRejected('-a OR b', 1, /expected a condition .*found "-a"/);
    expectRejected('NOT a > 1', 1, /expected a number or a property name/);
  });

  it('sql92 errors - number literals RocketMQ refuses', () => {
    expectRejected('a = 9223372036854775808', 5, /expected an integer of at most 9223372036854775807/);
    expectRejected('a > 1e400', 5, /within the range of a Java double/);
    expectRejected('a > 0.0', 5, /other than zero/);
    expectRejected('a > 1e-400', 5, /other than zero/);
    expectRejected('a = 0L', 6, /found "L"/);
    expect(() => parseSql('a = 9223372036854775807 AND b = -9223372036854775807')).not.toThrow();
  });

  it('sql92 errors - identifiers are ASCII letters, digits, _ and $ only (no dots)', () => {
    expectRejected('a.b = 1', 2, /found "."/);
    expectRejected('\u00e4 = 1', 1, /found "\u00e4"/);
    expectRejected('a = 1a', 6, /found "a"/);
    expect(() => parseSql('$x_1 = 1 AND _ = 2')).not.toThrow();
  });

  it('sql92 errors - an unclosed comment', () => {
    expectRejected('a = 1 /* no end', 16, /expected "\*\/" closing the comment/);
  });

  it('sql92 errors - positions count characters, not UTF-16 units', () => {
    expectRejected("x = '\u{1F600}\u{1F600}' AND ~", 14, /found "~"/);
    expectRejected("x = '\u{1F600}", 7, /opened at position 5/);
  });

  it('sql92 errors - an expression longer than 4096 characters is refused before parsing', () => {
    const long = `a = '${'x'.repeat(MAX_EXPRESSION_LENGTH)}'`;
    const e = expectRejected(long, 4097, /expected at most 4096 characters, found 4102 characters/);
    expect((e.details as { expression: string }).expression).toHaveLength(MAX_EXPRESSION_LENGTH);
    expect(() => parseSql(`a = '${'x'.repeat(MAX_EXPRESSION_LENGTH - 6)}'`)).not.toThrow();
  });

  it('sql92 errors - nesting deeper than 100 levels is refused without overflowing the stack', () => {
    expectRejected(`${'('.repeat(101)}a${')'.repeat(101)}`, 101, /expected at most 100 nested levels/);
    expect(() => parseSql(`${'('.repeat(100)}a${')'.repeat(100)}`)).not.toThrow();
    expectRejected(`${'NOT '.repeat(150)}a`, 401, /nested levels/);
    expectRejected(`${'- '.repeat(1000)}a = 1`, 201, /nested levels/);
    expectRejected(`a${' = a'.repeat(150)}`, 399, /nested levels/);
    expectRejected(`a${' IS NULL'.repeat(150)}`, 795, /nested levels/);
    expectRejected('('.repeat(4000), 101, /nested levels/);
    // Long flat chains are fine: AND/OR chains are one level.
    expect(() => parseSql(Array.from({ length: 450 }, () => `a = 1`).join(' OR '))).not.toThrow();
  });

  it('sql92 errors - an unknown filter type is MQ_ERR_FILTER_INVALID', () => {
    let error: unknown;
    try {
      compileFilter({ type: 'XPATH' as FilterTypeName, expression: 'a' });
    } catch (e) {
      error = e;
    }
    expect(isMqgateError(error) && error.code).toBe('MQ_ERR_FILTER_INVALID');
    expect(isMqgateError(error) && error.message).toMatch(/unknown filter type "XPATH"/);
  });
});
