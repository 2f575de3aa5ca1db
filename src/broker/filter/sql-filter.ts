/**
 * A SQL92 subscription compiled once: RocketMQ's property filter (`MessageSelector.bySql`).
 *
 * RocketMQ evaluates the expression over the message's property map, where the tag is the
 * property `TAGS` and the keys are the property `KEYS` (space-separated). mqgate keeps the tag and
 * the keys as fields of the message, so `TAGS` and `KEYS` read them from there; every other name
 * is a user property. There is no pre-filter on the tags code (RocketMQ uses an optional bloom
 * filter there): every candidate message is read and evaluated.
 */
import type { StoredMessage } from '../../message/index.js';
import type { MessageFilter } from '../../store/index.js';
import type { SqlNode } from './sql-ast.js';
import { matches } from './sql-eval.js';
import type { PropertyLookup } from './sql-eval.js';
import { parseSql } from './sql-parser.js';

/** The property name under which RocketMQ exposes a message's tag. */
export const PROPERTY_TAGS = 'TAGS';
/** The property name under which RocketMQ exposes a message's keys, joined by spaces. */
export const PROPERTY_KEYS = 'KEYS';

/** A property lookup over a plain map that never sees inherited names such as `constructor`. */
export function lookupIn(properties: Readonly<Record<string, string>>): PropertyLookup {
  return (name) => (Object.hasOwn(properties, name) ? properties[name] : undefined);
}

/** The lookup RocketMQ's broker would see for `msg`: its properties plus `TAGS` and `KEYS`. */
export function messageLookup(msg: StoredMessage): PropertyLookup {
  const own = lookupIn(msg.properties);
  return (name) => {
    if (name === PROPERTY_TAGS && msg.tag !== undefined) return msg.tag;
    if (name === PROPERTY_KEYS && msg.keys.length > 0) return msg.keys.join(' ');
    return own(name);
  };
}

/** A compiled SQL92 filter. */
export class SqlFilter implements MessageFilter {
  readonly type = 'SQL92';
  readonly expression: string;
  /** The parsed expression. */
  readonly ast: SqlNode;

  /**
   * @throws MqgateError `MQ_ERR_FILTER_INVALID` naming the position and what was expected there
   */
  constructor(expression: string) {
    this.ast = parseSql(expression);
    this.expression = expression;
  }

  /** True when the message's properties (with its tag as `TAGS`, keys as `KEYS`) satisfy the filter. */
  matchMessage(msg: StoredMessage): boolean {
    return matches(this.ast, messageLookup(msg));
  }

  /** True when a plain property map satisfies the filter (names are looked up as they are). */
  matchProperties(properties: Readonly<Record<string, string>>): boolean {
    return matches(this.ast, lookupIn(properties));
  }
}
