/**
 * bench/kafka-delays, way 1: the core scheduler. The gateway (bench-server.ts, mode
 * `mqgate-kafka`, its delay levels BENCH_DELAY_LEVELS) takes each delayed send over WebSocket
 * into its own log and sends it to the Kafka topic when due. A push subscriber of the gateway
 * (WebSocket, CREDIT, an ack each) and a kafkajs reader of the topic tally the arrivals. Then
 * the same sends undelayed to another topic: the gateway's write path to Kafka, the one a delay
 * topic kept by the gateway would take.
 *
 * The restart: the gateway on SYNC_FLUSH (an acknowledged delayed send is on disk) and a data
 * directory of the bench's, killed with SIGKILL once half the messages arrived, then started
 * again on the same directory; the reader of the topic counts (the subscriber would add the
 * redeliveries of its own group's uncommitted acks, which are not the scheduler's).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runId, sleep } from './backends-common.js';
import type { RestartResult, WayResult } from './kafka-delays-common.js';
import { Arrivals, settings, wallNow } from './kafka-delays-common.js';
import type { KafkaBench } from './kafka-delays-kafka.js';
import { awaitArrivals, halfArrived, lastDue, sendAll } from './kafka-delays-kafka.js';
import { gateway, publisher, rest, socket, subscriber, topicOn } from './kafka-delays-gateway.js';

/** N delayed sends through the gateway, received by its push subscriber and on the topic. */
export async function coreScheduler(bench: KafkaBench): Promise<WayResult> {
  const server = await gateway();
  try {
    const { topic, arrivals, reader } = await topicOn(server, bench, 'core', settings.messages);
    const group = `bench-${runId}-core`;
    await rest(server, 'PUT', `/v1/groups/${group}`, { consumeFrom: 'LAST' });
    const push = new Arrivals(settings.messages);
    const sub = await subscriber(server, group, topic, push);
    const pub = await socket(server);
    const sendRate = await sendAll('mqgate delayed publish', settings.messages, publisher(pub, topic));
    arrivals.span = { from: wallNow(), to: Infinity };
    await awaitArrivals([arrivals, push], lastDue());
    sub.close();
    await reader.disconnect();
    const kafkaRecords = (await bench.count(topic)) / settings.messages;
    // the same sends undelayed: what the gateway's write path to Kafka takes, as a delay topic's would
    const plain = `${topic}-plain`;
    await rest(server, 'PUT', `/v1/topics/${plain}`, { backend: 'kafka', queues: settings.partitions });
    const plainPub = await socket(server);
    const plainRate = await sendAll('mqgate publish', settings.messages, publisher(plainPub, plain, false));
    const sent = await bench.countUntil(plain, settings.messages);
    if (sent !== settings.messages)
      throw new Error(`${sent} plain sends in Kafka, ${settings.messages} expected`);
    pub.close();
    plainPub.close();
    return { sendRate, plainRate, kafkaRecords, topic: arrivals, push };
  } finally {
    await server.stop();
  }
}

/** The same sends (SYNC_FLUSH), the gateway killed with SIGKILL half way and started again. */
export async function coreRestart(bench: KafkaBench): Promise<RestartResult> {
  const dataDir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'mqgate-kafka-delays-'));
  const env = { BENCH_FLUSH: 'SYNC_FLUSH', BENCH_DATA_DIR: dataDir };
  let server = await gateway(env);
  try {
    const { topic, arrivals, reader } = await topicOn(
      server,
      bench,
      'core-restart',
      settings.restartMessages,
    );
    const pub = await socket(server);
    const sendRate = await sendAll(
      'mqgate delayed publish (SYNC_FLUSH)',
      arrivals.total,
      publisher(pub, topic),
    );
    const dueBy = lastDue();
    await halfArrived(arrivals);
    const pendingAtKill = arrivals.total - arrivals.distinct;
    const killedAt = wallNow();
    arrivals.span = { from: killedAt, to: Infinity };
    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGKILL');
    await exited;
    server = await gateway(env);
    arrivals.span.to = wallNow();
    await awaitArrivals([arrivals], dueBy);
    await reader.disconnect();
    return { sendRate, arrivals, pendingAtKill, downMs: arrivals.span.to - killedAt };
  } finally {
    await server.stop();
    await sleep(100);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
