/**
 * The RabbitMQ adapter's pure parts: messages to AMQP and back, routing keys and queue names.
 * (Delivery, confirms and topology run against the real broker in test/conformance.)
 */
import type { Message } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { decode, deliveryCount, encode } from '../../adapters/rabbitmq/codec.js';
import {
  delayQueue,
  dlqQueue,
  routingKey,
  shardQueue,
  streamQueue,
} from '../../adapters/rabbitmq/topology.js';

function delivered(e: ReturnType<typeof encode>, extra: Record<string, unknown> = {}): Message {
  return {
    content: e.content,
    fields: { deliveryTag: 1, redelivered: false, exchange: 'x', routingKey: 'k' },
    properties: { ...e.options, headers: { ...e.options.headers, ...extra } },
  } as unknown as Message;
}

describe('rabbitmq codec', () => {
  it('codec - a message comes back with id, born time, queue, tag, keys, properties and body', () => {
    const props = JSON.parse('{"__proto__":"kept","region":"eu","ünï":"cödé"}') as Record<string, string>;
    const e = encode({
      queueId: 3,
      msgId: '0A'.repeat(16),
      bornTimestamp: 1_767_225_600_123,
      body: Buffer.from([0, 255, 10]),
      tag: 'TagA',
      keys: ['k1', 'k 2'],
      properties: props,
    });
    expect(e.options.persistent).toBe(true);
    expect(e.options.messageId).toBe('0A'.repeat(16));
    const m = decode('Orders', delivered(e));
    expect(m).toMatchObject({
      topic: 'Orders',
      queueId: 3,
      tag: 'TagA',
      keys: ['k1', 'k 2'],
      reconsumeTimes: 0,
    });
    expect(m.bornTimestamp).toBe(1_767_225_600_123);
    expect(m.body).toEqual(Buffer.from([0, 255, 10]));
    expect(Object.hasOwn(m.properties, '__proto__')).toBe(true);
    expect(m.properties).toEqual(props);
  });

  it('codec - a retry copy carries its reconsume times; redeliveries count from x-delivery-count', () => {
    const e = encode(
      {
        queueId: 0,
        msgId: 'AB'.repeat(16),
        bornTimestamp: 1,
        body: 'x',
        tag: undefined,
        keys: [],
        properties: {},
      },
      2,
    );
    const msg = delivered(e, { 'x-delivery-count': 3 });
    expect(decode('T', msg).reconsumeTimes).toBe(2);
    expect(decode('T', msg).tag).toBeUndefined();
    expect(deliveryCount(msg)).toBe(3);
  });

  it('codec - broken or missing headers give empty keys and properties, never a throw', () => {
    const msg = {
      content: Buffer.from('b'),
      fields: { redelivered: true },
      properties: { headers: { 'mqgate-keys': '{', 'mqgate-props': '[1]' } },
    } as unknown as Message;
    const m = decode('T', msg);
    expect(m.keys).toEqual([]);
    expect(m.properties).toEqual({});
    expect(deliveryCount(msg)).toBe(1);
  });
});

describe('rabbitmq names', () => {
  it('names - routing keys carry topic, queue index and a tag word without dots or wildcards', () => {
    expect(routingKey('Orders', 2, 'TagA')).toBe('Orders.2.TagA');
    expect(routingKey('Orders', 0, undefined)).toBe('Orders.0.~');
    const odd = routingKey('Orders', 1, 'a.b#*');
    expect(odd.split('.')).toHaveLength(3);
    expect(odd).not.toMatch(/[#*]/);
  });

  it('names - queue names stay within 255 bytes and apart per group', () => {
    expect(shardQueue('Orders', 'billing', 1)).toBe('Orders.billing.q1');
    const long = 'g'.repeat(255);
    const a = shardQueue('T'.repeat(127), long, 0);
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(255);
    expect(a).not.toBe(shardQueue('T'.repeat(127), `${long.slice(1)}h`, 0));
    expect(dlqQueue('billing')).toBe('%DLQ%billing');
    expect(Buffer.byteLength(dlqQueue(long))).toBeLessThanOrEqual(255);
    expect(streamQueue('Orders', 3)).toBe('Orders.s3');
    expect(delayQueue('d', 500)).toBe('mqgate.delay.500ms');
    expect(delayQueue('r', 500)).toBe('mqgate.retry.500ms');
  });
});
