/**
 * The checks RocketMQ makes while building a filter's tree (`ComparisonExpression.create*`,
 * `SelectorParser.asBooleanExpression`), made here with the position of the offending operand.
 * An expression that fails one is refused at subscription time, as RocketMQ refuses it.
 */
import { filterError } from './filter-error.js';
import { compareJava, isJavaNumber } from './java-values.js';
import { isCondition } from './sql-ast.js';
import type { SqlNode } from './sql-ast.js';
import { quote } from './sql-lexer.js';

const CONDITION = 'a condition (a comparison, TRUE, FALSE or a property name)';
const ORDERED = 'a number or a property name (> >= < <= and BETWEEN compare numbers only)';

/** Refuses `expression` at `node`: "expected X, found <the node's source text>". */
export function failAt(expression: string, node: SqlNode, expected: string): never {
  throw filterError(expression, node.start, expected, quote(expression.slice(node.start, node.end)));
}

/**
 * RocketMQ's `asBooleanExpression`: a condition stands as it is, a property is cast (unknown when
 * absent, FALSE when present: a property value is a string, never a boolean), anything else fails.
 */
export function asCondition(expression: string, node: SqlNode): SqlNode {
  if (isCondition(node)) return node;
  if (node.kind === 'property')
    return { kind: 'cast', operand: node, start: node.start, end: node.end, depth: 2 };
  return failAt(expression, node, CONDITION);
}

/**
 * RocketMQ's `checkLessThanOperand` for `> >= < <=` and BETWEEN: a literal must be a number, and
 * a condition cannot be ordered; properties and negations pass (their values are checked later).
 */
export function checkOrdered(expression: string, node: SqlNode): void {
  if (node.kind === 'literal' ? !isJavaNumber(node.value) : isCondition(node))
    failAt(expression, node, ORDERED);
}

/**
 * RocketMQ's `createBetween` check: with two literal bounds, low must not be above high. Only a
 * bare literal counts: `-5` is a negation, so `a BETWEEN -1 AND -5` passes (and never matches).
 */
export function checkBetweenBounds(expression: string, low: SqlNode, high: SqlNode): void {
  if (low.kind !== 'literal' || high.kind !== 'literal') return;
  if (!isJavaNumber(low.value) || !isJavaNumber(high.value)) return;
  const order = compareJava(high.value, low.value);
  if (typeof order !== 'number' || order < 0)
    failAt(expression, low, 'a lower bound not above the upper bound');
}

/** RocketMQ's `checkEqualOperand` and `checkEqualOperandCompatability` for `=` and `<>`. */
export function checkEqualOperands(expression: string, left: SqlNode, right: SqlNode): void {
  for (const n of [left, right]) {
    if (n.kind === 'literal' && n.value === null)
      failAt(expression, n, 'a value other than NULL (write IS NULL)');
  }
  // A boolean literal on the left may only meet a boolean literal on the right (`1 = TRUE` passes).
  if (left.kind === 'literal' && right.kind === 'literal' && isCondition(left) && !isCondition(right)) {
    failAt(expression, right, 'TRUE or FALSE (a boolean literal only compares with a boolean literal)');
  }
}
