/**
 * RabbitMQ fault test: the broker is away for 10 s in the middle of a 30 s publish/consume run
 * through the gateway. No confirmed message is lost, sends during the outage fail at once
 * (503, never hang), and the push consumer resumes by itself; with store-and-forward on the
 * topic's route, sends keep succeeding through the outage and everything arrives after it, in
 * per-key order.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import type { RabbitGateway } from '../helpers/rabbit-gateway.js';
import { startRabbitGateway } from '../helpers/rabbit-gateway.js';
import { faultCases } from '../helpers/fault-cases.js';

describe('rabbitmq fault', () => {
  let gw: RabbitGateway;

  beforeAll(async () => {
    gw = await startRabbitGateway(
      {
        gateway: {
          routes: [{ topics: 't-*-saf-*', backend: 'rabbit', storeAndForward: true }],
          healthIntervalMs: 500,
        },
      },
      {},
    );
  });

  afterAll(async () => {
    await gw?.stop();
  });

  faultCases({ url: () => gw.running.url, backend: 'rabbit', broker: 'rabbitmq', title: 'RabbitMQ' });
});
