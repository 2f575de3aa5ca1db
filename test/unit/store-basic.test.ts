import { describe, expect, it } from 'vitest';
import { MessageStore } from '../../src/store/index.js';
import { body, tmpDir } from '../helpers/tmp.js';

describe('store', () => {
  it('store - append then read by queue offset, msgId and key', async () => {
    const dir = tmpDir();
    const store = await MessageStore.open({ dataDir: dir, segmentSize: 64 * 1024, maxMessageSize: 1024 });
    const results = [];
    for (let i = 0; i < 500; i++) {
      results.push(
        await store.putMessage({
          topic: 'T',
          queueId: i % 2,
          body: body(`m${i}`),
          tag: 'A',
          keys: [`k${i % 10}`],
        }),
      );
    }
    expect(results.every((r) => r.status === 'PUT_OK')).toBe(true);
    const got = await store.getMessages('T', 0, 0, 32);
    expect(got.status).toBe('FOUND');
    expect(got.messages.length).toBe(32);
    expect(got.messages[3]?.body.toString()).toBe('m6');
    const byId = await store.getByMsgId(results[77]?.msgId as string);
    expect(byId?.body.toString()).toBe('m77');
    const byKey = await store.queryByKey('T', 'k3');
    expect(byKey.length).toBe(50);
    await store.close();
    const again = await MessageStore.open({ dataDir: dir, segmentSize: 64 * 1024, maxMessageSize: 1024 });
    expect(again.maxOffset('T', 1)).toBe(250);
    expect((await again.getByMsgId(results[499]?.msgId as string))?.body.toString()).toBe('m499');
    await again.close();
  });
});
