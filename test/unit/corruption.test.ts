import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MessageStore } from '../../src/store/index.js';
import type { PutMessageResult, StoreOptions } from '../../src/store/index.js';
import { tmpDir } from '../helpers/tmp.js';

const SEG = 64 * 1024;

function opts(dir: string): StoreOptions {
  return { dataDir: dir, segmentSize: SEG, maxMessageSize: 8 * 1024 };
}

const segFile = (dir: string, offset: number): string =>
  path.join(dir, 'commitlog', String(offset - (offset % SEG)).padStart(20, '0'));

/** Writes `n` messages over two queues (about four segments); closes the store. */
async function written(dir: string, n = 120): Promise<PutMessageResult[]> {
  const store = await MessageStore.open(opts(dir));
  const out: PutMessageResult[] = [];
  for (let i = 0; i < n; i++) {
    const b = Buffer.alloc(1500 + (i % 7) * 100, i & 0xff);
    out.push(await store.putMessage({ topic: 'T', queueId: i % 2, body: b, keys: [`k${i}`] }));
  }
  await store.close();
  return out;
}

/** XORs one byte of the CommitLog at a global offset. */
function flip(dir: string, offset: number): void {
  const fd = fs.openSync(segFile(dir, offset), 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, offset % SEG);
  b[0] = (b[0] as number) ^ 0x5a;
  fs.writeSync(fd, b, 0, 1, offset % SEG);
  fs.closeSync(fd);
}

async function readQueue(store: MessageStore, q: number) {
  const r = await store.getMessages('T', q, 0, 1000);
  return { ...r, ids: r.messages.map((m) => m.msgId) };
}

const ids = (rs: PutMessageResult[], q: number): string[] =>
  rs.filter((r) => r.queueId === q).map((r) => r.msgId as string);

