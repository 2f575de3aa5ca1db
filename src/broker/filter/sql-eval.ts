/**
 * Evaluation of a SQL92 filter tree against a message's properties, with RocketMQ's semantics
 * (`org.apache.rocketmq.filter.expression`, 5.1.3; broker `ExpressionMessageFilter`):
 *
 * - A property value is a string, or null (unknown) when the message does not have it.
 * - Three-valued logic: AND is false if either side is false, else unknown if either is unknown;
 *   OR is true if either side is true, else unknown if either is unknown; NOT unknown is unknown.
 *   The message matches only when the whole expression is TRUE: unknown does not match, and so
 *   neither `a = 1` nor `NOT (a = 1)` matches a message without `a`.
 * - `x = y`: both unknown is TRUE; `x` unknown is unknown; `y` unknown (x known) is FALSE. So
 *   `a = 'x'` and `a <> 'x'` never match without `a`, but `'x' <> a` does (RocketMQ's asymmetry).
 * - `> >= < <=` and BETWEEN: unknown if either side is unknown; two strings compare as
 *   `Double.valueOf` numbers; otherwise see `compareJava` (a string against an integer literal
 *   is read by `Integer.valueOf`, so `a > 5` with `a = '5.5'` fails to convert).
 * - `IS NULL` and `IS NOT NULL` are never unknown.
 * - `IN` is unknown without the property. CONTAINS, STARTSWITH, ENDSWITH and their NOT forms are
 *   FALSE (not unknown) without the property, on a non-string, or with an empty search string.
 * - A property used as a condition (`a AND b`) is unknown without it, FALSE with it.
 * - Where RocketMQ throws (a value that does not convert, e.g. `a > 5` with `a = 'abc'`), the
 *   broker logs and the message does not match, whatever the rest of the expression says: the
 *   evaluation aborts ({@link ABORT}), except in parts AND/OR never evaluate (left to right,
 *   short-circuit, as in Java).
 */
import { ABORT, compareJava, isJavaNumber, negate, parseJavaDouble } from './java-values.js';
import type { Abort, JavaValue } from './java-values.js';
import { CompareOp, MatchOp } from './sql-ast.js';
import type { SqlNode } from './sql-ast.js';

/** Finds a property of the message being filtered; undefined when it has none. */
export type PropertyLookup = (name: string) => string | undefined;

type Outcome = JavaValue | Abort;
/** A condition's outcome: TRUE, FALSE, unknown (null) or aborted. */
type Truth = boolean | null | Abort;

/** True when `node` evaluates to TRUE for the message whose properties `lookup` reads. */
export function matches(node: SqlNode, lookup: PropertyLookup): boolean {
  return evaluate(node, lookup) === true;
}

/** The value of `node` for one message. */
export function evaluate(node: SqlNode, lookup: PropertyLookup): Outcome {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'property':
      return lookup(node.name) ?? null;
    case 'cast':
      return lookup(node.operand.name) === undefined ? null : false;
    case 'negate': {
      const v = evaluate(node.operand, lookup);
      if (v === ABORT) return ABORT;
      return isJavaNumber(v) ? negate(v) : null;
    }
    case 'not':
      return not(truth(evaluate(node.operand, lookup)));
    case 'and':
    case 'or':
      return logic(node.kind === 'and', node.operands.length, (i) =>
        test(node.operands[i] as SqlNode, lookup),
      );
    case 'compare':
      if (node.op === CompareOp.EQ) return equal(node.left, node.right, lookup);
      if (node.op === CompareOp.NE) return not(equal(node.left, node.right, lookup));
      return ordered(node.op, node.left, node.right, lookup);
    case 'isNull': {
      const v = evaluate(node.operand, lookup);
      if (v === ABORT) return ABORT;
      return (v === null) !== node.negated;
    }
    case 'between': {
      const { operand, low, high } = node;
      // RocketMQ builds BETWEEN as (x >= low AND x <= high), NOT BETWEEN as (x < low OR x > high).
      return node.negated
        ? logic(false, 2, (i) =>
            i === 0 ? ordered('<', operand, low, lookup) : ordered('>', operand, high, lookup),
          )
        : logic(true, 2, (i) =>
            i === 0 ? ordered('>=', operand, low, lookup) : ordered('<=', operand, high, lookup),
          );
    }
    case 'in': {
      const v = lookup(node.operand.name);
      return v === undefined ? null : node.values.has(v) !== node.negated;
    }
    case 'match': {
      if (node.search.length === 0) return false;
      const v = evaluate(node.operand, lookup);
      if (v === ABORT) return ABORT;
      if (typeof v !== 'string') return false;
      return stringTest(node.op, v, node.search) !== node.negated;
    }
  }
}

function test(node: SqlNode, lookup: PropertyLookup): Truth {
  return truth(evaluate(node, lookup));
}

/** A condition's value; anything else is the ClassCastException Java would throw. */
function truth(v: Outcome): Truth {
  return v === null || v === ABORT || typeof v === 'boolean' ? v : ABORT;
}

function not(t: Truth): Truth {
  return typeof t === 'boolean' ? !t : t;
}

/** AND (`isAnd`) or OR over `count` operands read lazily, left to right, with short-circuit. */
function logic(isAnd: boolean, count: number, operand: (i: number) => Truth): Truth {
  let unknown = false;
  for (let i = 0; i < count; i++) {
    const t = operand(i);
    if (t === ABORT) return ABORT;
    if (t === null) unknown = true;
    else if (t !== isAnd) return t;
  }
  return unknown ? null : isAnd;
}

/** RocketMQ's `doCreateEqual`: both sides are evaluated, then compared. */
function equal(left: SqlNode, right: SqlNode, lookup: PropertyLookup): Truth {
  const lv = evaluate(left, lookup);
  if (lv === ABORT) return ABORT;
  const rv = evaluate(right, lookup);
  if (rv === ABORT) return ABORT;
  if (lv === null) return rv === null ? true : null;
  if (rv === null) return false;
  const c = compareJava(lv, rv);
  return c === ABORT ? ABORT : c === 0;
}

/** RocketMQ's `ComparisonExpression.evaluate` for `> >= < <=`. */
function ordered(op: string, left: SqlNode, right: SqlNode, lookup: PropertyLookup): Truth {
  const lv = evaluate(left, lookup);
  if (lv === ABORT || lv === null) return lv;
  const rv = evaluate(right, lookup);
  if (rv === ABORT || rv === null) return rv;
  let c: number | Abort;
  if (typeof lv === 'string' && typeof rv === 'string') {
    // "Compare String is illegal": both are read as doubles, or the comparison throws.
    const l = parseJavaDouble(lv);
    const r = parseJavaDouble(rv);
    if (l === undefined || r === undefined) return ABORT;
    c = compareJava({ kind: 'double', value: l }, { kind: 'double', value: r });
  } else {
    c = compareJava(lv, rv);
  }
  if (c === ABORT) return ABORT;
  switch (op) {
    case CompareOp.GT:
      return c > 0;
    case CompareOp.GE:
      return c >= 0;
    case CompareOp.LT:
      return c < 0;
    default:
      return c <= 0;
  }
}

function stringTest(op: MatchOp, value: string, search: string): boolean {
  if (op === MatchOp.CONTAINS) return value.includes(search);
  if (op === MatchOp.STARTSWITH) return value.startsWith(search);
  return value.endsWith(search);
}
