/**
 * Where the integration tests find their brokers: environment variables set by the user,
 * else `.state/brokers.env` written by `scripts/brokers/up.sh`. Pure functions, so the
 * rules are unit-tested (test/unit/brokers-env.test.ts).
 */
import { connect } from 'node:net';

export const BROKERS = {
  rabbitmq: { envVar: 'RABBITMQ_URL', label: 'RabbitMQ' },
  kafka: { envVar: 'KAFKA_BROKERS', label: 'Apache Kafka' },
  rocketmq: { envVar: 'ROCKETMQ_ENDPOINTS', label: 'Apache RocketMQ 5 (gRPC proxy)' },
} as const;

export type BrokerName = keyof typeof BROKERS;
export type BrokerAddresses = Partial<Record<BrokerName, string>>;

export const BROKER_NAMES = Object.keys(BROKERS) as BrokerName[];

/** Parses `KEY=value` lines; blank lines and `#` comments are ignored. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

/**
 * The brokers a run needs: `MQGATE_TEST_BROKERS=kafka,rabbitmq` narrows it, `none` needs none
 * (the embedded backends' tests: local conformance, parity), default all.
 */
export function requiredBrokers(spec: string | undefined): BrokerName[] {
  if (spec === undefined || spec.trim() === '' || spec.trim() === 'all') return [...BROKER_NAMES];
  if (spec.trim() === 'none') return [];
  const names = spec.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!(n in BROKERS)) {
      throw new Error(
        `MQGATE_TEST_BROKERS: unknown broker '${n}' (use ${BROKER_NAMES.join(', ')}, all or none)`,
      );
    }
  }
  return names as BrokerName[];
}

/** Addresses from the process environment first, then from the env file's lines. */
export function resolveAddresses(
  env: Record<string, string | undefined>,
  fileVars: Record<string, string>,
): { addresses: BrokerAddresses; source: Partial<Record<BrokerName, 'env' | 'file'>> } {
  const addresses: BrokerAddresses = {};
  const source: Partial<Record<BrokerName, 'env' | 'file'>> = {};
  for (const name of BROKER_NAMES) {
    const key = BROKERS[name].envVar;
    const fromEnv = env[key];
    if (fromEnv) {
      addresses[name] = fromEnv;
      source[name] = 'env';
    } else if (fileVars[key]) {
      addresses[name] = fileVars[key];
      source[name] = 'file';
    }
  }
  return { addresses, source };
}

/** host:port of the first address in RABBITMQ_URL, KAFKA_BROKERS or ROCKETMQ_ENDPOINTS. */
export function firstHostPort(name: BrokerName, value: string): { host: string; port: number } {
  const first = value.split(/[,;]/)[0]?.trim() ?? '';
  if (name === 'rabbitmq') {
    const url = new URL(first);
    return {
      host: url.hostname,
      port: url.port ? Number(url.port) : url.protocol === 'amqps:' ? 5671 : 5672,
    };
  }
  const i = first.lastIndexOf(':');
  if (i <= 0) throw new Error(`${BROKERS[name].envVar}: expected host:port, got '${first}'`);
  return { host: first.slice(0, i), port: Number(first.slice(i + 1)) };
}

/** True when something accepts a TCP connection at host:port within timeoutMs. */
export function answers(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The one message shown when brokers are missing: which ones, and how to start them. */
export function missingBrokersMessage(missing: { name: BrokerName; reason: string }[]): string {
  const names = missing.map((m) => m.name);
  const lines = missing.map((m) => `  - ${BROKERS[m.name].label}: ${m.reason}`);
  return [
    `Integration tests need ${names.length === 1 ? 'a broker' : 'brokers'} that ${names.length === 1 ? 'is' : 'are'} not available:`,
    ...lines,
    `Start ${names.length === 1 ? 'it' : 'them'} on this machine with: scripts/brokers/up.sh ${names.join(' ')}`,
    `or set ${names.map((n) => BROKERS[n].envVar).join(', ')} to running brokers (see README, "Brokers for tests"),`,
    'or make a Docker engine reachable so the tests start them with testcontainers.',
    'To run only some brokers\u2019 tests, set MQGATE_TEST_BROKERS (e.g. MQGATE_TEST_BROKERS=kafka).',
  ].join('\n');
}
