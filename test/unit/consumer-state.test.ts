import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConsumerState } from '../../src/broker/consume/consumer-state.js';
import type { CursorKey } from '../../src/broker/consume/queue-cursor.js';
import { tmpDir } from '../helpers/tmp.js';

const log = pino({ level: 'silent' });
const key: CursorKey = { group: 'G', client: '', topic: 'T', queueId: 0, retryOf: '' };
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('consumer state', () => {
  it('cursor - acks out of order move the committed offset only over a contiguous run', () => {
    const s = new ConsumerState(tmpDir('cs'), log);
    const c = s.init(key, 10);
    for (let o = 10; o < 15; o++)
      s.take(c, o, { visibleAt: 0, version: s.nextVersion(), redeliveries: 0, owner: undefined });
    s.finish(c, 12);
    s.finish(c, 11);
    expect(c.ackOffset).toBe(10);
    s.finish(c, 10);
    expect(c.ackOffset).toBe(13);
    s.skip(c, 15, 20); // filtered: 15..19 done while 13, 14 are still out
    expect([c.ackOffset, c.popOffset]).toEqual([13, 20]);
    s.release(c, 13);
    expect(c.released).toEqual([13]);
    s.finish(c, 14);
    s.finish(c, 13);
    expect([c.ackOffset, c.inflight.size, c.done.size]).toEqual([20, 0, 0]);
    s.close();
  });

  it('journal - state comes back from snapshot plus journal; a torn last line is ignored', async () => {
    const dir = tmpDir('cs');
    let s = new ConsumerState(dir, log);
    let c = s.init(key, 0);
    for (let o = 0; o < 5; o++)
      s.take(c, o, { visibleAt: 1000 + o, version: s.nextVersion(), redeliveries: o, owner: undefined });
    s.snapshot();
    s.finish(c, 0);
    s.change(c, 3, 9999, s.nextVersion());
    await tick();
    // simulate a crash: no close, plus half a line at the end
    const journal = fs.readdirSync(dir).find((f) => f.startsWith('journal-')) as string;
    fs.appendFileSync(path.join(dir, journal), 'f,0,1');
    s = new ConsumerState(dir, log);
    c = s.get(key) ?? s.init(key, 0);
    expect(c.ackOffset).toBe(1);
    expect([...c.inflight.keys()].sort()).toEqual([1, 2, 3, 4]);
    expect(c.inflight.get(3)).toMatchObject({ visibleAt: 9999, redeliveries: 3 });
    expect(s.nextVersion()).toBeGreaterThan(6);
    s.close();
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('journal-'))).toHaveLength(1);
  });
});
