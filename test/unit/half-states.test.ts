import { describe, expect, it } from 'vitest';
import { HalfStates } from '../../src/broker/transaction/half-states.js';

describe('transactions', () => {
  it('half states - one byte per half message, check counts kept, grown on demand', () => {
    const s = new HalfStates();
    expect(s.op(0)).toBeUndefined();
    s.set(0, 'COMMIT', 0);
    s.set(1, 'CHECKED', 2);
    s.set(100_000, 'ROLLBACK', 0);
    s.set(100_001, 'DISCARDED', 15);
    expect([s.op(0), s.op(1), s.op(2), s.op(100_000), s.op(100_001)]).toEqual([
      'COMMIT',
      'CHECKED',
      undefined,
      'ROLLBACK',
      'DISCARDED',
    ]);
    expect([s.checkTimes(0), s.checkTimes(1), s.checkTimes(100_001)]).toEqual([0, 2, 15]);
    s.set(1, 'COMMIT', 0);
    expect([s.op(1), s.checkTimes(1)]).toEqual(['COMMIT', 0]);
  });

  it('half states - what retention removed from the log is let go, the rest kept', () => {
    const s = new HalfStates();
    for (let i = 0; i < 200_000; i++) s.set(i, i % 2 === 0 ? 'COMMIT' : 'CHECKED', i % 2);
    s.dropBelow(150_000);
    expect(s.op(149_999)).toBeUndefined();
    expect(s.checkTimes(149_999)).toBe(0);
    expect([s.op(150_000), s.op(150_001), s.op(199_999)]).toEqual(['COMMIT', 'CHECKED', 'CHECKED']);
    expect(s.checkTimes(150_001)).toBe(1);
    s.set(10, 'COMMIT', 0); // below what is kept: ignored
    expect(s.op(10)).toBeUndefined();
    s.set(300_000, 'ROLLBACK', 0);
    expect(s.op(300_000)).toBe('ROLLBACK');
  });
});
