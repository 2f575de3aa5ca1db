import { Broker } from '../../src/broker/index.js';
import type { BrokerOptions } from '../../src/broker/index.js';
import { tmpDir } from './tmp.js';

/** Short delay levels for tests: level N waits N * 20 ms. */
export const TEST_DELAY_LEVELS = Array.from({ length: 18 }, (_, i) => `${(i + 1) * 20}ms`).join(' ');

/** A broker over a fresh temp dir with test-sized times; `dataDir` reopens an existing one. */
export async function openBroker(opts: Partial<BrokerOptions> = {}): Promise<Broker> {
  return Broker.open({
    dataDir: opts.dataDir ?? tmpDir('broker'),
    delayLevels: TEST_DELAY_LEVELS,
    minInvisibleMs: 10,
    consumerExpiryMs: 60_000,
    ...opts,
    store: { segmentSize: 4 * 1024 * 1024, maxMessageSize: 64 * 1024, ...opts.store },
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 5 ms until it is true or `ms` passed. */
export async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await sleep(5);
  }
}
