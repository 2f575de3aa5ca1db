/**
 * The Java values RocketMQ's SQL92 filter computes with, and its comparison rules.
 *
 * RocketMQ evaluates filters over `Object`s: property values are `String`, literals are `Integer`
 * (fits 32 bits), `Long`, `Double`, `String` or `Boolean`, and `null` is SQL's unknown. How two
 * values compare depends on their Java classes (`ComparisonExpression.__compare` with string
 * conversion on, as `SelectorParser.parse` sets it); this module reproduces those rules. A failed
 * conversion (`Integer.valueOf("abc")`) is an exception in Java, which makes the whole filter miss
 * the message; here it is the {@link ABORT} value.
 */

/** A Java number, tagged with its boxed class. */
export type JavaNumber =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'long'; readonly value: bigint }
  | { readonly kind: 'double'; readonly value: number };

/** A value during evaluation: a Java String, Boolean, number, or null (unknown). */
export type JavaValue = string | boolean | JavaNumber | null;

/** The evaluation failed the way a Java exception would: the message does not match. */
export const ABORT: unique symbol = Symbol('abort');
export type Abort = typeof ABORT;

const INT_MIN = -(2n ** 31n);
const INT_MAX = 2n ** 31n - 1n;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;
const DECIMAL_DIGIT = /\p{Nd}/u;

/** True when `v` is a Java number. */
export function isJavaNumber(v: JavaValue): v is JavaNumber {
  return typeof v === 'object' && v !== null;
}

/** An integer literal as Java boxes it: `Integer` when it fits 32 bits, else `Long`. */
export function javaInteger(value: bigint): JavaNumber {
  return value >= INT_MIN && value <= INT_MAX
    ? { kind: 'int', value: Number(value) }
    : { kind: 'long', value };
}

/** Unary minus on a Java number (never overflows for values a literal can produce). */
export function negate(n: JavaNumber): JavaNumber {
  if (n.kind === 'long') return { kind: 'long', value: -n.value };
  // Java's int has no -0: keep `-(0)` an exact 0 so it converts to 0.0, not -0.0.
  return n.kind === 'int' ? { kind: 'int', value: -n.value | 0 } : { kind: 'double', value: -n.value };
}

/** `Character.digit(c, 10)`: ASCII digits and every other BMP Unicode decimal digit (Nd). */
function digitValue(unit: number): number {
  if (unit >= 0x30 && unit <= 0x39) return unit - 0x30;
  if (unit < 0x80 || (unit >= 0xd800 && unit <= 0xdfff)) return -1;
  if (!DECIMAL_DIGIT.test(String.fromCharCode(unit))) return -1;
  // Unicode lays every Nd script out as contiguous runs of ten, zero first.
  let start = unit;
  while (DECIMAL_DIGIT.test(String.fromCharCode(start - 1))) start--;
  return (unit - start) % 10;
}

/** `Long.parseLong(s)` limited to `[min, max]`, or undefined where Java throws NumberFormatException. */
function parseJavaIntegral(s: string, min: bigint, max: bigint): bigint | undefined {
  let i = 0;
  const first = s.charCodeAt(0);
  if (first === 0x2d || first === 0x2b) i = 1;
  if (i >= s.length) return undefined;
  let value = 0n;
  for (; i < s.length; i++) {
    const digit = digitValue(s.charCodeAt(i));
    if (digit < 0) return undefined;
    value = value * 10n + BigInt(digit);
    if (value > max + 1n) return undefined;
  }
  if (first === 0x2d) value = -value;
  return value < min || value > max ? undefined : value;
}

const JAVA_DOUBLE = /^[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?)$/;

/**
 * `Double.valueOf(s)`: trims chars up to U+0020, accepts a sign, `NaN`, `Infinity`, decimal and
 * exponent forms and an `f`/`d` suffix. Hexadecimal floats (`0x1p3`) are not supported.
 */
export function parseJavaDouble(s: string): number | undefined {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) <= 0x20) start++;
  while (end > start && s.charCodeAt(end - 1) <= 0x20) end--;
  const t = s.slice(start, end);
  if (!JAVA_DOUBLE.test(t)) return undefined;
  const last = t.charCodeAt(t.length - 1) | 0x20;
  const body = last === 0x64 || last === 0x66 ? t.slice(0, -1) : t;
  return Number(body);
}

/** Converts a String to the class of `like`, as `__compare` does; undefined where Java throws. */
function stringAs(s: string, like: JavaNumber): JavaNumber | undefined {
  if (like.kind === 'double') {
    const d = parseJavaDouble(s);
    return d === undefined ? undefined : { kind: 'double', value: d };
  }
  const v =
    like.kind === 'int' ? parseJavaIntegral(s, INT_MIN, INT_MAX) : parseJavaIntegral(s, LONG_MIN, LONG_MAX);
  if (v === undefined) return undefined;
  return like.kind === 'int' ? { kind: 'int', value: Number(v) } : { kind: 'long', value: v };
}

/** `Double.compare`: NaN above everything and equal to itself, -0.0 below 0.0. */
function compareDoubles(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === b && a !== 0) return 0;
  const ka = Number.isNaN(a) ? 2 : Object.is(a, -0) ? -1 : 0;
  const kb = Number.isNaN(b) ? 2 : Object.is(b, -0) ? -1 : 0;
  return Math.sign(ka - kb);
}

function compareNumbers(a: JavaNumber, b: JavaNumber): number {
  if (a.kind === 'double' || b.kind === 'double') return compareDoubles(Number(a.value), Number(b.value));
  if (a.kind === 'long' || b.kind === 'long') {
    const x = BigInt(a.value);
    const y = BigInt(b.value);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return Math.sign(a.value - b.value);
}

/**
 * RocketMQ's `ComparisonExpression.__compare(lv, rv, true)` on two non-null values: the sign of
 * `lv.compareTo(rv)` after its conversions, or {@link ABORT} where Java throws.
 *
 * - Same class: natural order (Strings by UTF-16 units, `false < true`, `Double.compare`).
 * - Two numbers: the narrower converts to the wider (int < long < double).
 * - String and number: the String converts to the number's class (`Integer.valueOf`,
 *   `Long.valueOf`, `Double.valueOf`); a String that does not parse aborts.
 * - String on the left, Boolean on the right: `Boolean.valueOf(string)` (true iff "true" in any case).
 * - Boolean on the left, String on the right: Java casts the Boolean to String and throws: abort.
 * - Any other mix (Boolean and number): -1.
 */
export function compareJava(lv: Exclude<JavaValue, null>, rv: Exclude<JavaValue, null>): number | Abort {
  if (typeof lv === 'string') {
    if (typeof rv === 'string') return lv < rv ? -1 : lv > rv ? 1 : 0;
    if (typeof rv === 'boolean') return Number(lv.toLowerCase() === 'true') - Number(rv);
    const l = stringAs(lv, rv);
    return l === undefined ? ABORT : compareNumbers(l, rv);
  }
  if (typeof lv === 'boolean') {
    if (typeof rv === 'boolean') return Number(lv) - Number(rv);
    return typeof rv === 'string' ? ABORT : -1;
  }
  if (typeof rv === 'string') {
    const r = stringAs(rv, lv);
    return r === undefined ? ABORT : compareNumbers(lv, r);
  }
  if (typeof rv === 'boolean') return -1;
  return compareNumbers(lv, rv);
}