describe('corruption', () => {
  it('corruption - a torn last record is cut off and appends continue at its queue offset', async () => {
    const dir = tmpDir();
    const res = await written(dir);
    const last = res.at(-1) as PutMessageResult;
    const at = last.commitLogOffset as number;
    fs.truncateSync(segFile(dir, at), (at % SEG) + Math.floor((last.storeSize as number) / 2));
    const store = await MessageStore.open(opts(dir));
    expect(store.recovery.truncated).toMatchObject({
      at,
      reason: expect.stringMatching(/torn/),
      cutBytes: Math.floor((last.storeSize as number) / 2),
      removedSegments: [],
    });
    expect(store.recovery.corrupt).toEqual([]);
    expect(store.stats().writeEnd).toBe(at);
    const q = last.queueId as number;
    expect((await readQueue(store, q)).ids).toEqual(ids(res, q).slice(0, -1));
    expect((await readQueue(store, 1 - q)).ids).toEqual(ids(res, 1 - q));
    expect(await store.getByMsgId(last.msgId as string)).toBeUndefined();
    const next = await store.putMessage({ topic: 'T', queueId: q, body: Buffer.from('next') });
    expect(next).toMatchObject({ status: 'PUT_OK', queueOffset: last.queueOffset, commitLogOffset: at });
    expect(await store.getByMsgId(last.msgId as string)).toBeUndefined();
    const after = await readQueue(store, q);
    expect(after.ids).toEqual([...ids(res, q).slice(0, -1), next.msgId]);
    await store.close();
    const again = await MessageStore.open(opts(dir));
    expect(again.recovery.truncated).toBeUndefined();
    expect((await readQueue(again, q)).ids).toEqual(after.ids);
    await again.close();
  });

  it('corruption - a newest segment holding only a torn record is removed', async () => {
    const dir = tmpDir();
    const store = await MessageStore.open(opts(dir));
    const res: PutMessageResult[] = [];
    while (res.length === 0 || (res.at(-1)?.commitLogOffset as number) < SEG)
      res.push(await store.putMessage({ topic: 'T', queueId: 0, body: Buffer.alloc(3000, res.length) }));
    await store.close();
    const last = res.at(-1) as PutMessageResult;
    expect(last.commitLogOffset).toBe(SEG);
    fs.truncateSync(segFile(dir, SEG), 100);
    const again = await MessageStore.open(opts(dir));
    expect(again.recovery.truncated).toMatchObject({
      at: SEG,
      cutBytes: 100,
      removedSegments: ['00000000000000065536'],
    });
    expect(fs.existsSync(segFile(dir, SEG))).toBe(false);
    expect((await readQueue(again, 0)).ids).toEqual(ids(res, 0).slice(0, -1));
    const next = await again.putMessage({ topic: 'T', queueId: 0, body: Buffer.from('next') });
    expect(next).toMatchObject({ commitLogOffset: SEG, queueOffset: last.queueOffset });
    expect(
      (await again.getMessages('T', 0, last.queueOffset as number, 1)).messages[0]?.body.toString(),
    ).toBe('next');
    await again.close();
  });

  for (const [name, garbage] of [
    ['random bytes', randomBytes(3000)],
    ['a few bytes', Buffer.from([1, 2, 3])],
  ] as const) {
    it(`corruption - ${name} after the last record are cut off and nothing is lost`, async () => {
      const dir = tmpDir();
      const res = await written(dir);
      const last = res.at(-1) as PutMessageResult;
      const end = (last.commitLogOffset as number) + (last.storeSize as number);
      // segments are preallocated (zeros after the data): the garbage lands right after the last record
      const fd = fs.openSync(segFile(dir, end - 1), 'r+');
      fs.writeSync(fd, garbage, 0, garbage.length, end % SEG);
      fs.closeSync(fd);
      const store = await MessageStore.open(opts(dir));
      expect(store.recovery.truncated).toMatchObject({ at: end, cutBytes: garbage.length });
      expect(store.recovery.truncated?.reason).toBeTruthy();
      expect(store.recovery.corrupt).toEqual([]);
      const after = Buffer.alloc(garbage.length, 0xff);
      const check = fs.openSync(segFile(dir, end - 1), 'r');
      fs.readSync(check, after, 0, after.length, end % SEG);
      fs.closeSync(check);
      expect(
        after.every((b) => b === 0),
        'the cut-off bytes are zeroed',
      ).toBe(true);
      for (const q of [0, 1]) expect((await readQueue(store, q)).ids).toEqual(ids(res, q));
      const next = await store.putMessage({ topic: 'T', queueId: 0, body: Buffer.from('next') });
      expect(next).toMatchObject({ commitLogOffset: end, queueOffset: ids(res, 0).length });
      await store.close();
    });
  }

  it('corruption - zeros after the last record are the preallocated end: nothing reported, nothing lost', async () => {
    const dir = tmpDir();
    const res = await written(dir);
    const last = res.at(-1) as PutMessageResult;
    const end = (last.commitLogOffset as number) + (last.storeSize as number);
    expect(fs.statSync(segFile(dir, end - 1)).size, 'segment files are created at full size').toBe(SEG);
    fs.rmSync(path.join(dir, 'checkpoint')); // a full scan runs into the zeros
    const store = await MessageStore.open(opts(dir));
    expect(store.recovery.truncated).toBeUndefined();
    expect(store.recovery.corrupt).toEqual([]);
    expect(store.recovery.end).toBe(end);
    for (const q of [0, 1]) expect((await readQueue(store, q)).ids).toEqual(ids(res, q));
    const next = await store.putMessage({ topic: 'T', queueId: 1, body: Buffer.from('next') });
    expect(next).toMatchObject({ commitLogOffset: end, queueOffset: ids(res, 1).length });
    await store.close();
  });

  it('corruption - a damaged record found by a full scan is reported and never returned', async () => {
    const dir = tmpDir();
    const res = await written(dir);
    const victim = res[60] as PutMessageResult; // queue 0, in the middle of the log
    const at = victim.commitLogOffset as number;
    flip(dir, at + (victim.storeSize as number) - 300); // inside the body
    fs.rmSync(path.join(dir, 'checkpoint'));
    const store = await MessageStore.open(opts(dir));
    expect(store.recovery.scannedFrom).toBe(0);
    expect(store.recovery.corrupt).toEqual([{ commitLogOffset: at, reason: expect.stringMatching(/CRC/) }]);
    expect(store.recovery.truncated).toBeUndefined();
    expect(store.recovery.records).toBe(res.length - 1);
    const q0 = await readQueue(store, 0);
    expect(q0.status).toBe('FOUND');
    expect(q0.ids).toEqual(ids(res, 0).filter((id) => id !== victim.msgId));
    // its queue offset is kept, reported as lost, and later offsets do not move
    expect(q0.corrupted).toEqual([expect.objectContaining({ queueOffset: victim.queueOffset })]);
    expect(q0.messages.map((m) => m.queueOffset)).not.toContain(victim.queueOffset);
    expect(store.maxOffset('T', 0)).toBe(ids(res, 0).length);
    expect((await readQueue(store, 1)).ids).toEqual(ids(res, 1));
    expect(await store.getByMsgId(victim.msgId as string)).toBeUndefined();
    expect(await store.getByCommitLogOffset(at)).toBeUndefined();
    expect(await store.queryByKey('T', 'k60')).toEqual([]);
    expect((await store.queryByKey('T', 'k62')).length).toBe(1);
    await store.close();
  });

  it('corruption - a damaged record before the checkpoint is reported by reads, not returned', async () => {
    const dir = tmpDir();
    const res = await written(dir);
    const victim = res[41] as PutMessageResult; // queue 1
    const at = victim.commitLogOffset as number;
    flip(dir, at + 200);
    const lastOfQ1 = res.at(-1) as PutMessageResult;
    flip(dir, (lastOfQ1.commitLogOffset as number) + 100);
    const store = await MessageStore.open(opts(dir));
    expect(store.recovery).toMatchObject({ records: 0, corrupt: [] });
    expect(store.recovery.truncated).toBeUndefined();
    const q1 = await readQueue(store, 1);
    expect(q1.status).toBe('FOUND');
    expect(q1.ids).toEqual(ids(res, 1).filter((id) => id !== victim.msgId && id !== lastOfQ1.msgId));
    expect(q1.corrupted).toEqual([
      { commitLogOffset: at, queueOffset: victim.queueOffset, reason: expect.any(String) },
      {
        commitLogOffset: lastOfQ1.commitLogOffset,
        queueOffset: lastOfQ1.queueOffset,
        reason: expect.any(String),
      },
    ]);
    expect(q1.nextBeginOffset).toBe(ids(res, 1).length);
    // a read starting at the damaged record skips it and takes the next one
    const skip = await store.getMessages('T', 1, victim.queueOffset as number, 1);
    expect(skip).toMatchObject({ status: 'FOUND', nextBeginOffset: (victim.queueOffset as number) + 2 });
    expect(skip.messages.map((m) => m.msgId)).toEqual([res[43]?.msgId]);
    expect(skip.corrupted.map((c) => c.commitLogOffset)).toEqual([at]);
    // with nothing usable after it, the read finds nothing
    const none = await store.getMessages('T', 1, lastOfQ1.queueOffset as number, 5);
    expect(none).toMatchObject({ status: 'OFFSET_FOUND_NULL', messages: [], nextBeginOffset: 60 });
    expect(none.corrupted.map((c) => c.queueOffset)).toEqual([lastOfQ1.queueOffset]);
    expect((await readQueue(store, 0)).ids).toEqual(ids(res, 0));
    expect(await store.getByMsgId(victim.msgId as string)).toBeUndefined();
    expect(await store.getByCommitLogOffset(at)).toBeUndefined();
    await store.close();
  });
});
