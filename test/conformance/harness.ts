/**
 * The conformance suite's gateway: a real `mqgate serve` in this process on a free port, over
 * a data dir that survives a restart of the gateway, with test-sized times (delay level n is
 * n x 100 ms, invisible times from 100 ms, check-backs every 300 ms). Each backend under test
 * is a fixture: the config that makes it, and how its broker is restarted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { BrokerAdapter } from '../../adapters/index.js';
import type { Running } from '../../src/cli/serve.js';
import { startServer } from '../../src/cli/serve.js';
import { MqgateClient } from '../../src/client/index.js';
import type { ConfigLayer } from '../../src/config/load.js';
import { merge, validateConfig } from '../../src/config/load.js';

export const DELAY_STEP_MS = 100;
export const LEVELS = Array.from({ length: 18 }, (_, i) => `${(i + 1) * DELAY_STEP_MS}ms`).join(' ');

/** A backend the suite runs against. */
export interface BackendFixture {
  /** The backend's name in the gateway, which the suite's topics are put on. */
  readonly name: string;
  /** What the configuration needs for it (gateway.backends, ...). */
  readonly config: ConfigLayer;
  /** Restarts its broker under a running gateway (`local`: the gateway itself, its broker). */
  restart(h: Harness): Promise<void>;
}

export class Harness {
  readonly dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqgate-conf-'));
  readonly runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  readonly fixture: BackendFixture;
  #running: Running | undefined;
  #cases = 0;
  readonly #topics: string[] = [];

  constructor(fixture: BackendFixture) {
    this.fixture = fixture;
  }

  async start(): Promise<void> {
    const base: ConfigLayer = {
      server: { host: '127.0.0.1', port: 0 },
      store: { dataDir: this.dataDir, segmentSize: 4 * 1024 * 1024, maxMessageSize: 64 * 1024 },
      broker: {
        delayLevels: LEVELS,
        minInvisibleMs: 100,
        transactionTimeoutMs: 0,
        transactionCheckIntervalMs: 300,
        autoCreateGroups: true,
      },
      log: { level: 'error', pretty: false },
    };
    this.#running = await startServer(validateConfig(merge(base, this.fixture.config)));
  }

  get running(): Running {
    if (this.#running === undefined) throw new Error('the harness gateway is not started');
    return this.#running;
  }

  get client(): MqgateClient {
    return new MqgateClient({ url: this.running.url });
  }

  get url(): string {
    return this.running.url;
  }

  /** The adapter of the backend under test (for the cases on the contract itself). */
  adapter(): BrokerAdapter {
    const b = this.running.gateway.backends.get(this.fixture.name);
    if (b === undefined) throw new Error(`no backend ${this.fixture.name}`);
    return b.adapter;
  }

  /** Stops the gateway and starts it again on the same data dir (a new port). */
  async restartGateway(): Promise<void> {
    await this.running.stop();
    this.#running = undefined;
    await this.start();
  }

  /** A fresh topic on the backend under test: `t-{runId}-{case}`. */
  async topic(name: string, queues = 4): Promise<string> {
    const t = `t-${this.runId}-${name}-${++this.#cases}`;
    await this.client.upsertTopic(t, { queues, backend: this.fixture.name });
    this.#topics.push(t);
    return t;
  }

  /**
   * A fresh group, created to start from the first message unless told otherwise. On a backend
   * without start positions (a queue broker: a group gets what is sent once its queues exist)
   * it starts from LAST, and with `topic` its queues are made at once (a first receive), so
   * what the case sends next is the group's.
   */
  async group(name: string, body: Record<string, unknown> = {}, topic?: string): Promise<string> {
    const g = `g-${this.runId}-${name}-${++this.#cases}`;
    const noStart = (await this.features()).startPosition === 'none';
    await this.client.upsertGroup(g, { consumeFrom: noStart ? 'LAST' : 'FIRST', ...body });
    if (noStart && topic !== undefined) await this.client.receive(g, { topic, waitSeconds: 0 });
    return g;
  }

  #features: Record<string, string> | undefined;

  /** The backend's features as GET /v1/backends gives them. */
  async features(): Promise<Record<string, string>> {
    this.#features ??= (await this.client.backends()).backends.find((b) => b.name === this.fixture.name)
      ?.features as Record<string, string>;
    return this.#features;
  }

  /** Deletes the topics the cases made (a broker drops their queues), then stops the gateway. */
  async stop(): Promise<void> {
    if (this.#running !== undefined)
      for (const t of this.#topics) await this.client.deleteTopic(t).catch(() => undefined);
    await this.#running?.stop();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
