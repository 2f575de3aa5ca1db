/**
 * Vitest global setup of the `integration` project (test/integration, test/conformance,
 * test/e2e). Finds each broker from the environment or `.state/brokers.env` (written by
 * scripts/brokers/up.sh), checks that it answers, else starts it with testcontainers when a
 * Docker engine is reachable, else fails the run with one message naming what is missing.
 * Tests read the addresses with `inject('brokers')`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import {
  answers,
  type BrokerAddresses,
  type BrokerName,
  BROKERS,
  firstHostPort,
  missingBrokersMessage,
  parseEnvFile,
  requiredBrokers,
  resolveAddresses,
} from './brokers-env.js';
import { dockerReachable, startWithContainers, type StartedBroker } from './containers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    brokers: BrokerAddresses;
    /** RocketMQ name server, host:port; tests create topics through it */
    rocketmqNamesrv: string | undefined;
  }
}

const ENV_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.state', 'brokers.env');

/** ROCKETMQ_NAMESRV if given (the file's only with the file's endpoints), else :9876 on the proxy's host. */
function rocketmqNamesrv(
  endpoints: string | undefined,
  fromFile: boolean,
  fileVars: Record<string, string>,
): string | undefined {
  const given = process.env.ROCKETMQ_NAMESRV ?? (fromFile ? fileVars.ROCKETMQ_NAMESRV : undefined);
  if (given) return given;
  return endpoints === undefined ? undefined : `${firstHostPort('rocketmq', endpoints).host}:9876`;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fileVars = existsSync(ENV_FILE) ? parseEnvFile(readFileSync(ENV_FILE, 'utf8')) : {};
  const { addresses, source } = resolveAddresses(process.env, fileVars);
  const missing: { name: BrokerName; reason: string }[] = [];

  for (const name of requiredBrokers(process.env.MQGATE_TEST_BROKERS)) {
    const value = addresses[name];
    const envVar = BROKERS[name].envVar;
    if (value === undefined) {
      missing.push({ name, reason: `${envVar} is not set and .state/brokers.env has no ${envVar}` });
      continue;
    }
    const { host, port } = firstHostPort(name, value);
    if (!(await answers(host, port))) {
      const from = source[name] === 'env' ? `${envVar} (environment)` : `${envVar} in .state/brokers.env`;
      missing.push({ name, reason: `nothing answers at ${host}:${port} from ${from}` });
      delete addresses[name];
    }
  }

  const started: StartedBroker[] = [];
  if (missing.length > 0 && (await dockerReachable())) {
    for (const { name } of missing.splice(0)) {
      const broker = await startWithContainers(name);
      started.push(broker);
      addresses[name] = broker.address;
    }
  }
  if (missing.length > 0) throw new Error(missingBrokersMessage(missing));

  project.provide('brokers', addresses);
  project.provide(
    'rocketmqNamesrv',
    rocketmqNamesrv(addresses.rocketmq, source.rocketmq === 'file', fileVars),
  );
  return async () => {
    for (const broker of started.reverse()) {
      for (const c of broker.containers) await c.stop();
    }
  };
}
