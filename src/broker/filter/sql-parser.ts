/**
 * A recursive-descent parser for SQL92 filter expressions with the grammar and the checks of
 * RocketMQ's `SelectorParser.jj` (5.1.3). From loosest to tightest binding:
 *
 * ```text
 * or         := and (OR and)*
 * and        := equality (AND equality)*
 * equality   := comparison ( ('=' | '<>') comparison | IS [NOT] NULL )*
 * comparison := unary ( ('>' | '>=' | '<' | '<=') unary
 *                     | [NOT] (CONTAINS | STARTSWITH | ENDSWITH) 'string'
 *                     | [NOT] BETWEEN unary AND unary
 *                     | [NOT] IN '(' 'string' (',' 'string')* ')' )*
 * unary      := '+' unary | '-' unary | NOT unary | primary
 * primary    := literal | property | '(' or ')'
 * ```
 *
 * So NOT binds tighter than comparisons, as in RocketMQ (and ActiveMQ, whose grammar it took):
 * `NOT a = 1` means `(NOT a) = 1`, which never matches; write `NOT (a = 1)` or `a <> 1`.
 *
 * The checks RocketMQ makes while building its tree are made here too, with a position: `=` and
 * `<>` refuse a NULL literal (use IS NULL); `> >= < <=` and BETWEEN take numbers or properties only
 * (not strings, TRUE/FALSE or conditions); BETWEEN of two number literals needs low <= high; IN
 * needs a property on its left; AND, OR, NOT and the whole expression need conditions (a property
 * counts: RocketMQ casts it); `0.0` and integers beyond the Java long range are refused.
 *
 * Deviation: RocketMQ stops at the first token that cannot continue the expression and silently
 * ignores the rest (`a = 1 b = 2` means `a = 1`); mqgate rejects such trailing input.
 */
import { checkExpressionLength, filterError, MAX_NESTING_DEPTH } from './filter-error.js';
import { javaInteger } from './java-values.js';
import type { JavaValue } from './java-values.js';
import { CompareOp } from './sql-ast.js';
import type { LiteralNode, MatchOp, SqlNode } from './sql-ast.js';
import { asCondition, checkBetweenBounds, checkEqualOperands, checkOrdered, failAt } from './sql-checks.js';
import { describeToken, Keyword, Lexer } from './sql-lexer.js';
import type { Token } from './sql-lexer.js';

/**
 * Parses a SQL92 filter expression into its tree.
 *
 * @throws MqgateError `MQ_ERR_FILTER_INVALID` naming the position and what was expected there
 */
export function parseSql(expression: string): SqlNode {
  checkExpressionLength(expression);
  return new Parser(expression).parse();
}

const LONG_MAX = 2n ** 63n - 1n;
const ORDER_OPS: ReadonlySet<string> = new Set([CompareOp.GT, CompareOp.GE, CompareOp.LT, CompareOp.LE]);
const POSTFIX: ReadonlySet<string> = new Set([
  Keyword.CONTAINS,
  Keyword.STARTSWITH,
  Keyword.ENDSWITH,
  Keyword.BETWEEN,
  Keyword.IN,
]);
const VALUE = 'a value (a property name, a number, a quoted string, TRUE, FALSE or NULL) or "("';

const isKeyword = (t: Token, k: Keyword): boolean => t.type === 'keyword' && t.keyword === k;
const isOp = (t: Token, op: string): boolean => t.type === 'op' && t.op === op;

class Parser {
  readonly #s: string;
  readonly #lexer: Lexer;
  readonly #ahead: Token[] = [];
  #nesting = 0;

  constructor(expression: string) {
    this.#s = expression;
    this.#lexer = new Lexer(expression);
  }

  parse(): SqlNode {
    const node = asCondition(this.#s, this.#or());
    const t = this.#peek();
    if (t.type !== 'eof') this.#fail(t, 'an operator or the end of the expression');
    return node;
  }

  #peek(k = 0): Token {
    while (this.#ahead.length <= k) this.#ahead.push(this.#lexer.next());
    return this.#ahead[k] as Token;
  }

  #take(): Token {
    const t = this.#peek();
    this.#ahead.shift();
    return t;
  }

