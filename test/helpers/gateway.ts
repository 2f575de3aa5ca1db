/**
 * A gateway on a real port (0: any free one) over a fresh temporary data dir, with the short
 * test timings of the broker helper; stopped after the test file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConfigLayer } from '../../src/config/load.js';
import { merge, validateConfig } from '../../src/config/load.js';
import type { Running } from '../../src/cli/serve.js';
import { startServer } from '../../src/cli/serve.js';
import { TEST_DELAY_LEVELS } from './broker.js';

export interface TestGateway extends Running {
  readonly dataDir: string;
}

export async function startGateway(overrides: ConfigLayer = {}): Promise<TestGateway> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqgate-api-'));
  const base: ConfigLayer = {
    server: { host: '127.0.0.1', port: 0 },
    store: { dataDir, segmentSize: 4 * 1024 * 1024, maxMessageSize: 64 * 1024 },
    broker: {
      delayLevels: TEST_DELAY_LEVELS,
      minInvisibleMs: 10,
      transactionTimeoutMs: 0,
      transactionCheckIntervalMs: 60_000,
    },
    log: { level: 'warn', pretty: false },
  };
  const config = validateConfig(merge(base, overrides));
  const running = await startServer(config);
  return {
    ...running,
    dataDir,
    stop: async () => {
      await running.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
