import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { decode, encode, recordSize } from '../../adapters/kafka/codec.js';
import type { OutboundMessage } from '../../adapters/index.js';
import { Prop } from '../../src/broker/index.js';

const base: OutboundMessage = {
  queueId: 2,
  msgId: '0A0B0C0D0E0F00112233445566778899',
  bornTimestamp: 1_767_225_600_123,
  body: 'hello ünïcödé',
  tag: 'TagA',
  keys: ['order-42', 'customer-7'],
  properties: { region: 'eu', __proto__x: 'y' },
};

/** A record as kafkajs gives it back from a fetch (header values as Buffers). */
function fetched(m: OutboundMessage, offset: string): KafkaMessage {
  const r = encode(m);
  return {
    key: r.key === null || r.key === undefined ? null : Buffer.from(r.key),
    value: r.value as Buffer,
    timestamp: r.timestamp as string,
    attributes: 0,
    offset,
    headers: Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k, Buffer.from(String(v))])),
  };
}

describe('kafka codec', () => {
  it('kafka codec - a record names its partition, keeps the born time, keys by sharding key else first key', () => {
    const r = encode(base);
    expect(r.partition).toBe(2);
    expect(r.timestamp).toBe(String(base.bornTimestamp));
    expect(r.key).toBe('order-42');
    const sharded = encode({ ...base, properties: { [Prop.SHARDING_KEY]: 'shard-1' } });
    expect(sharded.key).toBe('shard-1');
    expect(encode({ ...base, keys: [] }).key).toBeNull();
    expect(recordSize(r)).toBeGreaterThan(Buffer.byteLength('hello ünïcödé'));
  });

  it('kafka codec - a plain message carries only its id, and reads back with its born time (the record timestamp) and no keys or properties', () => {
    const plain = { ...base, tag: undefined, keys: [], properties: {} };
    expect(Object.keys(encode(plain).headers ?? {})).toEqual(['mqgate-id']);
    const back = decode('t', 2, fetched(plain, '7'));
    expect(back).toMatchObject({ msgId: plain.msgId, keys: [], properties: {}, tag: undefined });
    expect(back.bornTimestamp).toBe(plain.bornTimestamp);
  });

  it('kafka codec - a fetched record comes back as it was sent, with its partition and offset', () => {
    const bytes = new Uint8Array([0, 255, 10, 13]);
    for (const body of ['hello ünïcödé', bytes]) {
      const m = decode('orders', 2, fetched({ ...base, body }, '41'));
      expect(m).toMatchObject({
        msgId: base.msgId,
        topic: 'orders',
        queueId: 2,
        queueOffset: 41,
        tag: 'TagA',
        keys: ['order-42', 'customer-7'],
        bornTimestamp: base.bornTimestamp,
        reconsumeTimes: 0,
      });
      expect(m.properties).toEqual({ region: 'eu', __proto__x: 'y' });
      expect(Buffer.from(m.body)).toEqual(Buffer.from(body));
    }
    const untagged = decode('orders', 0, fetched({ ...base, tag: undefined }, '0'));
    expect(untagged.tag).toBeUndefined();
  });

  it('kafka codec - a record no mqgate wrote reads as an untagged message born at its timestamp, its id from where it is', () => {
    const record = {
      key: null,
      value: Buffer.from('plain'),
      timestamp: '1700000000000',
      attributes: 0,
      offset: '7',
      headers: { 'mqgate-keys': Buffer.from('not json') },
    };
    const m = decode('orders', 1, record);
    expect(m.msgId).toMatch(/^[0-9A-F]{32}$/);
    expect(decode('orders', 1, record).msgId).toBe(m.msgId);
    expect(decode('orders', 1, { ...record, offset: '8' }).msgId).not.toBe(m.msgId);
    expect(m).toMatchObject({
      queueOffset: 7,
      tag: undefined,
      keys: [],
      bornTimestamp: 1_700_000_000_000,
    });
    expect(m.properties).toEqual({});
    expect(m.body.toString()).toBe('plain');
  });
});
