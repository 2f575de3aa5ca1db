/**
 * An in-process `mqgate serve` on a free port with the test bed's RabbitMQ as backend `rabbit`
 * (plus whatever `extra` configures), over a temporary data dir removed at stop.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Running } from '../../src/cli/serve.js';
import { startServer } from '../../src/cli/serve.js';
import type { ConfigLayer } from '../../src/config/load.js';
import { merge, validateConfig } from '../../src/config/load.js';
import { brokerAddress } from '../integration/brokers.js';

export interface RabbitGateway {
  readonly running: Running;
  stop(): Promise<void>;
}

export async function startRabbitGateway(
  extra: ConfigLayer = {},
  rabbit: Record<string, unknown> = {},
): Promise<RabbitGateway> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqgate-rabbit-'));
  const base: ConfigLayer = {
    server: { host: '127.0.0.1', port: 0 },
    store: { dataDir },
    log: { level: 'error', pretty: false },
    gateway: { backends: { rabbit: { type: 'rabbitmq', url: brokerAddress('rabbitmq'), ...rabbit } } },
  };
  const running = await startServer(validateConfig(merge(base, extra)));
  return {
    running,
    async stop() {
      await running.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
