import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, ReceivedMessage } from '../../src/broker/index.js';
import { openBroker, sleep } from '../helpers/broker.js';
import { tmpDir } from '../helpers/tmp.js';

let broker: Broker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

async function drain(b: Broker, group: string, topic: string, waitMs = 300): Promise<ReceivedMessage[]> {
  const out: ReceivedMessage[] = [];
  for (;;) {
    const got = await b.receive(group, { topic, waitMs, invisibleMs: 10_000 });
    if (got.length === 0) return out;
    for (const m of got) b.ack(group, topic, m.receiptHandle);
    out.push(...got);
  }
}

const consumer = path.resolve(import.meta.dirname, '../fixtures/consume-crash.ts');

/**
 * Runs the consumer fixture and SIGKILLs it after `acks` acks; returns the bodies whose acks
 * were written, and the one (if any) whose ack had begun when the kill came.
 */
function consumeAndKill(dir: string, acks: number): Promise<{ acked: string[]; acking: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', consumer, dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acked: string[] = [];
    const acking: string[] = [];
    let rest = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines)
        if (line.startsWith('acking ')) acking.push(line.slice(7));
        else if (line.startsWith('acked ')) {
          acked.push(line.slice(6));
          if (acked.length === acks) child.kill('SIGKILL');
        }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      signal === 'SIGKILL'
        ? resolve({ acked, acking: acking.filter((a) => !acked.includes(a)) })
        : reject(new Error(`consumer exited: ${code} ${signal}`)),
    );
  });
}

