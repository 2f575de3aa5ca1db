/**
 * The state mqgate's core keeps for a topic on another backend survives kill -9 of the gateway:
 * a half message (committed after the restart), a delayed message (delivered after it), and a
 * message received and not acked (still invisible, and its receipt handle still acks it).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MqgateClient } from '../../src/client/index.js';
import type { ServeProcess } from '../helpers/serve-process.js';
import { spawnServe } from '../helpers/serve-process.js';
import { tmpDir } from '../helpers/tmp.js';

let proc: ServeProcess | undefined;
afterEach(async () => {
  proc?.child.kill('SIGKILL');
  await proc?.exited();
  proc = undefined;
});

const env = {
  MQGATE_GATEWAY_BACKENDS: '{"bare":{"type":"local-bare"}}',
  MQGATE_GATEWAY_ROUTES: '[{"topics":"*","backend":"bare"}]',
  MQGATE_BROKER_MIN_INVISIBLE_MS: '500',
};

describe('core state of a remote topic', () => {
  it('half messages, delays and in-flight POP survive kill -9 of the gateway', async () => {
    const dataDir = tmpDir();
    proc = await spawnServe(['--data-dir', dataDir], env);
    let c = new MqgateClient({ url: proc.url });
    await c.upsertGroup('g', { consumeFrom: 'FIRST' });
    const half = await c.prepare('Remote', 'pg', { body: 'half' });
    await c.send('Remote', { body: 'plain' });
    const [held] = (await c.receive('g', { topic: 'Remote', waitSeconds: 5, invisibleSeconds: 4 })).messages;
    expect(held?.body).toBe('plain');
    const delayed = await c.send('Remote', { body: 'later', delayLevel: 2 }); // 5 s
    const receivedAt = Date.now();
    expect((await c.getTopic('Remote')).backend).toBe('bare');
    proc.child.kill('SIGKILL');
    await proc.exited();

    proc = await spawnServe(['--data-dir', dataDir], env);
    c = new MqgateClient({ url: proc.url });
    // still invisible until its time, and its handle from before the crash acks it
    const early = await c.receive('g', { topic: 'Remote', waitSeconds: 0.5 });
    if (Date.now() - receivedAt < 3500) expect(early.messages.map((m) => m.body)).not.toContain('plain');
    await c.ack('g', 'Remote', held?.receiptHandle ?? '');
    await c.commit(half.transactionId);
    const bodies: unknown[] = [];
    const until = Date.now() + 15_000;
    while (bodies.length < 2 && Date.now() < until) {
      const { messages } = await c.receive('g', { topic: 'Remote', waitSeconds: 2 });
      for (const m of messages) {
        bodies.push(m.body);
        await c.ack('g', 'Remote', m.receiptHandle ?? '');
      }
    }
    expect(bodies.sort()).toEqual(['half', 'later']);
    expect((await c.getMessage(delayed.msgId)).body).toBe('later');
    // the plain message was acked with the old handle: it never comes again
    expect((await c.receive('g', { topic: 'Remote', waitSeconds: 5 })).messages).toEqual([]);
  }, 60_000);
});
