import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MessageStore } from '../../src/store/index.js';
import { tmpDir } from '../helpers/tmp.js';

const CYCLES = Number(process.env.CRASH_CYCLES ?? 20);
const writer = path.resolve(import.meta.dirname, '../fixtures/crash-writer.ts');

interface Ack {
  msgId: string;
  queueId: number;
  queueOffset: number;
  length: number;
}

/** Runs the writer, SIGKILLs it `killAfterMs` after its first ack; returns the acks it printed. */
function runAndKill(
  dir: string,
  cycle: number,
  killAfterMs: number,
): Promise<{ acks: Ack[]; ready: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dir, String(cycle)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acks: Ack[] = [];
    let ready = '';
    let rest = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        const [kind, a, b, c, d] = line.split(' ');
        if (kind === 'ack') {
          acks.push({ msgId: a as string, queueId: Number(b), queueOffset: Number(c), length: Number(d) });
          // the kill lands while appends are in full flow, however slow the machine
          if (acks.length === 1) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        } else if (kind === 'ready') {
          ready = line.slice(6);
        } else if (kind === 'fail') reject(new Error(`writer reported ${line}`));
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited on its own: code ${code} signal ${signal}`));
      else resolve({ acks, ready });
    });
  });
}

describe('store crash safety', () => {
  it(`crash - every acknowledged SYNC_FLUSH append survives SIGKILL (${CYCLES} cycles)`, async () => {
    const dir = tmpDir();
    const acked = new Map<string, Ack>();
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const { acks } = await runAndKill(dir, cycle, 100 + ((cycle * 37) % 250));
      for (const a of acks) acked.set(a.msgId, a);
      expect(acks.length, `cycle ${cycle} acknowledged nothing`).toBeGreaterThan(0);

      const store = await MessageStore.open({
        dataDir: dir,
        segmentSize: 256 * 1024,
        maxMessageSize: 16 * 1024,
      });
      try {
        // by queue offset: every queue reads back contiguous, intact, with every ack in place
        const byOffset = new Map<string, string>();
        for (const { topic, queueId, minOffset, maxOffset } of store.queues()) {
          let offset = minOffset;
          while (offset < maxOffset) {
            const r = await store.getMessages(topic, queueId, offset, 256);
            expect(r.corrupted, `cycle ${cycle}: damaged records returned`).toEqual([]);
            expect(r.status).toBe('FOUND');
            for (const m of r.messages) {
              expect(m.queueOffset, 'offsets are contiguous').toBe(offset);
              byOffset.set(`${m.queueId}/${m.queueOffset}`, m.msgId);
              offset++;
            }
          }
        }
        for (const a of acked.values()) {
          const where = `${a.queueId}/${a.queueOffset}`;
          if (byOffset.get(where) !== a.msgId) {
            const found = await store.getByMsgId(a.msgId);
            throw new Error(
              `ack ${a.msgId} at ${where} lost (cycle ${cycle}): queue max ${store.maxOffset('CrashTopic', a.queueId)}, ` +
                `at that offset ${byOffset.get(where)}, by id ${found === undefined ? 'none' : `${found.queueId}/${found.queueOffset}`}, ` +
                `recovery ${JSON.stringify(store.recovery)}`,
            );
          }
        }
        // by msgId, through the index: a sample of every cycle's acks (all of the latest)
        const latest = new Set(acks);
        const sample = [...acked.values()].filter((a, i) => i % 7 === 0 || latest.has(a));
        // looked up 128 at a time: one by one, each waits out its own index and log reads, and
        // the sample grows with every cycle (a fast disk acks thousands a cycle)
        for (let i = 0; i < sample.length; i += 128) {
          const part = sample.slice(i, i + 128);
          const found = await Promise.all(part.map((a) => store.getByMsgId(a.msgId)));
          part.forEach((a, j) => {
            const m = found[j];
            expect(m?.msgId, `getByMsgId ${a.msgId} (cycle ${cycle})`).toBe(a.msgId);
            expect(m?.body.length).toBe(a.length);
            expect(m?.body.toString('latin1', 0, 3)).toMatch(/^\d+\//);
          });
        }
      } finally {
        await store.close();
      }
    }
    expect(acked.size).toBeGreaterThan(CYCLES * 10);
  }, 240_000);
});

describe('store crash safety, in process', () => {
  it('crash - a copy taken at any moment (segments rolling under load) recovers without losing an ack', async () => {
    const dir = tmpDir();
    const opts = {
      flushDiskType: 'SYNC_FLUSH' as const,
      segmentSize: 64 * 1024,
      maxMessageSize: 16 * 1024,
      checkpointIntervalMs: 5,
    };
    const store = await MessageStore.open({ dataDir: dir, ...opts });
    const acked: { msgId: string; queueId: number; queueOffset: number }[] = [];
    const copies: { dir: string; acks: number }[] = [];
    let copying = Promise.resolve();
    await Promise.all(
      Array.from({ length: 8 }, async (_, p) => {
        for (let seq = 0; seq < 150; seq++) {
          const r = await store.putMessage({
            topic: 'T',
            queueId: p % 3,
            body: Buffer.alloc(500 + seq * 37, p),
          });
          expect(r.status).toBe('PUT_OK');
          acked.push({
            msgId: r.msgId as string,
            queueId: r.queueId as number,
            queueOffset: r.queueOffset as number,
          });
          if (p === 0 && seq % 15 === 0) {
            // what a kill -9 would leave on disk now: every file as it is
            const copy = tmpDir();
            const acks = acked.length;
            copying = copying.then(() => fs.cpSync(dir, copy, { recursive: true }));
            copies.push({ dir: copy, acks });
          }
        }
      }),
    );
    await copying;
    await store.close();
    for (const c of copies) {
      fs.rmSync(path.join(c.dir, 'lock'), { force: true });
      const s = await MessageStore.open({ dataDir: c.dir, ...opts });
      try {
        expect(s.recovery.corrupt).toEqual([]);
        for (const a of acked.slice(0, c.acks)) {
          const r = await s.getMessages('T', a.queueId, a.queueOffset, 1);
          expect(r.messages[0]?.msgId, `ack ${a.queueId}/${a.queueOffset} in copy after ${c.acks} acks`).toBe(
            a.msgId,
          );
        }
      } finally {
        await s.close();
      }
    }
  });
});
