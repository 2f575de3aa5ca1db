import { describe, expect, it } from 'vitest';
import { RecentHalves } from '../../src/broker/transaction/recent-halves.js';
import type { HalfMessage } from '../../src/broker/transaction/tx-records.js';

function half(queueOffset: number, msgId = `ID${String(queueOffset).padStart(30, '0')}`): HalfMessage {
  return {
    msgId,
    topic: 'RMQ_SYS_TRANS_HALF_TOPIC',
    queueId: 0,
    queueOffset,
    commitLogOffset: queueOffset * 100,
    storeSize: 100,
    tag: undefined,
    keys: [],
    properties: {},
    body: undefined,
    bornTimestamp: 0,
    storeTimestamp: 0,
    flag: 0,
    sysFlag: 4,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
  };
}

describe('recent half messages', () => {
  it('recent halves - found by the id as prepared, gone once deleted, never by another id', () => {
    const r = new RecentHalves();
    const a = half(0);
    const b = half(1);
    r.add(a);
    r.add(b);
    expect(r.get(a.msgId)).toBe(a);
    expect(r.get(b.msgId)).toBe(b);
    expect(r.get(a.msgId.toLowerCase())).toBeUndefined(); // the caller reads those back
    expect(r.get('nope')).toBeUndefined();
    r.delete(a);
    expect(r.get(a.msgId)).toBeUndefined();
    expect(r.get(b.msgId)).toBe(b);
    r.delete(a); // again: nothing happens
    expect(r.size).toBe(1);
  });

  it('recent halves - bounded: a half 8192 offsets older gives up its slot and its entry', () => {
    const r = new RecentHalves();
    const old = half(5);
    r.add(old);
    for (let q = 6; q < 6 + 8192; q++) r.add(half(q));
    expect(r.get(old.msgId)).toBeUndefined();
    expect(r.size).toBe(8192);
    const newest = half(5 + 8192 + 1);
    r.add(newest);
    expect(r.get(newest.msgId)).toBe(newest);
    r.delete(old); // not there any more: leaves the one in its slot alone
    expect(r.get(half(5 + 8192).msgId)).toBeDefined();
  });

  it('recent halves - two ids with one hash: the newer is found, the older is not (and is read back)', () => {
    const r = new RecentHalves();
    // "Aa" and "BB" have the same 31-based hash, so do these ids
    const x = half(10, `${'0'.repeat(30)}Aa`);
    const y = half(11, `${'0'.repeat(30)}BB`);
    r.add(x);
    r.add(y);
    expect(r.get(y.msgId)).toBe(y);
    expect(r.get(x.msgId)).toBeUndefined();
    r.delete(x); // must not drop y's entry
    expect(r.get(y.msgId)).toBe(y);
  });
});
