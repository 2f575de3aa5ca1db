/**
 * `mqgate serve` as a user runs it: the built CLI on a real port. Graceful shutdown loses
 * nothing acknowledged; under SYNC_FLUSH an acknowledged message survives kill -9.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MqgateClient } from '../../src/client/index.js';
import type { SendResult } from '../../src/client/index.js';
import type { ServeProcess } from '../helpers/serve-process.js';
import { runCli, spawnServe } from '../helpers/serve-process.js';
import { tmpDir } from '../helpers/tmp.js';

let proc: ServeProcess | undefined;
afterEach(async () => {
  if (proc !== undefined && proc.child.exitCode === null && proc.child.signalCode === null) {
    proc.child.kill('SIGKILL');
    await proc.exited();
  }
  proc = undefined;
});

/** Sends from `n` concurrent producers until stopped; answers what was acknowledged. */
function load(c: MqgateClient, topic: string, n: number): { stop(): Promise<SendResult[]> } {
  const acked: SendResult[] = [];
  let running = true;
  const workers = Array.from({ length: n }, async (_, w) => {
    for (let i = 0; running; i++) {
      try {
        const r = await c.send(topic, { body: `w${w}-${i}`, keys: [`w${w}-${i}`] });
        if (r.status === 'SEND_OK') acked.push(r);
      } catch {
        return; // the server went away: what was acked before is what counts
      }
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(workers);
      return acked;
    },
  };
}

async function expectAllStored(url: string, acked: SendResult[]): Promise<void> {
  const c = new MqgateClient({ url });
  for (const r of acked) {
    const m = await c.getMessage(r.msgId);
    expect(m.msgId).toBe(r.msgId);
  }
}

describe('mqgate serve', () => {
  it('logs the URL of /docs, answers /healthz, and exits 0 on SIGTERM', async () => {
    proc = await spawnServe(['--data-dir', tmpDir()]);
    expect(proc.output()).toContain('/docs');
    const h = await new MqgateClient({ url: proc.url }).health();
    expect(h.status).toBe('ok');
    proc.child.kill('SIGTERM');
    expect(await proc.exited()).toBe(0);
  });

  it('drains on SIGTERM: every acknowledged send is there after a restart', async () => {
    const dataDir = tmpDir();
    proc = await spawnServe(['--data-dir', dataDir]);
    const c = new MqgateClient({ url: proc.url });
    const l = load(c, 'Drain', 16);
    await new Promise((r) => setTimeout(r, 700));
    proc.child.kill('SIGTERM');
    expect(await proc.exited()).toBe(0);
    const acked = await l.stop();
    expect(acked.length).toBeGreaterThan(50);
    proc = await spawnServe(['--data-dir', dataDir]);
    await expectAllStored(proc.url, acked);
  });

  it('SYNC_FLUSH: an acknowledged send survives kill -9', async () => {
    const dataDir = tmpDir();
    const env = { MQGATE_STORE_FLUSH_DISK_TYPE: 'SYNC_FLUSH' };
    proc = await spawnServe(['--data-dir', dataDir], env);
    const c = new MqgateClient({ url: proc.url });
    const l = load(c, 'Crash', 16);
    await new Promise((r) => setTimeout(r, 700));
    proc.child.kill('SIGKILL');
    await proc.exited();
    const acked = await l.stop();
    expect(acked.length).toBeGreaterThan(50);
    proc = await spawnServe(['--data-dir', dataDir], env);
    await expectAllStored(proc.url, acked);
  });

  it('refuses a bad config with exit 2 and one line naming the key', async () => {
    const r = await runCli(['serve', '--port', '0', '--data-dir', tmpDir()], {
      env: { MQGATE_STORE_FLUSH_DISK_TYPE: 'FAST' },
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('store.flushDiskType');
  });

  it('a port in use: exit 2 and one line naming the port and the setting that moves it', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const { port } = taken.address() as net.AddressInfo;
    try {
      const r = await runCli(['serve', '--port', String(port), '--data-dir', tmpDir()], {
        env: { MQGATE_LOG_LEVEL: 'silent' },
      });
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`127.0.0.1:${port} is already in use`);
      expect(r.stderr).toContain('--port');
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});
