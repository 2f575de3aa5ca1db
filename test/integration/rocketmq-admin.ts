/**
 * Just enough of RocketMQ's remoting protocol to create topics for tests. The gRPC proxy
 * does not auto-create topics (a route query for an unknown topic fails with
 * "No topic route info in name server", code 17, even with autoCreateTopicEnable=true), and
 * the Node client has no admin API, so tests ask the broker directly, as `mqadmin updateTopic`
 * does.
 *
 * Frame: [total length: int32][serialize type (8 bits) | header length (24 bits)][header JSON][body]
 */
import { connect, type Socket } from 'node:net';

const RequestCode = { UPDATE_AND_CREATE_TOPIC: 17, GET_ROUTEINFO_BY_TOPIC: 105 } as const;
const SUCCESS = 0;
const TOPIC_NOT_EXIST = 17;

interface RemotingResponse {
  code: number;
  remark?: string;
  body: Buffer;
}

let nextOpaque = 1;

/** Sends one request over a fresh connection and returns its response. */
function request(
  address: string,
  code: number,
  extFields: Record<string, string>,
  timeoutMs = 5000,
): Promise<RemotingResponse> {
  const [host, port] = splitAddress(address);
  const header = Buffer.from(
    JSON.stringify({ code, language: 'JAVA', version: 0, opaque: nextOpaque++, flag: 0, extFields }),
  );
  const frame = Buffer.alloc(8 + header.length);
  frame.writeInt32BE(4 + header.length, 0);
  frame.writeInt32BE(header.length & 0xffffff, 4); // serialize type 0 = JSON
  header.copy(frame, 8);

  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host, port });
    let received = Buffer.alloc(0);
    const fail = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no answer from ${address} in ${timeoutMs} ms`)));
    socket.once('error', fail);
    socket.once('connect', () => socket.write(frame));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4 || received.length < 4 + received.readInt32BE(0)) return;
      socket.end();
      const total = received.readInt32BE(0);
      const headerLength = received.readInt32BE(4) & 0xffffff;
      const head = JSON.parse(received.subarray(8, 8 + headerLength).toString('utf8')) as {
        code: number;
        remark?: string;
      };
      resolve({ code: head.code, remark: head.remark, body: received.subarray(8 + headerLength, 4 + total) });
    });
  });
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

/** Master broker addresses in a route (fastjson writes the brokerId keys unquoted: {0:"ip:port"}). */
function masterAddresses(routeJson: string): string[] {
  return [...routeJson.matchAll(/[{,]\s*"?0"?\s*:\s*"([^"]+:\d+)"/g)].map((m) => m[1] ?? '');
}

async function route(namesrv: string, topic: string): Promise<RemotingResponse> {
  return request(namesrv, RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic });
}

export type TopicMessageType = 'NORMAL' | 'FIFO' | 'DELAY' | 'TRANSACTION';

/**
 * Creates `topic` with `queues` queues on every master broker the name server knows (found
 * through the route of TBW102, the auto-create template topic), then waits until the name
 * server serves its route.
 */
export async function createTopic(
  namesrv: string,
  topic: string,
  messageType: TopicMessageType,
  queues = 4,
): Promise<void> {
  const template = await route(namesrv, 'TBW102');
  if (template.code !== SUCCESS) {
    throw new Error(`name server ${namesrv} has no route for TBW102 (${template.code}: ${template.remark})`);
  }
  const brokers = masterAddresses(template.body.toString('utf8'));
  if (brokers.length === 0)
    throw new Error(`no master broker in the TBW102 route: ${template.body.toString()}`);
  for (const broker of brokers) {
    const res = await request(broker, RequestCode.UPDATE_AND_CREATE_TOPIC, {
      topic,
      defaultTopic: 'TBW102',
      readQueueNums: String(queues),
      writeQueueNums: String(queues),
      perm: '6',
      topicFilterType: 'SINGLE_TAG',
      topicSysFlag: '0',
      order: 'false',
      attributes: `+message.type=${messageType}`,
    });
    if (res.code !== SUCCESS)
      throw new Error(`creating ${topic} on ${broker} failed (${res.code}: ${res.remark})`);
  }
  const deadline = Date.now() + 15_000;
  for (;;) {
    const res = await route(namesrv, topic);
    if (res.code === SUCCESS) return;
    if (res.code !== TOPIC_NOT_EXIST || Date.now() > deadline) {
      throw new Error(`route of ${topic} not served by ${namesrv} (${res.code}: ${res.remark})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
