/**
 * A publish/consume run with a broker outage in the middle, as the fault tests of the remote
 * backends need: producers send with sharding keys for `seconds`, a push subscriber acks what
 * it gets, and `outage()` is called after `outageAt` seconds. Answers what was confirmed, what
 * failed and how long the slowest failed send took, and what arrived in which order.
 */
import type { Message } from '../../src/client/index.js';
import { MqgateClient, MqgateSocket } from '../../src/client/index.js';

export interface FaultRun {
  /** msgId -> sharding key and sequence number, of every send answered SEND_OK. */
  readonly confirmed: Map<string, { key: string; seq: number }>;
  readonly failed: number;
  /** The longest time a failed send took to answer (ms): failing fast, not hanging. */
  readonly slowestFailureMs: number;
  /** Deliveries in the order they came (a redelivery appears again). */
  readonly received: Message[];
}

export async function faultRun(o: {
  url: string;
  topic: string;
  group: string;
  seconds: number;
  outageAt: number;
  outage: () => Promise<void>;
  producers?: number;
  /** Wait this long after the run for the last deliveries (ms). */
  drainMs?: number;
}): Promise<FaultRun> {
  const client = new MqgateClient({ url: o.url });
  const confirmed = new Map<string, { key: string; seq: number }>();
  const received: Message[] = [];
  const got = new Set<string>();
  let failed = 0;
  let slowestFailureMs = 0;
  const ws = await MqgateSocket.connect({ url: o.url });
  await ws.subscribe(
    o.group,
    o.topic,
    (m) => {
      received.push(m);
      got.add(m.msgId);
      ws.ack(m.receiptHandle ?? '');
    },
    { credit: 64 },
  );
  const end = Date.now() + o.seconds * 1000;
  const producers = Array.from({ length: o.producers ?? 4 }, async (_, p) => {
    const key = `key-${p}`;
    for (let seq = 0; Date.now() < end;) {
      const started = Date.now();
      try {
        const r = await client.send(o.topic, { body: `${key}:${seq}`, shardingKey: key });
        confirmed.set(r.msgId, { key, seq });
        seq++;
      } catch {
        failed++;
        slowestFailureMs = Math.max(slowestFailureMs, Date.now() - started);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  const outage = new Promise((r) => setTimeout(r, o.outageAt * 1000)).then(o.outage);
  await Promise.all([...producers, outage]);
  const until = Date.now() + (o.drainMs ?? 20_000);
  while (Date.now() < until && [...confirmed.keys()].some((id) => !got.has(id)))
    await new Promise((r) => setTimeout(r, 250));
  ws.close();
  return { confirmed, failed, slowestFailureMs, received };
}

/** The confirmed msgIds that never arrived. */
export function lost(run: FaultRun): string[] {
  const got = new Set(run.received.map((m) => m.msgId));
  return [...run.confirmed.keys()].filter((id) => !got.has(id));
}

/** Per sharding key, the sequence numbers in order of first arrival. */
export function arrivalOrder(run: FaultRun): Map<string, number[]> {
  const first = new Set<string>();
  const out = new Map<string, number[]>();
  for (const m of run.received) {
    const c = run.confirmed.get(m.msgId);
    if (c === undefined || first.has(m.msgId)) continue;
    first.add(m.msgId);
    out.set(c.key, [...(out.get(c.key) ?? []), c.seq]);
  }
  return out;
}
