import { describe, expect, it } from 'vitest';
import { compileFilter, FilterType, SqlFilter } from '../../src/broker/filter/index.js';
import type { StoredMessage } from '../../src/message/message.js';
import { storedMessage } from '../helpers/messages.js';

type Props = Record<string, string>;

/** True when the SQL92 filter `expression` takes a message with these properties. */
const takes = (expression: string, props: Props = {}): boolean =>
  new SqlFilter(expression).matchProperties(props);

function message(tag: string | undefined, keys: string[], properties: Props): StoredMessage {
  return storedMessage({ tag, keys, properties });
}

describe('sql92 filter', () => {
  it('sql92 - compileFilter exposes type and expression', () => {
    const f = compileFilter({ type: FilterType.SQL92, expression: "a = 'x'" });
    expect(f.type).toBe('SQL92');
    expect(f.expression).toBe("a = 'x'");
    expect(f.matchTagsCode).toBeUndefined();
    expect(f.matchMessage?.(message(undefined, [], { a: 'x' }))).toBe(true);
    expect(f.matchMessage?.(message(undefined, [], { a: 'y' }))).toBe(false);
  });

  it('sql92 - = and <> on numbers and strings', () => {
    expect(takes('a = 1', { a: '1' })).toBe(true);
    expect(takes('a = 1', { a: '2' })).toBe(false);
    expect(takes('a <> 1', { a: '2' })).toBe(true);
    expect(takes('a <> 1', { a: '1' })).toBe(false);
    expect(takes("a = 'x'", { a: 'x' })).toBe(true);
    expect(takes("a = 'x'", { a: 'X' })).toBe(false);
    expect(takes("a <> 'x'", { a: 'y' })).toBe(true);
    expect(takes('a = b', { a: '3.14', b: '3.14' })).toBe(true);
    expect(takes('a <> b', { a: '3.14', b: '3.141' })).toBe(true);
  });

  it('sql92 - > >= < <= compare numerically', () => {
    const p = { a: '10' };
    expect([takes('a > 9', p), takes('a > 10', p), takes('a >= 10', p), takes('a >= 11', p)]).toEqual([
      true,
      false,
      true,
      false,
    ]);
    expect([takes('a < 11', p), takes('a < 10', p), takes('a <= 10', p), takes('a <= 9', p)]).toEqual([
      true,
      false,
      true,
      false,
    ]);
    // Not string order: '10' < '9' as strings.
    expect(takes('a > 9', { a: '10' })).toBe(true);
    expect(takes('a > b', { a: '10', b: '9.5' })).toBe(true);
    expect(takes('5 < a', { a: '6' })).toBe(true);
  });

  it('sql92 - BETWEEN and NOT BETWEEN include their bounds', () => {
    for (const [a, inside] of [
      ['1', false],
      ['2', true],
      ['6', true],
      ['10', true],
      ['11', false],
    ] as const) {
      expect(takes('a BETWEEN 2 AND 10', { a })).toBe(inside);
      expect(takes('a NOT BETWEEN 2 AND 10', { a })).toBe(!inside);
    }
    expect(takes('a BETWEEN 2 AND 10')).toBe(false);
    expect(takes('a NOT BETWEEN 2 AND 10')).toBe(false);
    expect(takes('a BETWEEN -1.5 AND 1.5 AND b = 1', { a: '0', b: '1' })).toBe(true);
  });

  it('sql92 - IN and NOT IN compare strings exactly', () => {
    expect(takes("a IN ('3', '4', '5')", { a: '4' })).toBe(true);
    expect(takes("a IN ('3', '4', '5')", { a: '8' })).toBe(false);
    expect(takes("a IN ('3', '4', '5')", { a: '4.0' })).toBe(false);
    expect(takes("a NOT IN ('3', '4', '5')", { a: '8' })).toBe(true);
    expect(takes("a NOT IN ('3', '4', '5')", { a: '3' })).toBe(false);
    expect(takes("a IN ('x')")).toBe(false);
    expect(takes("a NOT IN ('x')")).toBe(false);
    expect(takes("a IN ('a', 'b', 'c', 'd', 'e', 'f')", { a: 'f' })).toBe(true);
  });

  it('sql92 - IS NULL and IS NOT NULL', () => {
    expect(takes('a IS NULL')).toBe(true);
    expect(takes('a IS NULL', { a: '' })).toBe(false);
    expect(takes('a IS NOT NULL', { a: '' })).toBe(true);
    expect(takes('a IS NOT NULL')).toBe(false);
    expect(takes("a IS NOT NULL AND a = 'hello'", { a: 'hello' })).toBe(true);
    expect(takes("a IS NULL OR a = 'hello'", { a: 'abc' })).toBe(false);
  });

  it('sql92 - AND binds tighter than OR', () => {
    const p = { a: '1', b: '0', c: '0' };
    expect(takes('a = 1 OR b = 1 AND c = 1', p)).toBe(true);
    expect(takes('(a = 1 OR b = 1) AND c = 1', p)).toBe(false);
    expect(takes('c = 1 AND b = 1 OR a = 1', p)).toBe(true);
    expect(takes('c = 1 AND (b = 1 OR a = 1)', p)).toBe(false);
  });

  it('sql92 - NOT binds tighter than AND and OR', () => {
    expect(takes('NOT FALSE AND FALSE')).toBe(false);
    expect(takes('NOT (FALSE AND FALSE)')).toBe(true);
    expect(takes('NOT TRUE OR TRUE')).toBe(true);
    expect(takes('NOT (TRUE OR TRUE)')).toBe(false);
    expect(takes('NOT (a = 1) AND b = 2', { a: '2', b: '2' })).toBe(true);
    expect(takes('NOT NOT TRUE')).toBe(true);
  });

  it('sql92 - NOT binds tighter than comparisons, as in RocketMQ: NOT a = 1 is (NOT a) = 1', () => {
    // (NOT a) is unknown or TRUE, then compared with 1: never TRUE. RocketMQ behaves the same.
    for (const a of ['1', '2', 'x']) expect(takes('NOT a = 1', { a })).toBe(false);
    expect(takes('NOT (a = 1)', { a: '2' })).toBe(true);
    expect(takes('a <> 1', { a: '2' })).toBe(true);
  });

  it('sql92 - parentheses group', () => {
    expect(takes('((a = 1))', { a: '1' })).toBe(true);
    expect(takes('(a = 1 OR a = 2) AND (b = 3 OR b = 4)', { a: '2', b: '4' })).toBe(true);
    expect(takes('(a = 1 OR a = 2) AND (b = 3 OR b = 4)', { a: '2', b: '5' })).toBe(false);
    expect(takes("(a) IN ('x')", { a: 'x' })).toBe(true);
  });

  it('sql92 - CONTAINS, STARTSWITH, ENDSWITH and their NOT forms', () => {
    const p = { v: 'axb' };
    expect([takes("v CONTAINS 'x'", p), takes("v STARTSWITH 'ax'", p), takes("v ENDSWITH 'xb'", p)]).toEqual([
      true,
      true,
      true,
    ]);
    expect([takes("v CONTAINS 'u'", p), takes("v STARTSWITH 'x'", p), takes("v ENDSWITH 'a'", p)]).toEqual([
      false,
      false,
      false,
    ]);
    expect(takes("v NOT CONTAINS 'u'", p)).toBe(true);
    expect(takes("v NOT STARTSWITH 'x'", p)).toBe(true);
    expect(takes("v NOT ENDSWITH 'a'", p)).toBe(true);
    expect(takes("v NOT CONTAINS 'x'", p)).toBe(false);
    expect(takes("v NOT STARTSWITH 'ax'", p)).toBe(false);
    expect(takes("v NOT ENDSWITH 'xb'", p)).toBe(false);
    expect(takes("'axb' CONTAINS 'x'")).toBe(true);
    expect(takes("v CONTAINS '.'", p)).toBe(false);
  });

  it('sql92 - TRUE and FALSE literals', () => {
    expect(takes('TRUE')).toBe(true);
    expect(takes('FALSE')).toBe(false);
    expect(takes('NULL')).toBe(false);
    expect(takes('a = TRUE OR b = FALSE', { a: 'true', b: 'false' })).toBe(true);
    expect(takes('a = TRUE OR b = FALSE', { a: 'false', b: 'true' })).toBe(false);
    // RocketMQ reads the property with Boolean.valueOf: "true" in any case is true, anything else false.
    expect(takes('a = TRUE', { a: 'TrUe' })).toBe(true);
    expect(takes('a = FALSE', { a: 'abc' })).toBe(true);
    expect(takes('1 = TRUE')).toBe(false);
  });

  it('sql92 - number literals: integers, longs, decimals, exponents, negatives', () => {
    expect(takes('a = 5', { a: '5' })).toBe(true);
    expect(takes('a = 5L', { a: '5' })).toBe(true);
    expect(takes('a > 1.5', { a: '1.6' })).toBe(true);
    expect(takes('a > .5', { a: '0.6' })).toBe(true);
    expect(takes('a = 5.', { a: '5' })).toBe(true);
    expect(takes('a > 3.1E10', { a: String(3.1415 * 10 ** 10) })).toBe(true);
    expect(takes('a = 1.5e-3', { a: '0.0015' })).toBe(true);
    expect(takes('a = -1', { a: '-1' })).toBe(true);
    expect(takes('a < -1.5', { a: '-2' })).toBe(true);
    expect(takes('a > -1.5', { a: '-2' })).toBe(false);
    expect(takes('a = - -3', { a: '3' })).toBe(true);
    expect(takes('a = +3', { a: '3' })).toBe(true);
    // Longs compare exactly, beyond the 53 bits of a double.
    expect(takes('a = 9007199254740993', { a: '9007199254740993' })).toBe(true);
    expect(takes('a = 9007199254740993', { a: '9007199254740992' })).toBe(false);
    expect(takes('a = 2147483648', { a: '2147483648' })).toBe(true);
    expect(takes('a = -9223372036854775807', { a: '-9223372036854775807' })).toBe(true);
  });

  it('sql92 - strings with an escaped quote', () => {
    expect(takes("a = 'it''s'", { a: "it's" })).toBe(true);
    expect(takes("a = ''''", { a: "'" })).toBe(true);
    expect(takes("TAGS IS NOT NULL AND TAGS = '''''tag'''''", { TAGS: "''tag''" })).toBe(true);
    expect(takes("a = ''", { a: '' })).toBe(true);
    expect(takes("a = 'two\nlines'", { a: 'two\nlines' })).toBe(true);
  });

  it('sql92 - keywords ignore case, property names do not', () => {
    const p = { a: '2', b: 'x', c: '' };
    expect(takes("a between 1 and 3 And b In ('x') oR c iS nOt NuLl", p)).toBe(true);
    expect(takes("not (b contains 'y') and b startsWith 'x' AND b EndsWith 'x'", p)).toBe(true);
    expect(takes('a = 2 and true', p)).toBe(true);
    expect(takes('A = 2', p)).toBe(false);
    expect(takes('$a_1 = 1 AND _b = 2', { $a_1: '1', _b: '2' })).toBe(true);
  });

  it('sql92 - comments are white space', () => {
    expect(takes('a = 1 -- trailing comment', { a: '1' })).toBe(true);
    expect(takes('a = 2 -- first\nOR a = 1', { a: '1' })).toBe(true);
    expect(takes('a /* inline */ = /* and */ 1', { a: '1' })).toBe(true);
  });
});