describe('offsets', () => {
  it('offsets - committed offsets and in-flight messages survive a restart', async () => {
    const dataDir = tmpDir('broker');
    let b = await openBroker({ dataDir });
    b.upsertTopic('T', { queues: 2 });
    b.upsertGroup('G', { consumeFrom: 'FIRST' });
    for (let i = 0; i < 20; i++) await b.send('T', { body: `m${i}` });
    const first = await b.receive('G', { topic: 'T', maxMessages: 10, invisibleMs: 400 });
    for (const m of first.slice(0, 8)) b.ack('G', 'T', m.receiptHandle);
    const held = first.slice(8);
    await b.close();
    broker = b = await openBroker({ dataDir });
    expect((await b.offsets('G', 'T')).reduce((s, q) => s + q.inflight, 0)).toBe(2);
    b.ack('G', 'T', held[0]?.receiptHandle ?? ''); // handles stay valid across the restart
    const rest = await b.receive('G', { topic: 'T', maxMessages: 32, invisibleMs: 10_000 });
    const firstBodies = new Set(first.map((m) => m.body.toString()));
    expect(rest.map((m) => m.body.toString()).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `m${i}`)
        .filter((b) => !firstBodies.has(b))
        .sort(),
    );
    for (const m of rest) b.ack('G', 'T', m.receiptHandle);
    // the one held and not acked comes back after its invisible time, not before
    expect(await b.receive('G', { topic: 'T' })).toHaveLength(0);
    const back = await b.receive('G', { topic: 'T', waitMs: 3000 });
    expect(back.map((m) => [m.body.toString(), m.deliveryAttempt])).toEqual([[held[1]?.body.toString(), 2]]);
  });

  it('offsets - a consumer killed with SIGKILL loses no message and repeats none it had acked', async () => {
    const dataDir = tmpDir('broker');
    const b = await openBroker({ dataDir });
    b.upsertTopic('T', { queues: 4 });
    b.upsertGroup('G', { consumeFrom: 'FIRST' });
    const n = 400;
    for (let i = 0; i < n; i++) await b.send('T', { body: `m${i}` });
    await b.close();
    const acked = new Set<string>();
    const inDoubt = new Set<string>(); // acks cut short by the kill: either outcome is right
    for (let round = 0; round < 3; round++) {
      const r = await consumeAndKill(dataDir, 60 + round * 20);
      for (const a of r.acked) acked.add(a);
      for (const a of r.acking) inDoubt.add(a);
    }
    expect(inDoubt.size).toBeLessThanOrEqual(3);
    await sleep(350); // what the killed consumers held becomes visible
    broker = await openBroker({ dataDir });
    // what the killed consumers held comes back through the retry topic: wait for all of it,
    // however slow the machine, but not forever
    const rest: string[] = [];
    const all = new Set([...acked, ...inDoubt]);
    for (const end = Date.now() + 20_000; all.size < n && Date.now() < end;)
      for (const m of await drain(broker, 'G', 'T', 1000)) {
        rest.push(m.body.toString());
        all.add(m.body.toString());
      }
    for (const r of rest) expect(acked.has(r), `${r} was acked before the crash and came again`).toBe(false);
    expect(all.size).toBe(n);
  });

  it('offsets - reset to a timestamp starts at the first message stored at or after it', async () => {
    broker = await openBroker();
    broker.upsertTopic('T', { queues: 3 });
    broker.upsertGroup('G', { consumeFrom: 'FIRST' });
    for (let i = 0; i < 9; i++) await broker.send('T', { body: `old${i}` });
    await sleep(20);
    const t = Date.now();
    await sleep(5);
    for (let i = 0; i < 6; i++) await broker.send('T', { body: `new${i}` });
    expect(await drain(broker, 'G', 'T')).toHaveLength(15);
    const offsets = await broker.resetOffsets('G', 'T', t);
    expect(offsets.map((q) => q.offset)).toEqual([3, 3, 3]);
    expect(offsets.map((q) => q.lag)).toEqual([2, 2, 2]);
    const again = (await drain(broker, 'G', 'T')).map((m) => m.body.toString()).sort();
    expect(again).toEqual(['new0', 'new1', 'new2', 'new3', 'new4', 'new5']);
    await broker.resetOffsets('G', 'T', 'FIRST');
    expect(await drain(broker, 'G', 'T')).toHaveLength(15);
    await broker.resetOffsets('G', 'T', 'LAST');
    expect(await drain(broker, 'G', 'T')).toHaveLength(0);
  });

  it('offsets - a new group starts at LAST by default, FIRST or TIMESTAMP when configured', async () => {
    broker = await openBroker();
    broker.upsertTopic('T', { queues: 1 });
    await broker.send('T', { body: 'before' });
    const t = Date.now();
    await sleep(5);
    await broker.send('T', { body: 'after' });
    broker.upsertGroup('Last');
    broker.upsertGroup('First', { consumeFrom: 'FIRST' });
    broker.upsertGroup('Time', { consumeFrom: 'TIMESTAMP', consumeTimestamp: t });
    expect(await drain(broker, 'Last', 'T')).toHaveLength(0);
    expect((await drain(broker, 'First', 'T')).map((m) => m.body.toString())).toEqual(['before', 'after']);
    expect((await drain(broker, 'Time', 'T')).map((m) => m.body.toString())).toEqual(['after']);
  });

  it('offsets - a commit outside the queue is refused; a commit moves the group', async () => {
    broker = await openBroker();
    broker.upsertTopic('T', { queues: 1 });
    broker.upsertGroup('G', { consumeFrom: 'FIRST' });
    for (let i = 0; i < 5; i++) await broker.send('T', { body: `m${i}` });
    await expect(broker.commitOffset('G', 'T', 0, 6)).rejects.toMatchObject({
      code: 'MQ_ERR_OFFSET_INVALID',
    });
    await expect(broker.commitOffset('G', 'T', 1, 0)).rejects.toMatchObject({ code: 'MQ_ERR_QUEUE_INVALID' });
    await broker.commitOffset('G', 'T', 0, 3);
    expect((await drain(broker, 'G', 'T')).map((m) => m.body.toString())).toEqual(['m3', 'm4']);
    const pulled = await broker.pull('T', 0, 1, 2);
    expect(pulled.messages.map((m) => m.body.toString())).toEqual(['m1', 'm2']);
  });
});
