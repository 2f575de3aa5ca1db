/**
 * Subscription filters of the broker core: RocketMQ's tag expressions and SQL92 property filters,
 * compiled once per subscription into a {@link MessageFilter} the store applies while reading.
 */
import { MqgateError } from '../../errors.js';
import type { MessageFilter } from '../../store/index.js';
import { SqlFilter } from './sql-filter.js';
import { TagFilter } from './tag-filter.js';

/** The expression languages of a subscription (RocketMQ `ExpressionType`). */
export const FilterType = {
  /** `*` or `TagA || TagB`. */
  TAG: 'TAG',
  /** A SQL92 condition over message properties. */
  SQL92: 'SQL92',
} as const;
export type FilterType = (typeof FilterType)[keyof typeof FilterType];

/** What a subscriber asks for. */
export interface FilterSpec {
  readonly type: FilterType;
  /** The expression; for TAG, empty or absent means `*`. */
  readonly expression?: string | null | undefined;
}

/** A compiled filter: the store's {@link MessageFilter} plus what it was compiled from. */
export interface CompiledFilter extends MessageFilter {
  readonly type: FilterType;
  /** The expression as given (`*` for a TAG filter given none). */
  readonly expression: string;
}

/**
 * Compiles a subscription's filter once; the result is shared by every read of the subscription.
 *
 * @throws MqgateError `MQ_ERR_FILTER_INVALID` (400) when the expression is not valid, with
 * `details: { position, expression }`, or when the type is unknown
 */
export function compileFilter(spec: FilterSpec): CompiledFilter {
  switch (spec.type) {
    case FilterType.TAG:
      return new TagFilter(spec.expression);
    case FilterType.SQL92:
      return new SqlFilter(spec.expression ?? '');
    default:
      throw new MqgateError(
        'MQ_ERR_FILTER_INVALID',
        `unknown filter type ${JSON.stringify(spec.type)}: expected TAG or SQL92`,
        { details: { type: spec.type } },
      );
  }
}

export { SqlFilter, PROPERTY_KEYS, PROPERTY_TAGS, lookupIn, messageLookup } from './sql-filter.js';
export { TagFilter, SUB_ALL, parseTags } from './tag-filter.js';
export { parseSql } from './sql-parser.js';
export { evaluate, matches } from './sql-eval.js';
export { ABORT } from './java-values.js';
export type { Abort, JavaNumber, JavaValue } from './java-values.js';
export type { PropertyLookup } from './sql-eval.js';
export type * from './sql-ast.js';
export { CompareOp, MatchOp } from './sql-ast.js';
export { MAX_EXPRESSION_LENGTH, MAX_NESTING_DEPTH } from './filter-error.js';
export type { FilterErrorDetails } from './filter-error.js';
