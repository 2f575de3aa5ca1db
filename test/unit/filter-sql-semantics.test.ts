import { describe, expect, it } from 'vitest';
import { ABORT, evaluate, lookupIn, parseSql, SqlFilter } from '../../src/broker/filter/index.js';
import type { StoredMessage } from '../../src/message/message.js';
import { storedMessage } from '../helpers/messages.js';

type Props = Record<string, string>;

/** True when the SQL92 filter `expression` takes a message with these properties. */
const takes = (expression: string, props: Props = {}): boolean =>
  new SqlFilter(expression).matchProperties(props);

/** RocketMQ's raw outcome: TRUE, FALSE, NULL (unknown) or THROW (the broker then skips the message). */
function outcome(expression: string, props: Props = {}): string {
  const v = evaluate(parseSql(expression), lookupIn(props));
  if (v === ABORT) return 'THROW';
  return v === null ? 'NULL' : String(v).toUpperCase();
}

function message(tag: string | undefined, keys: string[], properties: Props): StoredMessage {
  return storedMessage({ tag, keys, properties });
}

describe('sql92 filter semantics', () => {
  it('sql92 semantics - CONTAINS family: an empty search or a missing property is FALSE, also for the NOT forms', () => {
    for (const op of ['CONTAINS', 'STARTSWITH', 'ENDSWITH']) {
      expect(outcome(`v ${op} ''`, { v: 'axb' })).toBe('FALSE');
      expect(outcome(`v NOT ${op} ''`, { v: 'axb' })).toBe('FALSE');
      expect(outcome(`v ${op} 'x'`)).toBe('FALSE');
      expect(outcome(`v NOT ${op} 'x'`)).toBe('FALSE');
      // FALSE, not unknown: so NOT (...) takes the message.
      expect(takes(`NOT (v ${op} 'x')`)).toBe(true);
    }
  });

  it('sql92 semantics - a missing property makes comparisons unknown, and unknown never matches', () => {
    for (const e of [
      'a = 1',
      'a <> 1',
      'a > 1',
      'a <= 1',
      'NOT (a = 1)',
      'NOT (a > 1)',
      'a BETWEEN 1 AND 2',
      'a',
    ]) {
      expect(outcome(e)).toBe('NULL');
      expect(takes(e)).toBe(false);
    }
    expect(takes('a = 1 OR b = 2', { b: '2' })).toBe(true);
    expect(takes('a = 1 AND b = 2', { b: '2' })).toBe(false);
    expect(outcome('a = 1 AND b = 2', { b: '3' })).toBe('FALSE');
  });

  it("sql92 semantics - RocketMQ's = asymmetry: a missing right side is FALSE, so 'x' <> a matches", () => {
    expect(outcome("'x' = a")).toBe('FALSE');
    expect(takes("'x' <> a")).toBe(true);
    expect(takes("a <> 'x'")).toBe(false);
    expect(takes('a = b')).toBe(true);
  });

  it('sql92 semantics - a non-numeric value compared to a number fails the whole expression, not an error', () => {
    expect(outcome('a > 5', { a: 'abc' })).toBe('THROW');
    expect(takes('a > 5', { a: 'abc' })).toBe(false);
    expect(takes('NOT (a > 5)', { a: 'abc' })).toBe(false);
    expect(takes('a = 5', { a: 'abc' })).toBe(false);
    expect(takes('a BETWEEN 0 AND 100', { a: 'abc' })).toBe(false);
    // RocketMQ's evaluation throws, so the message is skipped even though the OR would be true.
    expect(takes("a > 5 OR b = 'x'", { a: 'abc', b: 'x' })).toBe(false);
    // ...unless the short-circuit never reaches the comparison.
    expect(takes("b = 'x' OR a > 5", { a: 'abc', b: 'x' })).toBe(true);
    expect(takes("NOT (b = 'y' AND a > 5)", { a: 'abc', b: 'z' })).toBe(true);
    // Integer literals read the property with Integer.valueOf: a decimal value does not convert.
    expect(takes('a > 5', { a: '5.5' })).toBe(false);
    expect(takes('a > 5.0', { a: '5.5' })).toBe(true);
    expect(takes('a > b', { a: 'x', b: '1' })).toBe(false);
  });

  it('sql92 semantics - numeric conversion follows Java: Double.valueOf forms and Unicode digits', () => {
    expect(takes('a >= 5.0', { a: ' 5 ' })).toBe(true);
    expect(takes('a > 4.5', { a: '5d' })).toBe(true);
    expect(takes('a > 1.5', { a: '1e3' })).toBe(true);
    expect(takes('a > 1.5', { a: 'NaN' })).toBe(true);
    expect(takes('a = 5', { a: '+5' })).toBe(true);
    expect(takes('a = 5', { a: '\uff15' })).toBe(true);
    expect(takes('a = 5', { a: ' 5' })).toBe(false);
    expect(takes('a = 2147483647', { a: '2147483648' })).toBe(false);
  });

  it('sql92 semantics - a property used as a condition is never TRUE', () => {
    expect(outcome('a', { a: 'true' })).toBe('FALSE');
    expect(outcome('a')).toBe('NULL');
    expect(takes('NOT a', { a: 'true' })).toBe(true);
    expect(takes('a OR b = 1', { a: 'true', b: '1' })).toBe(true);
  });

  it('sql92 semantics - inherited object names are not properties', () => {
    expect(takes('constructor IS NULL')).toBe(true);
    expect(takes('__proto__ IS NULL')).toBe(true);
    expect(takes("toString = 'x'")).toBe(false);
    expect(takes("constructor = 'c'", { constructor: 'c' })).toBe(true);
  });

  it('sql92 semantics - TAGS and KEYS read the tag and the keys of a message', () => {
    const f = new SqlFilter("TAGS = 'TagA' AND KEYS = 'k1 k2' AND p = '1'");
    expect(f.matchMessage(message('TagA', ['k1', 'k2'], { p: '1' }))).toBe(true);
    expect(f.matchMessage(message('TagB', ['k1', 'k2'], { p: '1' }))).toBe(false);
    expect(f.matchMessage(message(undefined, ['k1', 'k2'], { p: '1' }))).toBe(false);
    expect(new SqlFilter('TAGS IS NULL').matchMessage(message(undefined, [], {}))).toBe(true);
    expect(new SqlFilter('KEYS IS NULL').matchMessage(message('A', [], {}))).toBe(true);
    expect(new SqlFilter("TAGS IN ('A', 'B')").matchMessage(message('B', [], {}))).toBe(true);
  });
});
