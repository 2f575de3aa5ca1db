/**
 * bench/backends' mqgate side: the gateway in its own process (bench-server.ts) with one backend
 * (`rabbitmq` or `kafka`), each topic put on it with `PUT /v1/topics/{t}` (BENCH_QUEUES queues).
 * The load comes from the bench process: autocannon for REST sends, WebSocket clients for
 * publishBatch, push and the latency run.
 *
 * Sends are counted on the backend itself (the probe: RabbitMQ queues bound as a group's are,
 * Kafka's offsets); consumption and latency go through a real consumer group, made at a
 * subscribe before anything is sent to it (on RabbitMQ a group's queues take messages from its
 * first receive or subscribe on; on Kafka a new group starts at the end of the topic then).
 */
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import autocannon from 'autocannon';
import { WebSocket } from 'ws';
import type { BackendProbe, Counter, Latency, Side, Starter } from './backends-common.js';
import {
  BODY,
  LatencyRecorder,
  checkArrived,
  keepInFlight,
  paced,
  runId,
  settings,
  sleep,
  timedBody,
  until,
} from './backends-common.js';

const HANDLE = '"receiptHandle":"';
const BODY_AT = '"body":"';
const ONE = `{"body":"${BODY}","tag":"TagA"}`;

/** Sends on `ws` with the frames of one tick corked into one write (as bench/ws does). */
export function corked(ws: WebSocket): (text: string) => void {
  const socket = (ws as unknown as { _socket: Socket })._socket;
  let held = false;
  return (text) => {
    if (!held) {
      held = true;
      socket.cork();
      process.nextTick(() => {
        held = false;
        socket.uncork();
      });
    }
    ws.send(text);
  };
}

/** Acks the delivery of a message frame; false for any other frame. */
export function ackDelivery(data: Buffer, send: (text: string) => void): boolean {
  const h = data.indexOf(HANDLE);
  if (h < 0) {
    if (data.indexOf('"op":"error"') >= 0) console.error(`mqgate: ${data.toString()}`);
    return false;
  }
  const from = h + HANDLE.length;
  send(`{"op":"ack","receiptHandle":"${data.toString('latin1', from, data.indexOf(34, from))}"}`);
  return true;
}

export class GatewaySide implements Side {
  readonly #url: string;
  readonly #probe: BackendProbe;
  readonly #group = `bench-${runId}`;

  private constructor(url: string, probe: BackendProbe) {
    this.#url = url;
    this.#probe = probe;
  }

  /** Waits (a little) for the gateway's backend to be up and makes the run's consumer group. */
  static async open(url: string, probe: BackendProbe): Promise<GatewaySide> {
    const side = new GatewaySide(url, probe);
    const name = probe.backend;
    let status = 'missing';
    for (let tries = 0; status !== 'up'; tries++) {
      if (tries === 50) throw new Error(`the gateway's ${name} backend is ${status}`);
      if (tries > 0) await sleep(200);
      const { backends } = (await side.#rest('GET', '/v1/backends')) as {
        backends: { name: string; status: string }[];
      };
      status = backends.find((x) => x.name === name)?.status ?? 'missing';
    }
    await side.#rest('PUT', `/v1/groups/${side.#group}`, { consumeFrom: 'LAST' });
    probe.groupMade(side.#group);
    return side;
  }

  async #rest(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.#url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  }

  async #topic(topic: string): Promise<void> {
    await this.#rest('PUT', `/v1/topics/${topic}`, { backend: this.#probe.backend, queues: settings.queues });
  }