  #fail(t: Token, expected: string): never {
    throw filterError(this.#s, t.start, expected, describeToken(this.#s, t));
  }

  /** The depth of a node over `children`, refused (at UTF-16 index `at`) beyond the limit. */
  #depth(at: number, ...children: SqlNode[]): number {
    const depth = 1 + Math.max(0, ...children.map((c) => c.depth));
    if (depth > MAX_NESTING_DEPTH) {
      throw filterError(this.#s, at, `at most ${MAX_NESTING_DEPTH} nested levels`, 'deeper nesting');
    }
    return depth;
  }

  /** Runs `parse` one nesting level deeper (parentheses, prefix operators). */
  #nested<T>(t: Token, parse: () => T): T {
    if (++this.#nesting > MAX_NESTING_DEPTH) {
      throw filterError(this.#s, t.start, `at most ${MAX_NESTING_DEPTH} nested levels`, 'deeper nesting');
    }
    const result = parse();
    this.#nesting--;
    return result;
  }

  #or(): SqlNode {
    return this.#logic('or', Keyword.OR, () => this.#and());
  }

  #and(): SqlNode {
    return this.#logic('and', Keyword.AND, () => this.#equality());
  }

  #logic(kind: 'and' | 'or', keyword: Keyword, operand: () => SqlNode): SqlNode {
    const first = operand();
    if (!isKeyword(this.#peek(), keyword)) return first;
    const operands = [asCondition(this.#s, first)];
    while (isKeyword(this.#peek(), keyword)) {
      this.#take();
      operands.push(asCondition(this.#s, operand()));
    }
    const { start } = first;
    const end = (operands[operands.length - 1] as SqlNode).end;
    return { kind, operands, start, end, depth: this.#depth(start, ...operands) };
  }

  #equality(): SqlNode {
    let left = this.#comparison();
    for (;;) {
      const t = this.#peek();
      const { start } = left;
      if (isOp(t, CompareOp.EQ) || isOp(t, CompareOp.NE)) {
        this.#take();
        const right = this.#comparison();
        checkEqualOperands(this.#s, left, right);
        const op = t.type === 'op' && t.op === CompareOp.EQ ? CompareOp.EQ : CompareOp.NE;
        const depth = this.#depth(t.start, left, right);
        left = { kind: 'compare', op, left, right, start, end: right.end, depth };
      } else if (isKeyword(t, Keyword.IS)) {
        this.#take();
        const negated = isKeyword(this.#peek(), Keyword.NOT);
        if (negated) this.#take();
        const n = this.#take();
        if (!isKeyword(n, Keyword.NULL)) this.#fail(n, negated ? 'NULL' : 'NULL or NOT NULL');
        const depth = this.#depth(t.start, left);
        left = { kind: 'isNull', negated, operand: left, start, end: n.end, depth };
      } else {
        return left;
      }
    }
  }

  #comparison(): SqlNode {
    let left = this.#unary();
    for (;;) {
      const t = this.#peek();
      const { start } = left;
      if (t.type === 'op' && ORDER_OPS.has(t.op)) {
        this.#take();
        const right = this.#unary();
        checkOrdered(this.#s, left);
        checkOrdered(this.#s, right);
        const op = t.op as CompareOp;
        const depth = this.#depth(t.start, left, right);
        left = { kind: 'compare', op, left, right, start, end: right.end, depth };
        continue;
      }
      const negated = isKeyword(t, Keyword.NOT) && this.#isPostfix(this.#peek(1));
      if (negated) this.#take();
      const k = this.#peek();
      if (!this.#isPostfix(k) || k.type !== 'keyword') return left;
      this.#take();
      left = this.#postfix(left, k, negated);
    }
  }

  #isPostfix(t: Token): boolean {
    return t.type === 'keyword' && POSTFIX.has(t.keyword);
  }

  /** The rest of `operand [NOT] BETWEEN|IN|CONTAINS|STARTSWITH|ENDSWITH ...` after the keyword. */
  #postfix(operand: SqlNode, k: Token & { type: 'keyword' }, negated: boolean): SqlNode {
    const { start } = operand;
    const { keyword } = k;
    if (keyword === Keyword.BETWEEN) {
      const low = this.#unary();
      const and = this.#take();
      if (!isKeyword(and, Keyword.AND)) this.#fail(and, 'AND between the bounds of BETWEEN');
      const high = this.#unary();
      for (const n of [operand, low, high]) checkOrdered(this.#s, n);
      if (!negated) checkBetweenBounds(this.#s, low, high);
      const depth = this.#depth(k.start, operand, low, high);
      return { kind: 'between', negated, operand, low, high, start, end: high.end, depth };
    }
    if (keyword === Keyword.IN) {
      const open = this.#take();
      if (!isOp(open, '(')) this.#fail(open, '"(" starting the list of IN');
      const values = new Set([this.#string('a quoted string in the list of IN')]);
      let close = this.#take();
      while (isOp(close, ',')) {
        values.add(this.#string('a quoted string in the list of IN'));
        close = this.#take();
      }
      if (!isOp(close, ')')) this.#fail(close, '"," or ")" in the list of IN');
      if (operand.kind !== 'property') failAt(this.#s, operand, 'a property name before IN');
      return {
        kind: 'in',
        negated,
        operand,
        values,
        start,
        end: close.end,
        depth: this.#depth(k.start, operand),
      };
    }
    const op = keyword as MatchOp;
    const end = this.#peek().end;
    const search = this.#string(`a quoted string after ${keyword}`);
    return { kind: 'match', op, negated, operand, search, start, end, depth: this.#depth(k.start, operand) };
  }

  #string(expected: string): string {
    const t = this.#take();
    if (t.type !== 'string') this.#fail(t, expected);
    return t.value;
  }

  #unary(): SqlNode {
    const t = this.#peek();
    if (isOp(t, '+')) {
      this.#take();
      return this.#nested(t, () => this.#unary());
    }
    if (isOp(t, '-') || isKeyword(t, Keyword.NOT)) {
      this.#take();
      const kind = t.type === 'op' ? 'negate' : 'not';
      const operand = this.#nested(t, () =>
        kind === 'not' ? asCondition(this.#s, this.#unary()) : this.#unary(),
      );
      return { kind, operand, start: t.start, end: operand.end, depth: this.#depth(t.start, operand) };
    }
    return this.#primary();
  }

  #primary(): SqlNode {
    const t = this.#take();
    const { start, end } = t;
    const literal = (value: JavaValue): LiteralNode => ({ kind: 'literal', value, start, end, depth: 1 });
    switch (t.type) {
      case 'string':
        return literal(t.value);
      case 'id':
        return { kind: 'property', name: t.name, start, end, depth: 1 };
      case 'integer': {
        const value = BigInt(t.text);
        if (value > LONG_MAX) this.#fail(t, `an integer of at most ${LONG_MAX} (the Java long range)`);
        return literal(javaInteger(value));
      }
      case 'decimal': {
        const value = Number(t.text);
        if (value === Infinity) this.#fail(t, 'a decimal number within the range of a Java double');
        // RocketMQ refuses any decimal literal below Double.MIN_VALUE, and so 0.0 itself.
        if (value === 0) this.#fail(t, 'a decimal number other than zero (RocketMQ refuses 0.0: write 0)');
        return literal({ kind: 'double', value });
      }
      case 'keyword':
        if (t.keyword === Keyword.TRUE) return literal(true);
        if (t.keyword === Keyword.FALSE) return literal(false);
        if (t.keyword === Keyword.NULL) return literal(null);
        break;
      case 'op':
        if (t.op === '(') {
          const inner = this.#nested(t, () => this.#or());
          const close = this.#take();
          if (!isOp(close, ')')) this.#fail(close, '")" or an operator');
          return inner;
        }
        break;
      default:
        break;
    }
    return this.#fail(t, VALUE);
  }
}
