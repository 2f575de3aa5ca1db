/**
 * Takes a broker of the test bed away and back (scripts/brokers/outage.sh): how the restart
 * and fault tests restart a remote broker under a running gateway.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'brokers', 'outage.sh');

/** Stops `broker` for `seconds` (0: a plain restart) and resolves once it answers again. */
export async function brokerOutage(broker: 'rabbitmq' | 'kafka' | 'rocketmq', seconds = 0): Promise<void> {
  await promisify(execFile)(SCRIPT, [broker, String(seconds)], { timeout: 120_000 });
}
