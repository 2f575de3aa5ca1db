/**
 * The syntax tree of a SQL92 filter expression.
 *
 * Nodes keep the surface syntax (`BETWEEN`, `IS NOT NULL`, `<>`); the evaluator applies the
 * meaning RocketMQ gives them (e.g. `a NOT BETWEEN x AND y` is `a < x OR a > y`). Every node
 * records its source span (UTF-16 indexes) for error messages and its depth, which the parser
 * bounds so evaluation never recurses deeply.
 */
import type { JavaValue } from './java-values.js';

/** The comparison operators. */
export const CompareOp = {
  EQ: '=',
  NE: '<>',
  GT: '>',
  GE: '>=',
  LT: '<',
  LE: '<=',
} as const;
export type CompareOp = (typeof CompareOp)[keyof typeof CompareOp];

/** The string tests RocketMQ 5.1.3 added. */
export const MatchOp = {
  CONTAINS: 'CONTAINS',
  STARTSWITH: 'STARTSWITH',
  ENDSWITH: 'ENDSWITH',
} as const;
export type MatchOp = (typeof MatchOp)[keyof typeof MatchOp];

/** Where a node came from and how deep its subtree is. */
export interface NodeSpan {
  readonly start: number;
  readonly end: number;
  /** 1 for a leaf, 1 + the deepest child otherwise. */
  readonly depth: number;
}

/** A literal: `'text'`, `5`, `5L`, `1.5`, TRUE, FALSE or NULL. */
export interface LiteralNode extends NodeSpan {
  readonly kind: 'literal';
  readonly value: JavaValue;
}

/** A message property, by name (case-sensitive). */
export interface PropertyNode extends NodeSpan {
  readonly kind: 'property';
  readonly name: string;
}

/** Unary minus. */
export interface NegateNode extends NodeSpan {
  readonly kind: 'negate';
  readonly operand: SqlNode;
}

/** A property used where a condition is expected (`a AND b`): RocketMQ's boolean cast. */
export interface CastNode extends NodeSpan {
  readonly kind: 'cast';
  readonly operand: PropertyNode;
}

/** Prefix NOT; binds tighter than any comparison, as in RocketMQ. */
export interface NotNode extends NodeSpan {
  readonly kind: 'not';
  readonly operand: SqlNode;
}

/** `x AND y AND ...` or `x OR y OR ...`, flattened, evaluated left to right. */
export interface LogicNode extends NodeSpan {
  readonly kind: 'and' | 'or';
  readonly operands: readonly SqlNode[];
}

/** `x = y`, `x <> y`, `x > y`, `x >= y`, `x < y`, `x <= y`. */
export interface CompareNode extends NodeSpan {
  readonly kind: 'compare';
  readonly op: CompareOp;
  readonly left: SqlNode;
  readonly right: SqlNode;
}

/** `x IS NULL`, `x IS NOT NULL`. */
export interface IsNullNode extends NodeSpan {
  readonly kind: 'isNull';
  readonly negated: boolean;
  readonly operand: SqlNode;
}

/** `x [NOT] BETWEEN low AND high`. */
export interface BetweenNode extends NodeSpan {
  readonly kind: 'between';
  readonly negated: boolean;
  readonly operand: SqlNode;
  readonly low: SqlNode;
  readonly high: SqlNode;
}

/** `property [NOT] IN ('a', 'b')`. */
export interface InNode extends NodeSpan {
  readonly kind: 'in';
  readonly negated: boolean;
  readonly operand: PropertyNode;
  readonly values: ReadonlySet<string>;
}

/** `x [NOT] CONTAINS|STARTSWITH|ENDSWITH 'text'`. */
export interface MatchNode extends NodeSpan {
  readonly kind: 'match';
  readonly op: MatchOp;
  readonly negated: boolean;
  readonly operand: SqlNode;
  readonly search: string;
}

/** Any node of a filter expression. */
export type SqlNode =
  | LiteralNode
  | PropertyNode
  | NegateNode
  | CastNode
  | NotNode
  | LogicNode
  | CompareNode
  | IsNullNode
  | BetweenNode
  | InNode
  | MatchNode;

/**
 * True for the nodes RocketMQ types as `BooleanExpression`: conditions, and the TRUE, FALSE and
 * NULL literals. Only these (and properties, through a cast) may stand where a condition is needed.
 */
export function isCondition(node: SqlNode): boolean {
  switch (node.kind) {
    case 'literal':
      return node.value === null || typeof node.value === 'boolean';
    case 'property':
    case 'negate':
      return false;
    default:
      return true;
  }
}
