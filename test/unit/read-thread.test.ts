import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMessage, writeBlank } from '../../src/message/codec.js';
import { isVerified, ReadThread } from '../../src/store/read-thread.js';

const MAX = 1 << 20;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Three records back to back, then a BLANK marker; returns the file and the record offsets. */
function logFile(): { fd: number; offsets: number[]; size: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqgate-read-thread-'));
  dirs.push(dir);
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  let at = 0;
  for (let i = 0; i < 3; i++) {
    const msg = { topic: 'T', queueId: 0, body: Buffer.alloc(100 + i, i), keys: [`k${i}`] };
    const rec = encodeMessage(msg, { queueOffset: i, commitLogOffset: at, storeTimestamp: 1 });
    offsets.push(at);
    parts.push(rec);
    at += rec.length;
  }
  const blank = Buffer.alloc(16);
  writeBlank(blank, 0, 16);
  parts.push(blank);
  const file = path.join(dir, 'log');
  fs.writeFileSync(file, Buffer.concat(parts));
  return { fd: fs.openSync(file, 'r+'), offsets, size: at + 16 };
}

describe('read thread', () => {
  it('read thread - reads a span and lists the records whose CRC is right', async () => {
    const { fd, offsets, size } = logFile();
    const t = new ReadThread();
    try {
      const span = await t.read(fd, 0, size, MAX);
      expect(span.buf.length).toBe(size);
      expect(Array.from(span.verified)).toEqual(offsets);
      expect(fs.readFileSync(`/proc/self/fd/${fd}`).equals(span.buf)).toBe(true);
    } finally {
      await t.close();
      fs.closeSync(fd);
    }
  });

  it('read thread - a damaged record is left out, the records after it are still checked', async () => {
    const { fd, offsets, size } = logFile();
    const victim = offsets[1] as number;
    fs.writeSync(fd, Buffer.from([0xff]), 0, 1, victim + 120); // inside its body
    const t = new ReadThread();
    try {
      const span = await t.read(fd, 0, size, MAX);
      expect(Array.from(span.verified)).toEqual([offsets[0], offsets[2]]);
      expect(isVerified(span.verified, victim)).toBe(false);
      expect(isVerified(span.verified, offsets[2] as number)).toBe(true);
      // a span cut inside the last record: that record is not listed
      const cut = await t.read(fd, 0, (offsets[2] as number) + 50, MAX);
      expect(Array.from(cut.verified)).toEqual([offsets[0]]);
    } finally {
      await t.close();
      fs.closeSync(fd);
    }
  });

  it('read thread - a failed read rejects with its errno code', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqgate-read-thread-'));
    dirs.push(dir);
    const fd = fs.openSync(dir, 'r'); // reading a directory fails with EISDIR
    const t = new ReadThread();
    try {
      await expect(t.read(fd, 0, 100, MAX)).rejects.toMatchObject({ code: 'EISDIR' });
    } finally {
      await t.close();
      fs.closeSync(fd);
    }
  });
});
