/**
 * Tag subscriptions, as RocketMQ's `FilterAPI.buildSubscriptionData` builds them.
 *
 * - `*`, the empty string or no expression: every message, tagged or not.
 * - Otherwise the expression is split on `||`; each part is trimmed and empty parts are dropped.
 *   The tags left form a set and their Java hash codes a code set. `*` is special only as the
 *   whole expression: in `A || *` or ` * ` it is the literal tag `*`, as in RocketMQ.
 * - A message matches when its tag is in the set. The broker checks the ConsumeQueue's tags code
 *   against the code set and the client checks the tag string against the tag set (RocketMQ
 *   `PullAPIWrapper.processPullResult`), so hash collisions ("Aa" and "BB") never leak messages
 *   and an untagged message matches only `*`.
 *
 * Deviation: RocketMQ throws for an expression whose split has no parts at all (`||`) but silently
 * matches nothing for one whose parts are all blank (` || `); mqgate rejects both.
 */
import { javaStringHashCode } from '../../message/index.js';
import type { StoredMessage } from '../../message/index.js';
import type { MessageFilter } from '../../store/index.js';
import { checkExpressionLength, filterError } from './filter-error.js';

/** The expression that subscribes to every tag (RocketMQ `SubscriptionData.SUB_ALL`). */
export const SUB_ALL = '*';

const TAG_SEPARATOR = '||';

/** A tag subscription compiled once: a hash pre-filter plus an exact tag check. */
export class TagFilter implements MessageFilter {
  readonly type = 'TAG';
  /** The expression as subscribed; `*` when it was empty or absent. */
  readonly expression: string;
  /** The tags subscribed to; empty when the filter takes every message. */
  readonly tags: ReadonlySet<string>;
  readonly #all: boolean;
  readonly #codes: ReadonlySet<number>;

  /**
   * @param expression - `*`, `A || B || C`, or empty/undefined/null for every message
   * @throws MqgateError `MQ_ERR_FILTER_INVALID` when the expression names no tag or is too long
   */
  constructor(expression: string | null | undefined) {
    if (expression === undefined || expression === null || expression === '' || expression === SUB_ALL) {
      this.expression = SUB_ALL;
      this.tags = new Set();
      this.#codes = new Set();
      this.#all = true;
      return;
    }
    checkExpressionLength(expression);
    const tags = parseTags(expression);
    if (tags.size === 0) {
      const index = expression.length - expression.trimStart().length;
      throw filterError(expression, index, `a tag, '${SUB_ALL}' or tags separated by '||'`, 'no tag');
    }
    this.expression = expression;
    this.tags = tags;
    this.#codes = new Set([...tags].map(javaStringHashCode));
    this.#all = false;
  }

  /** True when this filter takes every message (`*`). */
  get matchesAll(): boolean {
    return this.#all;
  }

  /** The ConsumeQueue pre-check: false skips the entry without reading its record. */
  matchTagsCode(tagsCode: number): boolean {
    return this.#all || this.#codes.has(tagsCode);
  }

  /** The exact check: the message's tag string is one of the subscribed tags. */
  matchMessage(msg: StoredMessage): boolean {
    return this.#all || (msg.tag !== undefined && this.tags.has(msg.tag));
  }
}

/** The trimmed, non-empty tags of `A || B || C`, in order. */
export function parseTags(expression: string): Set<string> {
  const tags = new Set<string>();
  for (const part of expression.split(TAG_SEPARATOR)) {
    // Java's String.trim() removes every char <= U+0020, not only Unicode white space.
    const tag = javaTrim(part);
    if (tag.length > 0) tags.add(tag);
  }
  return tags;
}

/** Java `String.trim()`: strips leading and trailing chars whose code is at most U+0020. */
export function javaTrim(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) <= 0x20) start++;
  while (end > start && s.charCodeAt(end - 1) <= 0x20) end--;
  return s.slice(start, end);
}
