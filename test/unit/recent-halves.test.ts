import { describe, expect, it } from 'vitest';
import { RecentHalves } from '../../src/broker/transaction/recent-halves.js';
import type { HalfMessage } from '../../src/broker/transaction/tx-records.js';
import { newMsgId } from '../../src/message/msg-id.js';

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

/** An id as mqgate makes them: time, then a sequence number, then the process. */
const idWithSeq = (seq: number): string =>
  `${'0'.repeat(11)}1${seq.toString(16).toUpperCase().padStart(6, '0')}${'AB'.repeat(7)}`;

describe('recent half messages', () => {
  it('recent halves - found by the id as prepared, gone once deleted, never by another id', () => {
    const r = new RecentHalves();
    const a = half(0, newMsgId());
    const b = half(1, newMsgId());
    r.add(a);
    r.add(b);
    expect(r.get(a.msgId)).toBe(a);
    expect(r.get(b.msgId)).toBe(b);
    expect(r.get(a.msgId.toLowerCase())).toBeUndefined(); // the caller reads those back
    expect(r.get('nope')).toBeUndefined();
    expect(r.get('')).toBeUndefined();
    r.delete(a);
    expect(r.get(a.msgId)).toBeUndefined();
    expect(r.get(b.msgId)).toBe(b);
    r.delete(a); // again: nothing happens
    expect(r.size).toBe(1);
  });

  it('recent halves - bounded: 65,536 ids apart two halves share a slot, the newer keeps it', () => {
    const r = new RecentHalves();
    const old = half(5, idWithSeq(0x12_3456));
    r.add(old);
    for (let s = 1; s < 65_536; s++) r.add(half(5 + s, idWithSeq(0x12_3456 + s)));
    expect(r.get(old.msgId)).toBe(old);
    expect(r.size).toBe(65_536);
    const newer = half(5 + 65_536, idWithSeq(0x12_3456 + 65_536));
    r.add(newer);
    expect(r.size).toBe(65_536);
    expect(r.get(newer.msgId)).toBe(newer);
    expect(r.get(old.msgId)).toBeUndefined(); // read back through the KeyIndex
    r.delete(old); // not there any more: leaves the one in its slot alone
    expect(r.get(newer.msgId)).toBe(newer);
  });

  it('recent halves - ids from elsewhere (any text) get a slot too', () => {
    const r = new RecentHalves();
    const x = half(10, 'order-42: not an id of ours');
    const y = half(11, 'x');
    r.add(x);
    r.add(y);
    expect(r.get(x.msgId)).toBe(x);
    expect(r.get(y.msgId)).toBe(y);
    r.delete(x);
    expect(r.get(y.msgId)).toBe(y);
  });
});
