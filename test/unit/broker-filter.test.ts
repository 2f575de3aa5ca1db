import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/broker/index.js';
import { javaStringHashCode } from '../../src/message/hash.js';
import { openBroker } from '../helpers/broker.js';

let broker: Broker;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'broker-filter-'));
beforeAll(async () => {
  broker = await openBroker({ dataDir });
  broker.upsertTopic('T', { queues: 2 });
  const rows: [string, string | undefined, Record<string, string>][] = [
    ['m1', 'Aa', { n: '1', region: 'eu', name: 'alpha' }],
    ['m2', 'BB', { n: '5', region: 'us', name: 'beta' }],
    ['m3', 'TagC', { n: '10', region: 'cn', name: 'gamma', flag: 'true' }],
    ['m4', undefined, { n: '-3', name: 'alphabet' }],
    ['m5', 'TagC', { n: '7.5', region: 'eu', flag: 'false' }],
  ];
  for (const [body, tag, properties] of rows) await broker.send('T', { body, tag, properties });
});
afterAll(async () => {
  await broker.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

let groupNo = 0;
async function bodiesFor(type: 'TAG' | 'SQL92', expression: string): Promise<string[]> {
  const group = `F${groupNo++}`;
  broker.upsertGroup(group, { consumeFrom: 'FIRST' });
  const got = await broker.receive(group, { topic: 'T', filter: { type, expression } });
  return got.map((m) => m.body.toString()).sort();
}

describe('filter', () => {
  it('filter - tags whose hashes collide are told apart by the string check', async () => {
    expect(javaStringHashCode('Aa')).toBe(javaStringHashCode('BB'));
    expect(await bodiesFor('TAG', 'Aa')).toEqual(['m1']);
    expect(await bodiesFor('TAG', 'BB')).toEqual(['m2']);
    expect(await bodiesFor('TAG', 'Aa || TagC')).toEqual(['m1', 'm3', 'm5']);
    expect(await bodiesFor('TAG', '*')).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('filter - a message the filter skips is done for that group only', async () => {
    broker.upsertGroup('Skip', { consumeFrom: 'FIRST' });
    expect(
      (await broker.receive('Skip', { topic: 'T', filter: { type: 'TAG', expression: 'TagC' } })).length,
    ).toBe(2);
    const offsets = await broker.offsets('Skip', 'T');
    expect(offsets.reduce((s, q) => s + q.inflight, 0)).toBe(2);
    expect(await bodiesFor('TAG', '*')).toHaveLength(5);
  });

  const sql: [string, string[]][] = [
    ["region = 'eu'", ['m1', 'm5']],
    ["region <> 'eu'", ['m2', 'm3']],
    // as in RocketMQ, a property converts to the literal's class: '7.5' is no Integer (false)
    ['n > 5', ['m3']],
    ['n > 5.0', ['m3', 'm5']],
    ['n >= 5', ['m2', 'm3']],
    ['n < 5', ['m1', 'm4']],
    ['n <= 5', ['m1', 'm2', 'm4']],
    ['n BETWEEN 1.0 AND 7.5', ['m1', 'm2', 'm5']],
    ['n NOT BETWEEN 1.0 AND 7.5', ['m3', 'm4']],
    ["region IN ('eu', 'cn')", ['m1', 'm3', 'm5']],
    ["region NOT IN ('eu', 'cn')", ['m2']],
    ['region IS NULL', ['m4']],
    ['region IS NOT NULL', ['m1', 'm2', 'm3', 'm5']],
    ["region = 'eu' AND n > 2.0", ['m5']],
    ["region = 'us' OR n < 0", ['m2', 'm4']],
    ["NOT (region = 'eu')", ['m2', 'm3']],
    ["name CONTAINS 'pha'", ['m1', 'm4']],
    ["name NOT CONTAINS 'pha'", ['m2', 'm3']],
    ["name STARTSWITH 'al'", ['m1', 'm4']],
    ["name ENDSWITH 'a'", ['m1', 'm2', 'm3']],
    ['flag = TRUE', ['m3']],
    ['flag = FALSE', ['m5']],
    ["TAGS = 'TagC' AND n > 8", ['m3']],
  ];
  for (const [expression, expected] of sql)
    it(`filter - SQL92 ${expression}`, async () => {
      expect(await bodiesFor('SQL92', expression)).toEqual(expected);
    });

  it('filter - a bad SQL92 expression is refused with its position', async () => {
    broker.upsertGroup('Bad');
    await expect(
      broker.receive('Bad', { topic: 'T', filter: { type: 'SQL92', expression: "region = 'eu' AND" } }),
    ).rejects.toMatchObject({
      code: 'MQ_ERR_FILTER_INVALID',
      details: { position: expect.any(Number) as number },
    });
    expect(() => broker.subscribe('Bad', 'T', { filter: { type: 'SQL92', expression: 'n >>' } })).toThrow(
      /invalid filter expression/,
    );
  });

  it('filter - push subscriptions filter too', async () => {
    broker.upsertGroup('Push', { consumeFrom: 'FIRST' });
    const sub = broker.subscribe('Push', 'T', { filter: { type: 'SQL92', expression: 'n > 6.0' } });
    const got: string[] = [];
    for await (const d of sub) {
      got.push(d.message.body.toString());
      d.ack();
      if (got.length === 2) break;
    }
    expect(got.sort()).toEqual(['m3', 'm5']);
  });
});
