import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFilter, FilterType, parseSql, SqlFilter } from '../../src/broker/filter/index.js';
import { isMqgateError } from '../../src/errors.js';
import type { StoredMessage } from '../../src/message/message.js';

const TOKENS = [
  ...[
    'a',
    'b',
    'TAGS',
    'x_1',
    '$y',
    'NOT',
    'not',
    'AND',
    'OR',
    'BETWEEN',
    'IN',
    'IS',
    'NULL',
    'TRUE',
    'false',
  ],
  ...['CONTAINS', 'startswith', 'ENDSWITH', '=', '<>', '>', '>=', '<', '<=', '(', ')', ',', '+', '-', '!='],
  ...[
    '0',
    '1',
    '07',
    '5L',
    '0L',
    '2147483648',
    '99999999999999999999',
    '1.5',
    '.5',
    '5.',
    '1e3',
    '1E400',
    '0.0',
  ],
  ...["'x'", "''", "'it''s'", "'", '--', '/*', '*/', '.', '\n', '\u{1F600}', '\u00e4'],
];

/** Strings that look like filters: tokens glued with or without spaces. */
const tokenSoup = fc
  .tuple(fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }), fc.constantFrom(' ', '', '  '))
  .map(([tokens, glue]) => tokens.join(glue));

/** Very deep or very long input built from one repeated piece. */
const hostile = fc
  .tuple(
    fc.constantFrom('(', 'NOT ', '- ', '+ ', 'a = ', 'a IS NULL ', 'a AND ', "'", '/* '),
    fc.integer({ min: 1, max: 6000 }),
    fc.constantFrom('', 'a', 'a = 1', ')'),
  )
  .map(([piece, n, tail]) => piece.repeat(n) + tail);

const anyInput = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
  tokenSoup,
  hostile,
);

/** Parses, or checks that the only thing thrown is a well-formed MQ_ERR_FILTER_INVALID. */
function parsesOrRejects(expression: string): void {
  try {
    parseSql(expression);
  } catch (e) {
    expect(isMqgateError(e)).toBe(true);
    if (!isMqgateError(e)) return;
    expect(e.code).toBe('MQ_ERR_FILTER_INVALID');
    const { position } = e.details as { position: number };
    expect(Number.isInteger(position)).toBe(true);
    expect(position).toBeGreaterThanOrEqual(1);
    expect(position).toBeLessThanOrEqual([...expression].length + 1);
  }
}

const operand = fc.constantFrom(
  'a',
  'b',
  'c',
  'TAGS',
  'constructor',
  '1',
  '-2',
  '5L',
  '1.5',
  '2147483648',
  "'x'",
  "''",
);
const ordered = fc.constantFrom('a', 'b', 'c', '1', '-2', '5L', '1.5', '-3.5e2', '9223372036854775807');
const strings = fc.constantFrom("'x'", "''", "'1'", "'true'", "'it''s'");

/** Expressions RocketMQ's grammar accepts, of every kind of condition. */
const { condition } = fc.letrec<{ condition: string }>((tie) => ({
  condition: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(operand, fc.constantFrom('=', '<>'), operand).map(([l, op, r]) => `${l} ${op} ${r}`),
    fc.tuple(ordered, fc.constantFrom('>', '>=', '<', '<='), ordered).map(([l, op, r]) => `${l} ${op} ${r}`),
    fc
      .tuple(fc.constantFrom('a', 'b'), fc.boolean(), ordered, ordered)
      .map(([p, not, lo, hi]) =>
        not ? `${p} NOT BETWEEN ${lo} AND ${hi}` : `${p} BETWEEN - ${lo} AND ${hi}`,
      ),
    fc
      .tuple(fc.constantFrom('a', 'b'), fc.boolean(), fc.array(strings, { minLength: 1, maxLength: 6 }))
      .map(([p, not, list]) => `${p} ${not ? 'NOT IN' : 'IN'} (${list.join(', ')})`),
    fc
      .tuple(operand, fc.boolean(), fc.constantFrom('CONTAINS', 'STARTSWITH', 'ENDSWITH'), strings)
      .map(([l, not, op, s]) => `${l} ${not ? 'NOT ' : ''}${op} ${s}`),
    fc.tuple(operand, fc.boolean()).map(([l, not]) => `${l} IS ${not ? 'NOT ' : ''}NULL`),
    fc.constantFrom('TRUE', 'FALSE', 'NULL', 'a', 'NOT b'),
    fc
      .tuple(tie('condition'), fc.constantFrom('AND', 'OR', 'and', 'Or'), tie('condition'))
      .map(([l, op, r]) => `${l} ${op} ${r}`),
    tie('condition').map((c) => `NOT (${c})`),
    tie('condition').map((c) => `(${c})`),
    tie('condition').map((c) => `(${c}) IS NOT NULL`),
  ),
}));

const value = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer().map(String),
  fc.double().map(String),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map(String),
  fc.constantFrom('NaN', '-Infinity', 'true', 'TRUE', '\uff15', ' 5 ', '5d', '1e3', '', "it's", 'x'),
);
const properties = fc.dictionary(
  fc.constantFrom('a', 'b', 'c', 'TAGS', 'constructor', '__proto__', 'toString'),
  value,
  { maxKeys: 7 },
);

function message(props: Record<string, string>, tag: string | undefined): StoredMessage {
  return {
    ...{ msgId: '0'.repeat(32), topic: 't', queueId: 0, queueOffset: 0, commitLogOffset: 0, storeSize: 0 },
    ...{ tag, keys: ['k'], properties: props, body: Buffer.alloc(0), bornTimestamp: 0, storeTimestamp: 0 },
    ...{ flag: 0, sysFlag: 0, reconsumeTimes: 0, preparedTransactionOffset: 0 },
  };
}

describe('filter properties', () => {
  it('sql92 property - any input parses or throws MQ_ERR_FILTER_INVALID with a position, never hangs or overflows', () => {
    fc.assert(fc.property(anyInput, parsesOrRejects), { numRuns: 2000 });
  });

  it('tag property - any input compiles or throws MQ_ERR_FILTER_INVALID', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 100 }), tokenSoup, hostile), (expression) => {
        try {
          const f = compileFilter({ type: FilterType.TAG, expression });
          expect(typeof f.matchMessage?.(message({}, expression.trim()))).toBe('boolean');
        } catch (e) {
          expect(isMqgateError(e) && e.code).toBe('MQ_ERR_FILTER_INVALID');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('sql92 property - generated valid expressions compile', () => {
    fc.assert(
      fc.property(condition, (expression) => {
        expect(() => parseSql(expression)).not.toThrow();
      }),
      { numRuns: 1000 },
    );
  });

  it('sql92 property - random property maps never make evaluation throw; e and NOT (e) never both match', () => {
    fc.assert(
      fc.property(condition, properties, fc.option(fc.string({ maxLength: 4 })), (expression, props, tag) => {
        const f = new SqlFilter(expression);
        const negated = new SqlFilter(`NOT (${expression})`);
        const m = message(props, tag ?? undefined);
        const takes = f.matchMessage(m);
        expect(typeof takes).toBe('boolean');
        expect(takes && negated.matchMessage(m)).toBe(false);
        expect(typeof f.matchProperties(props)).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });
});
