/** Sending and receiving helpers of the conformance suite (over the typed REST client). */
import type { FilterInput, Message, MqgateClient, SendResult } from '../../src/client/index.js';
import { MqgateClientError } from '../../src/client/index.js';
import type { MessageInput } from '../../src/client/types.js';

/** Sends n messages one after the other; answers each result with when it was sent. */
export async function sendAll(
  c: MqgateClient,
  topic: string,
  n: number,
  make: (i: number) => MessageInput,
): Promise<{ result: SendResult; at: number }[]> {
  const out: { result: SendResult; at: number }[] = [];
  for (let i = 0; i < n; i++) {
    const at = Date.now();
    out.push({ result: await c.send(topic, make(i)), at });
  }
  return out;
}

export interface ReceiveUntil {
  readonly maxPerCall?: number;
  readonly invisibleSeconds?: number;
  /** Ack what arrives. @defaultValue true */
  readonly ack?: boolean;
  readonly filter?: FilterInput;
  /** Give up after this long. @defaultValue 10000 */
  readonly timeoutMs?: number;
  /** Return once nothing arrived for this long (for cases that expect fewer than n). */
  readonly stopWhenIdleMs?: number;
}

/** Receives (long polling) until n messages came, the time is up, or it has been idle long enough. */
export async function receiveUntil(
  c: MqgateClient,
  group: string,
  topic: string,
  n: number,
  o: ReceiveUntil = {},
): Promise<Message[]> {
  const got: Message[] = [];
  const until = Date.now() + (o.timeoutMs ?? 10_000);
  let last = Date.now();
  while (got.length < n && Date.now() < until) {
    if (o.stopWhenIdleMs !== undefined && Date.now() - last > o.stopWhenIdleMs) break;
    const answer = await c
      .receive(group, {
        topic,
        maxMessages: Math.min(o.maxPerCall ?? 32, 32),
        waitSeconds: 0.5,
        ...(o.invisibleSeconds === undefined ? {} : { invisibleSeconds: o.invisibleSeconds }),
        ...(o.filter === undefined ? {} : { filter: o.filter }),
      })
      .catch(async (e: unknown) => {
        // a consumer tries again while the backend comes back (503, retriable), as clients do
        if (!(e instanceof MqgateClientError) || e.status !== 503) throw e;
        await new Promise((r) => setTimeout(r, 200));
        return { messages: [] as Message[] };
      });
    const messages = answer.messages;
    if (messages.length > 0) last = Date.now();
    got.push(...messages);
    if (o.ack !== false && messages.length > 0)
      await c.ack(
        group,
        topic,
        messages.map((m) => m.receiptHandle ?? ''),
      );
  }
  return got;
}
