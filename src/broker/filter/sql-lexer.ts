/**
 * The tokenizer of SQL92 filter expressions, following the token rules of RocketMQ's
 * `SelectorParser.jj` (5.1.3, unchanged since):
 *
 * - white space is space, tab, CR, LF and form feed; `-- ...` comments run to the end of the line
 *   and `/* ... *\/` comments may span lines;
 * - keywords (NOT AND OR BETWEEN IN TRUE FALSE NULL IS CONTAINS STARTSWITH ENDSWITH) ignore case;
 * - identifiers are `[A-Za-z_$][A-Za-z0-9_$]*` and keep their case: no dots, no other letters;
 * - integers are `0` or `[1-9][0-9]*L?`; `07` is two tokens, `0` and `7`, and so is `0L`;
 * - decimals are `1.5`, `1.`, `.5`, `1e3`, `1.5E-3` (always unsigned: `-` is an operator);
 * - strings are single-quoted, `''` stands for one quote, and may span lines;
 * - operators are `= <> > >= < <= ( ) , + -`.
 *
 * Tokens are produced on demand, so the first problem in reading order is the one reported.
 * One leniency: a `--` comment may end at the end of the expression (RocketMQ wants a line break
 * but then stops parsing at the `-`, which ignores the rest: the meaning is the same).
 */
import { characterPosition, filterError } from './filter-error.js';

/** The reserved words of the grammar, upper case. */
export const Keyword = {
  NOT: 'NOT',
  AND: 'AND',
  OR: 'OR',
  BETWEEN: 'BETWEEN',
  IN: 'IN',
  TRUE: 'TRUE',
  FALSE: 'FALSE',
  NULL: 'NULL',
  IS: 'IS',
  CONTAINS: 'CONTAINS',
  STARTSWITH: 'STARTSWITH',
  ENDSWITH: 'ENDSWITH',
} as const;
export type Keyword = (typeof Keyword)[keyof typeof Keyword];

/** One token; `start` and `end` are UTF-16 indexes into the expression. */
export type Token = { readonly start: number; readonly end: number } & (
  | { readonly type: 'keyword'; readonly keyword: Keyword }
  | { readonly type: 'id'; readonly name: string }
  | { readonly type: 'integer'; readonly text: string }
  | { readonly type: 'decimal'; readonly text: string }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'op'; readonly op: string }
  | { readonly type: 'eof' }
);

const KEYWORDS: ReadonlyMap<string, Keyword> = new Map(Object.values(Keyword).map((k) => [k, k]));
const TWO_CHAR_OPS = new Set(['<>', '>=', '<=']);
const ONE_CHAR_OPS = new Set(['=', '>', '<', '(', ')', ',', '+', '-']);

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isIdStart = (c: string): boolean =>
  (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c === '$';
const isIdPart = (c: string): boolean => isIdStart(c) || isDigit(c);

/** How an error message shows a token: quoted text, or "end of expression". */
export function describeToken(expression: string, token: Token): string {
  if (token.type === 'eof') return 'end of expression';
  return quote(expression.slice(token.start, token.end));
}

/** `"text"`, cut to 32 characters. */
export function quote(text: string): string {
  return text.length > 32 ? `"${text.slice(0, 32)}..."` : `"${text}"`;
}

/** Reads the tokens of one expression, one at a time. */
export class Lexer {
  readonly #s: string;
  #i = 0;

  constructor(expression: string) {
    this.#s = expression;
  }

  /** The next token; `eof` (again and again) once the input is used up. */
  next(): Token {
    this.#skipSpaceAndComments();
    const s = this.#s;
    const start = this.#i;
    if (start >= s.length) return { type: 'eof', start, end: start };
    const c = s.charAt(start);
    if (isIdStart(c)) {
      let end = start + 1;
      while (end < s.length && isIdPart(s.charAt(end))) end++;
      this.#i = end;
      const word = s.slice(start, end);
      const keyword = KEYWORDS.get(word.toUpperCase());
      return keyword === undefined
        ? { type: 'id', name: word, start, end }
        : { type: 'keyword', keyword, start, end };
    }
    if (isDigit(c) || (c === '.' && isDigit(s.charAt(start + 1)))) return this.#number(start);
    if (c === "'") return this.#string(start);
    const two = s.slice(start, start + 2);
    const op = TWO_CHAR_OPS.has(two) ? two : ONE_CHAR_OPS.has(c) ? c : undefined;
    if (op === undefined) {
      const expected =
        two === '!=' ? '"<>" (the not-equal operator)' : 'an operator, a value or a property name';
      throw filterError(s, start, expected, quote(String.fromCodePoint(s.codePointAt(start) ?? 0)));
    }
    this.#i = start + op.length;
    return { type: 'op', op, start, end: this.#i };
  }

  #skipSpaceAndComments(): void {
    const s = this.#s;
    for (;;) {
      while (this.#i < s.length && isSpace(s.charAt(this.#i))) this.#i++;
      if (s.startsWith('--', this.#i)) {
        while (this.#i < s.length && s.charAt(this.#i) !== '\n' && s.charAt(this.#i) !== '\r') this.#i++;
      } else if (s.startsWith('/*', this.#i)) {
        const close = s.indexOf('*/', this.#i + 2);
        if (close < 0) throw filterError(s, s.length, '"*/" closing the comment', 'end of expression');
        this.#i = close + 2;
      } else {
        return;
      }
    }
  }

  #number(start: number): Token {
    const s = this.#s;
    let i = start;
    while (isDigit(s.charAt(i))) i++;
    let decimal = false;
    if (s.charAt(i) === '.') {
      decimal = true;
      i++;
      while (isDigit(s.charAt(i))) i++;
    }
    const exponent = this.#exponentEnd(i);
    if (exponent > i) {
      decimal = true;
      i = exponent;
    }
    if (decimal) {
      this.#i = i;
      return { type: 'decimal', text: s.slice(start, i), start, end: i };
    }
    // An integer starting with 0 is the single digit 0, without suffix: "07" reads as 0 then 7,
    // "0L" as 0 then the name L.
    const zero = s.charAt(start) === '0';
    let end = zero ? start + 1 : i;
    const text = s.slice(start, end);
    if (!zero && (s.charAt(end) === 'l' || s.charAt(end) === 'L')) end++;
    this.#i = end;
    return { type: 'integer', text, start, end };
  }

  /** The end of an exponent (`E`, optional sign, digits) starting at `i`, or `i` if there is none. */
  #exponentEnd(i: number): number {
    const s = this.#s;
    if (s.charAt(i) !== 'e' && s.charAt(i) !== 'E') return i;
    let j = i + 1;
    if (s.charAt(j) === '+' || s.charAt(j) === '-') j++;
    if (!isDigit(s.charAt(j))) return i;
    while (isDigit(s.charAt(j))) j++;
    return j;
  }

  #string(start: number): Token {
    const s = this.#s;
    let value = '';
    let i = start + 1;
    for (;;) {
      const close = s.indexOf("'", i);
      if (close < 0) {
        const where = `"'" closing the string opened at position ${characterPosition(s, start)}`;
        throw filterError(s, s.length, where, 'end of expression');
      }
      value += s.slice(i, close);
      if (s.charAt(close + 1) !== "'") {
        this.#i = close + 1;
        return { type: 'string', value, start, end: this.#i };
      }
      value += "'";
      i = close + 2;
    }
  }
}
