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

  it('half states - what is kept after a drop keeps its state, even when little is left', () => {
    const s = new HalfStates();
    for (let i = 0; i < 131_072; i++) s.set(i, 'COMMIT', 0);
    s.set(131_000, 'ROLLBACK', 0);
    s.dropBelow(130_000); // 1,072 kept: fewer than the smallest table
    expect([s.op(129_999), s.op(130_000), s.op(131_000), s.op(131_071)]).toEqual([
      undefined,
      'COMMIT',
      'ROLLBACK',
      'COMMIT',
    ]);
  });

  it('half states - a busy bit per half message, apart from its state, kept across a drop', () => {
    const s = new HalfStates();
    expect(s.busy(5)).toBe(false);
    s.setBusy(5, true);
    s.setBusy(70_000, true);
    expect([s.busy(5), s.op(5), s.busy(6)]).toEqual([true, undefined, false]);
    s.set(5, 'COMMIT', 0);
    expect([s.busy(5), s.op(5)]).toEqual([true, 'COMMIT']);
    s.setBusy(5, false);
    expect([s.busy(5), s.op(5)]).toEqual([false, 'COMMIT']);
    s.setBusy(7, true);
    for (let i = 8; i < 140_000; i++) s.set(i, 'COMMIT', 0);
    s.dropBelow(100_000);
    expect([s.busy(7), s.busy(70_000), s.op(70_000)]).toEqual([true, true, undefined]);
    s.setBusy(70_000, false);
    expect(s.busy(70_000)).toBe(false);
    expect(s.busy(7)).toBe(true);
  });
});
