/**
 * Kafka fault test: the broker process is stopped for 10 s (then started again on its data, a
 * restart of some seconds more) in the middle of a 30 s publish/consume run through the
 * gateway. No confirmed message is lost, sends during the outage fail fast (503, never hang),
 * and the push consumer resumes by itself; with store-and-forward on the topic's route, sends
 * keep succeeding through the outage and everything arrives after it, in per-key order.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import type { Running } from '../../src/cli/serve.js';
import { startServer } from '../../src/cli/serve.js';
import { merge, validateConfig } from '../../src/config/load.js';
import { faultCases } from '../helpers/fault-cases.js';
import { brokerAddress } from './brokers.js';

describe('kafka fault', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqgate-kafka-fault-'));
  let running: Running;

  beforeAll(async () => {
    running = await startServer(
      validateConfig(
        merge(
          {
            server: { host: '127.0.0.1', port: 0 },
            store: { dataDir },
            log: { level: 'error', pretty: false },
            gateway: {
              backends: { kafka: { type: 'kafka', brokers: brokerAddress('kafka').split(',') } },
              routes: [{ topics: 't-*-saf-*', backend: 'kafka', storeAndForward: true }],
              healthIntervalMs: 500,
            },
          },
          {},
        ),
      ),
    );
  });

  afterAll(async () => {
    await running?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  faultCases({ url: () => running.url, backend: 'kafka', broker: 'kafka', title: 'Kafka' });
});
