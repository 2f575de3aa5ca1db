import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Broker } from '../src/broker/index.js';
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tx-'));
const payload = Buffer.alloc(1024, 'x');
const broker = await Broker.open({ dataDir: root, transactionCheckIntervalMs: 3_600_000 });
broker.upsertTopic('Tx', { queues: 4 });
const C = Number(process.env.C ?? 64);
async function rate(name: string, fn: () => Promise<unknown>, s = 3): Promise<void> {
  const e0 = performance.eventLoopUtilization();
  const end = performance.now() + s * 1000; let n = 0;
  await Promise.all(Array.from({ length: C }, async () => { while (performance.now() < end) { await fn(); n++; } }));
  const e = performance.eventLoopUtilization(e0);

  console.log(name, Math.round(n / s), 'per s; main busy', (e.utilization * 100).toFixed(0) + '%', (e.active * 1000 / n).toFixed(1), 'µs/op');
}
const mode = process.env.MODE ?? 'both';
for (let r = 0; r < Number(process.env.R ?? 2); r++) {
if (mode !== 'tx' && mode !== 'prep') await rate('plain', () => broker.send('Tx', { body: payload }));
if (mode !== 'plain' && mode !== 'prep') await rate('tx', async () => { const p = await broker.prepare('Tx', 'bench', { body: payload }); await broker.commit(p.transactionId); });
if (mode === 'all' || mode === 'prep') await rate('prepare-only', () => broker.prepare('Tx', 'bench', { body: payload }));
}
if (mode === 'parts') {
  const props = { REAL_TOPIC: 'Tx', REAL_QID: '1', PGROUP: 'bench' };
  for (let r = 0; r < 2; r++) {
    await rate('plain', () => broker.send('Tx', { body: payload }));
    await rate('plain+3props', () => broker.send('Tx', { body: payload, properties: props }));
    await rate('store.putMessage', () => broker.store.putMessage({ topic: 'Tx', queueId: 1, body: payload }));
    await rate('store.put2', () => broker.store.putMessages([
      { topic: 'Tx', queueId: 1, body: payload, properties: props },
      { topic: 'RMQ_SYS_TRANS_OP_HALF_TOPIC', queueId: 0, tag: 'd', body: '12345', properties: { __TX_OP: 'COMMIT', __TX_HALF_OFFSET: '12345', TRANSACTION_CHECK_TIMES: '0' } },
    ]));
    await rate('prepare-only', () => broker.prepare('Tx', 'bench', { body: payload }));
    await rate('tx', async () => { const p = await broker.prepare('Tx', 'bench', { body: payload }); await broker.commit(p.transactionId); });
  }
}
await broker.close(); fs.rmSync(root, { recursive: true, force: true });
