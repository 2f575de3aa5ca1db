/**
 * The test bed leaves mqgate's own default port alone: with every broker of the test bed up
 * (the global setup fails the run otherwise), `mqgate serve` binds server.port's default and
 * the README's five-minute tour runs there as written.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { runTour } from '../helpers/readme-tour.js';
import type { ServeProcess } from '../helpers/serve-process.js';
import { spawnServe } from '../helpers/serve-process.js';
import { tmpDir } from '../helpers/tmp.js';
import { brokerAddress } from './brokers.js';

let proc: ServeProcess | undefined;
afterEach(async () => {
  proc?.child.kill('SIGKILL');
  await proc?.exited();
  proc = undefined;
});

describe('test bed - default port', () => {
  it('with RabbitMQ, Kafka and RocketMQ up, serve binds its default port and the README tour runs unchanged', async () => {
    for (const b of ['rabbitmq', 'kafka', 'rocketmq'] as const) brokerAddress(b);
    const port = loadConfig({ env: {} }).config.server.port;
    proc = await spawnServe(['--port', String(port), '--data-dir', tmpDir()]);
    expect(proc.url).toBe(`http://127.0.0.1:${port}`);
    const steps = await runTour();
    expect(steps.length).toBeGreaterThan(20);
    for (const s of steps) expect(s.output, s.command).not.toMatch(/"error":\{/);
    const nacks = steps.filter((s) => s.command.includes('/nack')).map((s) => s.output);
    expect(nacks.join(' ')).toMatch(/RETRY[\s\S]*DLQ/);
    const resend = steps.find((s) => s.command.includes('/resend'));
    expect(resend?.output).toContain('SEND_OK');
    const commit = steps.find((s) => s.command.includes('/commit'));
    expect(commit?.output).toContain('COMMIT');
  }, 90_000);
});