  /** A new topic on the backend, and the count of what arrives in it. */
  async #counting(topic: string): Promise<Counter> {
    await this.#topic(topic);
    return this.#probe.counting(topic);
  }

  /**
   * The run's group on a new topic: its queues are made at its first subscribe (answered once
   * they exist), which then ends. (A receive would leave a POP lane reading ahead for a while.)
   */
  async #grouped(topic: string): Promise<void> {
    await this.#topic(topic);
    const ws = await this.#socket();
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (data: Buffer) => {
        const text = data.toString();
        if (text.includes('"op":"ok"')) resolve();
        else if (text.includes('"op":"error"')) reject(new Error(text));
      });
      ws.send(JSON.stringify({ id: 'g', op: 'subscribe', group: this.#group, topic, credit: 1 }));
    });
    ws.close();
    // deleted at the end of the run, once the gateway (which consumes them) is gone
    this.#probe.groupMade(this.#group, topic);
  }

  #socket(): Promise<WebSocket> {
    const ws = new WebSocket(`${this.#url.replace(/^http/, 'ws')}/v1/ws`, { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  }

  /** REST single sends from CONNECTIONS keep-alive connections (autocannon): msgs/s. */
  async sends(topic: string): Promise<number> {
    const counter = await this.#counting(topic);
    const o = {
      url: `${this.#url}/v1/topics/${topic}/messages`,
      method: 'POST' as const,
      body: ONE,
      headers: { 'content-type': 'application/json' },
      connections: settings.connections,
    };
    const warm = await autocannon({ ...o, duration: settings.warmupSeconds });
    const r = await autocannon({ ...o, duration: settings.seconds });
    const bad = warm.non2xx + warm.errors + r.non2xx + r.errors;
    if (bad > 0) throw new Error(`mqgate REST sends: ${bad} errors or non-2xx answers`);
    const ok = warm['2xx'] + r['2xx'];
    // a request under way when autocannon stops is sent, its answer not counted
    const unanswered = warm.requests.sent + r.requests.sent - ok;
    checkArrived('mqgate REST sends', await counter.until(ok), ok, unanswered);
    await counter.drop();
    return r['2xx'] / r.duration;
  }

  /** publishBatch frames of up to BATCH messages on one socket, `limit` messages in all. */
  #batches(ws: WebSocket, topic: string, limit = Infinity): Starter {
    const heads = new Map<number, string>();
    const head = (n: number): string => {
      let h = heads.get(n);
      if (h === undefined) {
        h = `{"op":"publishBatch","topic":"${topic}","messages":[${Array<string>(n).fill(ONE).join(',')}],"id":`;
        heads.set(n, h);
      }
      return h;
    };
    const waiting = new Map<number, { n: number; done: (n: number, ok: boolean) => void }>();
    ws.on('message', (data: Buffer) => {
      const m = /^\{"id":(\d+),"op":"(\w+)"/.exec(data.toString('latin1', 0, 40));
      const w = m === null ? undefined : waiting.get(Number(m[1]));
      if (m === null || w === undefined) return void console.error(`mqgate: ${data.toString()}`);
      waiting.delete(Number(m[1]));
      if (m[2] !== 'result') console.error(`mqgate: ${data.toString()}`);
      w.done(w.n, m[2] === 'result');
    });
    let started = 0;
    let id = 0;
    return (done) => {
      const n = Math.min(settings.batch, limit - started);
      if (n <= 0) return false;
      started += n;
      waiting.set(++id, { n, done });
      ws.send(`${head(n)}${id}}`);
      return true;
    };
  }

  /** WebSocket publishBatch, BATCH_WINDOW frames in flight on one socket: msgs/s. */
  async batches(topic: string): Promise<number> {
    const counter = await this.#counting(topic);
    const ws = await this.#socket();
    const timing = { warmupMs: settings.warmupSeconds * 1000, measureMs: settings.seconds * 1000 };
    const f = await keepInFlight(settings.batchWindow, this.#batches(ws, topic), timing);
    ws.close();
    if (f.failed > 0) throw new Error(`mqgate publishBatch: ${f.failed} messages refused`);
    checkArrived('mqgate publishBatch', await counter.until(f.confirmed), f.confirmed);
    await counter.drop();
    return f.rate;
  }

  /** `expected` messages sent to the group first, then pushed over a WebSocket with CREDIT: msgs/s. */
  async consume(topic: string, expected: number): Promise<number> {
    await this.#grouped(topic);
    const filler = await this.#socket();
    const fill = await keepInFlight(settings.batchWindow, this.#batches(filler, topic, expected));
    filler.close();
    if (fill.failed > 0) throw new Error(`mqgate consume: ${fill.failed} of the backlog refused`);
    const ws = await this.#socket();
    const send = corked(ws);
    let n = 0;
    let last = 0;
    ws.on('message', (data: Buffer) => {
      if (ackDelivery(data, send) && ++n === expected) last = performance.now();
    });
    const t0 = performance.now();
    ws.send(JSON.stringify({ id: 's', op: 'subscribe', group: this.#group, topic, credit: settings.credit }));
    await until(
      'mqgate push',
      () => n >= expected,
      () => n,
    );
    await sleep(300); // a duplicate would show now
    ws.close();
    checkArrived('mqgate push', n, expected);
    return expected / ((last - t0) / 1000);
  }

  /** Publish (WebSocket, one a frame) -> push (WebSocket, CREDIT) at RATE msgs/s, open loop. */
  async latency(topic: string): Promise<Latency> {
    await this.#grouped(topic);
    const rec = new LatencyRecorder();
    const sub = await this.#socket();
    const ack = corked(sub);
    let subscribed = false;
    sub.on('message', (data: Buffer) => {
      if (ackDelivery(data, ack)) {
        const b = data.indexOf(BODY_AT) + BODY_AT.length;
        rec.record(parseFloat(data.toString('latin1', b, b + 24)));
      } else if (data.indexOf('"op":"ok"') >= 0) subscribed = true;
    });
    sub.send(
      JSON.stringify({ id: 's', op: 'subscribe', group: this.#group, topic, credit: settings.credit }),
    );
    await until('the subscription', () => subscribed);
    const pub = await this.#socket();
    let results = 0;
    let errors = 0;
    pub.on('message', (data: Buffer) => {
      if (data.indexOf('"op":"result"') >= 0) results++;
      else if (errors++ === 0) console.error(`mqgate: ${data.toString()}`);
    });
    const total = Math.round(settings.rate * (settings.rateWarmupSeconds + settings.rateSeconds));
    const head = `{"op":"publish","topic":"${topic}","message":{"tag":"TagA","body":"`;
    rec.from = performance.now() + settings.rateWarmupSeconds * 1000;
    await paced(settings.rate, total, (i) => pub.send(`${head}${timedBody(performance.now())}"},"id":${i}}`));
    await until(
      'mqgate latency',
      () => rec.received >= total && results + errors >= total,
      () => rec.received + results,
    );
    await sleep(200);
    pub.close();
    sub.close();
    if (errors > 0) throw new Error(`mqgate latency: ${errors} publishes refused`);
    checkArrived('mqgate latency', rec.received, total);
    return rec.summary();
  }
}
