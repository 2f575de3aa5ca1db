/**
 * The two fault cases every remote backend passes (its fault test starts a gateway with a
 * store-and-forward route for `t-*-saf-*` and calls this inside its describe): the broker away
 * for 10 s of a 30 s publish/consume run loses no confirmed message, sends fail fast and the
 * push consumer resumes by itself; with store-and-forward, sends succeed through the outage and
 * all arrive after it in per-key order.
 */
import { expect, it } from 'vitest';
import { MqgateClient } from '../../src/client/index.js';
import { uniqueName } from '../integration/brokers.js';
import { brokerOutage } from './broker-outage.js';
import type { FaultRun } from './fault-run.js';
import { arrivalOrder, faultRun, lost } from './fault-run.js';

export function faultCases(o: {
  /** The gateway's URL, once it is started. */
  url: () => string;
  /** The gateway's name of the backend, and the test bed's broker behind it. */
  backend: string;
  broker: 'rabbitmq' | 'kafka';
  /** How the broker is named in the cases' titles. */
  title: string;
}): void {
  /** A 30 s run on a new topic and group (consuming from LAST), the broker away from 10 s to 20 s. */
  async function run(
    prefix: string,
    drainMs?: number,
  ): Promise<{ run: FaultRun; c: MqgateClient; topic: string }> {
    const c = new MqgateClient({ url: o.url() });
    const topic = uniqueName(prefix);
    const group = uniqueName(`${prefix}-g`);
    await c.upsertTopic(topic, { queues: 4, backend: o.backend });
    await c.upsertGroup(group, { consumeFrom: 'LAST' });
    const outage = () => brokerOutage(o.broker, 10);
    const r = await faultRun({ url: o.url(), topic, group, seconds: 30, outageAt: 10, outage, drainMs });
    return { run: r, c, topic };
  }

  it(`fault - ${o.title} away for 10 s of a 30 s run: no confirmed message lost, sends fail fast, the consumer resumes`, async () => {
    const { run: r, c, topic } = await run('fault');
    console.log(
      `fault run: ${r.confirmed.size} confirmed, ${r.failed} failed sends, ${r.received.length} deliveries`,
    );
    expect(r.failed).toBeGreaterThan(0); // the outage was real
    expect(r.slowestFailureMs).toBeLessThan(5000);
    expect(r.confirmed.size).toBeGreaterThan(100);
    expect(lost(r)).toEqual([]);
    // deliveries after the outage: the consumer came back without help
    const last = [...r.confirmed.keys()].at(-1);
    expect(r.received.some((m) => m.msgId === last)).toBe(true);
    await c.deleteTopic(topic);
  }, 120_000);

  it('fault - with store-and-forward, sends succeed through the outage and all arrive after it in per-key order', async () => {
    const { run: r, c, topic } = await run('fault-saf-q', 40_000);
    console.log(
      `store-and-forward run: ${r.confirmed.size} confirmed, ${r.failed} failed, ${r.received.length} deliveries`,
    );
    expect(r.failed).toBe(0);
    expect(lost(r)).toEqual([]);
    for (const [key, seqs] of arrivalOrder(r)) expect(seqs, key).toEqual([...seqs].sort((x, y) => x - y));
    expect((await c.backends()).backends.find((b) => b.name === o.backend)?.backlog?.messages).toBe(0);
    await c.deleteTopic(topic);
  }, 150_000);
}
