import { describe, expect, it } from 'vitest';
import { bodySizeWithin } from '../../src/message/bytes.js';
import { placed, withProps, withoutProps } from '../../src/message/props.js';

describe('message', () => {
  it('props - withProps copies as a spread does, own keys only, __proto__ included', () => {
    const base = JSON.parse('{"a":"1","__proto__":"p"}') as Record<string, string>;
    const out = withProps(base, { b: '2', a: '3' });
    expect(out).toEqual({ ...base, b: '2', a: '3' });
    expect(Object.keys(out)).toEqual(['a', '__proto__', 'b']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(withProps(undefined)).toEqual({});
    expect(base).toEqual(JSON.parse('{"a":"1","__proto__":"p"}'));
  });

  it('props - withoutProps drops the keys named, placed moves a message keeping the rest', () => {
    expect(withoutProps({ a: '1', b: '2', c: '3' }, ['b'])).toEqual({ a: '1', c: '3' });
    const m = { topic: 'T', queueId: 1, body: 'x', tag: 'A', keys: ['k'], msgId: undefined, flag: 7 };
    const p = placed(m, { topic: 'S', queueId: 0, sysFlag: 4, properties: { r: 'T' } });
    expect(p).toMatchObject({
      topic: 'S',
      queueId: 0,
      sysFlag: 4,
      properties: { r: 'T' },
      body: 'x',
      tag: 'A',
      keys: ['k'],
      flag: 7,
    });
  });
});

describe('message', () => {
  it('body size - text is measured only when it could be over the limit, exactly then', () => {
    expect(bodySizeWithin(Buffer.alloc(10), 5)).toBe(10);
    expect(bodySizeWithin('abc', 100)).toBe(9); // a bound: 3 bytes a unit at most
    expect(bodySizeWithin('é'.repeat(10), 20)).toBe(20); // over 20/3 units: measured, exact
    expect(bodySizeWithin('ab', 0)).toBe(2);
    expect(bodySizeWithin('😀', 0)).toBe(4);
  });
});
