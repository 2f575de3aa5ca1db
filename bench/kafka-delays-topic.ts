/**
 * bench/kafka-delays, way 2: a delay topic (the Spring Kafka pattern), a measurement prototype
 * in kafkajs. The bench produces each message to `bench-{run}-{name}-delays`, one topic with one
 * partition per level (a level's records come due in the order they were written, so holding a
 * partition's head holds exactly what is not due, and one consumer group serves every level: a
 * topic per level would cost a topic, a subscription and a fetch per level for the same order),
 * through the gateway's ProduceBatcher (idempotent, acks -1, what is sent meanwhile coalesced
 * into one request), encoded as the kafka adapter encodes a retry copy (due time and real queue
 * in headers). The mover (kafka-delays-mover.ts, a child process) moves due records to the real
 * topic. There a gateway's push subscriber (as in way 1, the gateway doing nothing else) and a
 * kafkajs reader tally them; the restart has the reader only.
 */
import type { ChildProcess } from 'node:child_process';
import type { Consumer } from 'kafkajs';
import { spawn } from 'node:child_process';
import { encode } from '../adapters/kafka/codec.js';
import { newMsgId } from '../src/message/msg-id.js';
import { runId } from './backends-common.js';
import type { RestartResult, WayResult } from './kafka-delays-common.js';
import { Arrivals, delayedBody, dueOf, levelOf, settings, wallNow } from './kafka-delays-common.js';
import type { KafkaBench } from './kafka-delays-kafka.js';
import { awaitArrivals, halfArrived, lastDue, makeTopic, readTopic, sendAll } from './kafka-delays-kafka.js';
import { gateway, rest, subscriber, topicOn } from './kafka-delays-gateway.js';
import { producer } from './kafka-delays-mover.js';

interface Mover {
  readonly child: ChildProcess;
  /** Ends it (SIGKILL: as a crash) and waits for it to be gone. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Starts the mover in a child process, once its group joined. */
function startMover(env: Record<string, string>): Promise<Mover> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/kafka-delays-mover.ts'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      KAFKA_BROKERS: settings.kafkaBrokers.join(','),
      MOVER_MAX_WAIT_MS: String(settings.moverWaitMs),
      ...env,
    },
  });
  const orphaned = (): boolean => child.kill('SIGKILL');
  process.once('exit', orphaned);
  const kill = (signal: NodeJS.Signals): Promise<void> =>
    new Promise((done) => {
      process.off('exit', orphaned);
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
      child.kill(signal);
    });
  return new Promise((resolve, reject) => {
    const failed = (code: number | null): void => reject(new Error(`the mover exited with ${code}`));
    child.once('exit', failed);
    child.stdout?.on('data', (d: Buffer) => {
      if (!d.toString().includes('READY')) return;
      child.off('exit', failed);
      resolve({ child, kill });
    });
  });
}

/** A real topic of the run and the kafkajs reader that tallies it. */
interface RealTopic {
  readonly topic: string;
  readonly arrivals: Arrivals;
  readonly reader: Consumer;
}

/** The delay topic of `real`, the mover between them, and the sends to the delay topic. */
async function setUp(bench: KafkaBench, name: string, real: RealTopic) {
  const delays = await makeTopic(bench, `${real.topic}-delays`, settings.levelsMs.length);
  const moverEnv = { MOVER_GROUP: `bench-${runId}-mover-${name}`, MOVER_FROM: delays, MOVER_TO: real.topic };
  const mover = await startMover(moverEnv);
  const batcher = producer(bench.kafka);
  const send = async (i: number): Promise<void> => {
    const due = dueOf(i);
    const queueId = i % settings.partitions;
    const message = {
      queueId,
      msgId: newMsgId(),
      bornTimestamp: Date.now(),
      body: delayedBody(i, due),
      tag: undefined,
      keys: [],
      properties: {},
    };
    await batcher.send(delays, [
      encode(message, { partition: levelOf(i) - 1, queueId, reconsumeTimes: 0, due }),
    ]);
  };
  const records = async (): Promise<number> =>
    ((await bench.count(real.topic)) + (await bench.count(delays))) / real.arrivals.total;
  const close = async (): Promise<void> => {
    await mover.kill('SIGTERM');
    await batcher.close();
    await real.reader.disconnect();
  };
  return { mover, moverEnv, send, records, close };
}

/** N delayed sends to the delay topic, moved when due, received on the real topic (a gateway's). */
export async function delayTopic(bench: KafkaBench): Promise<WayResult> {
  const server = await gateway();
  try {
    const real = await topicOn(server, bench, 'topic', settings.messages);
    const group = `bench-${runId}-topic`;
    await rest(server, 'PUT', `/v1/groups/${group}`, { consumeFrom: 'LAST' });
    const push = new Arrivals(settings.messages);
    const sub = await subscriber(server, group, real.topic, push);
    const { send, records, close } = await setUp(bench, 'topic', real);
    try {
      const sendRate = await sendAll('kafkajs delay topic send', settings.messages, send);
      real.arrivals.span = { from: wallNow(), to: Infinity };
      await awaitArrivals([real.arrivals, push], lastDue());
      sub.close();
      return { sendRate, kafkaRecords: await records(), topic: real.arrivals, push };
    } finally {
      await close();
    }
  } finally {
    await server.stop();
  }
}

/** The same (no gateway), the mover killed with SIGKILL half way and started again (its group waits for the dead member). */
export async function delayTopicRestart(bench: KafkaBench): Promise<RestartResult> {
  const topic = await makeTopic(bench, `bench-${runId}-topic-restart`, settings.partitions);
  const arrivals = new Arrivals(settings.restartMessages);
  const real = { topic, arrivals, reader: await readTopic(bench, topic, arrivals) };
  const parts = await setUp(bench, 'topic-restart', real);
  let mover = parts.mover;
  try {
    const sendRate = await sendAll('kafkajs delay topic send', arrivals.total, parts.send);
    const dueBy = lastDue();
    await halfArrived(arrivals);
    const pendingAtKill = arrivals.total - arrivals.distinct;
    const killedAt = wallNow();
    arrivals.span = { from: killedAt, to: Infinity };
    await mover.kill('SIGKILL');
    mover = await startMover(parts.moverEnv);
    arrivals.span.to = wallNow();
    await awaitArrivals([arrivals], dueBy);
    return { sendRate, arrivals, pendingAtKill, downMs: arrivals.span.to - killedAt };
  } finally {
    await mover.kill('SIGTERM');
    await parts.close();
  }
}
