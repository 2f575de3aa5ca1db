/** Helpers shared by the broker smoke tests: addresses from the global setup, unique names. */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { BROKERS, type BrokerName } from '../setup/brokers-env.js';

/** One id per test file run, so topics and queues never collide across runs. */
export const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

/** `t-${runId}-${name}`: the topic/queue/group name for one test. */
export function uniqueName(name: string): string {
  return `t-${runId}-${name}`;
}

/** The broker's address; throws (never skips) when the run was not given this broker. */
export function brokerAddress(name: BrokerName): string {
  const address = inject('brokers')[name];
  if (address === undefined) {
    const { envVar } = BROKERS[name];
    throw new Error(
      `${BROKERS[name].label} is not available to this run (MQGATE_TEST_BROKERS leaves it out): ` +
        `start it with scripts/brokers/up.sh ${name} or set ${envVar}`,
    );
  }
  return address;
}

/** The RocketMQ name server (topics and groups are created through it: adapters/rocketmq/broker-admin.ts). */
export function rocketmqNamesrv(): string {
  brokerAddress('rocketmq');
  const namesrv = inject('rocketmqNamesrv');
  if (namesrv === undefined) throw new Error('ROCKETMQ_NAMESRV is not known to this run');
  return namesrv;
}

/** Resolves after ms milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls fn until it returns a value other than undefined, or fails after timeoutMs. */
export async function eventually<T>(
  what: string,
  timeoutMs: number,
  fn: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}
