import { describe, expect, it } from 'vitest';
import { compileFilter, FilterType, TagFilter } from '../../src/broker/filter/index.js';
import type { CompiledFilter } from '../../src/broker/filter/index.js';
import { isMqgateError } from '../../src/errors.js';
import { javaStringHashCode, tagsCode } from '../../src/message/hash.js';
import type { StoredMessage } from '../../src/message/message.js';
import { storedMessage } from '../helpers/messages.js';

function message(tag: string | undefined): StoredMessage {
  return storedMessage({ tag });
}

/** What the store does: the tags code of the ConsumeQueue entry first, then the record. */
function delivers(filter: CompiledFilter, tag: string | undefined): boolean {
  if (filter.matchTagsCode !== undefined && !filter.matchTagsCode(tagsCode(tag))) return false;
  return filter.matchMessage === undefined || filter.matchMessage(message(tag));
}

const tag = (expression: string | null | undefined): CompiledFilter =>
  compileFilter({ type: FilterType.TAG, expression });

describe('tag filter', () => {
  it('tag filter - * takes every message, tagged or not', () => {
    const f = tag('*');
    expect(f.type).toBe('TAG');
    expect(f.expression).toBe('*');
    for (const t of ['A', 'B', '', '*', 'Aa', undefined]) expect(delivers(f, t)).toBe(true);
    expect(f.matchTagsCode?.(0)).toBe(true);
    expect(f.matchTagsCode?.(12345)).toBe(true);
  });

  it('tag filter - an empty or absent expression is *', () => {
    for (const e of ['', null, undefined]) {
      const f = tag(e);
      expect(f.expression).toBe('*');
      expect(delivers(f, 'X')).toBe(true);
      expect(delivers(f, undefined)).toBe(true);
    }
  });

  it('tag filter - A || B takes A and B only', () => {
    const f = tag('A || B');
    expect(f.expression).toBe('A || B');
    expect(delivers(f, 'A')).toBe(true);
    expect(delivers(f, 'B')).toBe(true);
    expect(delivers(f, 'C')).toBe(false);
    expect(delivers(f, 'a')).toBe(false);
    expect(delivers(f, 'A || B')).toBe(false);
  });

  it('tag filter - a single tag takes that tag only', () => {
    const f = tag('TagA');
    expect(delivers(f, 'TagA')).toBe(true);
    expect(delivers(f, 'TagB')).toBe(false);
  });

  it('tag filter - whitespace around tags is trimmed and empty parts are ignored', () => {
    const f = new TagFilter('  A ||B||   || \tC\n ||');
    expect([...f.tags]).toEqual(['A', 'B', 'C']);
    for (const t of ['A', 'B', 'C']) expect(delivers(f, t)).toBe(true);
    expect(delivers(f, ' A ')).toBe(false);
    expect(delivers(f, '')).toBe(false);
  });

  it('tag filter - spaces inside a tag are kept', () => {
    const f = tag('my tag || other');
    expect(delivers(f, 'my tag')).toBe(true);
    expect(delivers(f, 'mytag')).toBe(false);
  });

  it('tag filter - a message without a tag matches only *', () => {
    expect(delivers(tag('*'), undefined)).toBe(true);
    expect(delivers(tag('A || B'), undefined)).toBe(false);
    // "f5a5a608" hashes to 0, the tags code of an untagged entry: the string check still refuses it.
    const zero = tag('f5a5a608');
    expect(javaStringHashCode('f5a5a608')).toBe(0);
    expect(zero.matchTagsCode?.(tagsCode(undefined))).toBe(true);
    expect(delivers(zero, undefined)).toBe(false);
    expect(delivers(zero, 'f5a5a608')).toBe(true);
  });

  it('tag filter - hash collision Aa/BB: the tags code passes both, the message check refuses the wrong one', () => {
    expect(javaStringHashCode('Aa')).toBe(2112);
    expect(javaStringHashCode('BB')).toBe(2112);
    const f = tag('Aa');
    expect(f.matchTagsCode?.(tagsCode('Aa'))).toBe(true);
    expect(f.matchTagsCode?.(tagsCode('BB'))).toBe(true);
    expect(f.matchMessage?.(message('Aa'))).toBe(true);
    expect(f.matchMessage?.(message('BB'))).toBe(false);
    expect(delivers(f, 'BB')).toBe(false);
  });

  it('tag filter - the tags code pre-filter skips entries of other tags', () => {
    const f = tag('A || B');
    expect(f.matchTagsCode?.(tagsCode('A'))).toBe(true);
    expect(f.matchTagsCode?.(tagsCode('B'))).toBe(true);
    expect(f.matchTagsCode?.(tagsCode('C'))).toBe(false);
    expect(f.matchTagsCode?.(0)).toBe(false);
  });

  it('tag filter - * is special only as the whole expression, as in RocketMQ', () => {
    const spaced = tag(' * ');
    expect(delivers(spaced, '*')).toBe(true);
    expect(delivers(spaced, 'A')).toBe(false);
    const mixed = tag('A || *');
    expect(delivers(mixed, 'A')).toBe(true);
    expect(delivers(mixed, 'B')).toBe(false);
  });

  it('tag filter - an expression naming no tag is MQ_ERR_FILTER_INVALID', () => {
    for (const [expression, position] of [
      ['||', 1],
      ['  ||  ', 3],
      ['   ', 4],
    ] as const) {
      let error: unknown;
      try {
        tag(expression);
      } catch (e) {
        error = e;
      }
      expect(isMqgateError(error)).toBe(true);
      if (!isMqgateError(error)) continue;
      expect(error.code).toBe('MQ_ERR_FILTER_INVALID');
      expect(error.statusCode).toBe(400);
      expect(error.retriable).toBe(false);
      expect(error.details).toEqual({ position, expression });
      expect(error.message).toContain(`position ${position}: expected a tag`);
    }
  });

  it('tag filter - an expression over 4096 characters is refused', () => {
    expect(() => tag('A'.repeat(4097))).toThrow(/position 4097: expected at most 4096 characters/);
    expect(delivers(tag('A'.repeat(4096)), 'A'.repeat(4096))).toBe(true);
  });
});
