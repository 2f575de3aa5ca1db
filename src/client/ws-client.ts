/**
 * A typed client for the mqgate WebSocket API (`/v1/ws`): pipelined publishes, push
 * subscriptions with credit, acks and nacks, and transaction check-back (`txRegister`).
 */
import { WebSocket } from 'ws';
import { MqgateClientError } from './errors.js';
import { DEFAULT_URL } from './rest-client.js';
import type { CheckState, FilterInput, Message, MessageInput, SendResult, TxCheck } from './types.js';

export interface SocketOptions {
  readonly url?: string | undefined;
  readonly apiKey?: string | undefined;
  /** Each request (publish, subscribe, ...) fails after this long without an answer. @defaultValue 30000 */
  readonly timeoutMs?: number | undefined;
}

interface Frame {
  op: string;
  id?: string;
  [k: string]: unknown;
}

interface Pending {
  resolve(f: Frame): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** A push subscription on a socket. */
export interface SocketSubscription {
  readonly id: string;
  /** Adds credit: up to n more unacked messages may be pushed. */
  credit(n: number): void;
  unsubscribe(): Promise<void>;
}

export class MqgateSocket {
  readonly #ws: WebSocket;
  readonly #pending = new Map<string, Pending>();
  readonly #subs = new Map<string, (m: Message) => void>();
  readonly #timeoutMs: number;
  #txHandler: ((c: TxCheck) => Promise<CheckState> | CheckState) | undefined;
  #seq = 0;
  /** Error frames that answer no request (e.g. a bad ack). */
  onError: ((code: string, message: string) => void) | undefined;

  private constructor(ws: WebSocket, timeoutMs: number) {
    this.#ws = ws;
    this.#timeoutMs = timeoutMs;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let f: Frame;
      try {
        f = JSON.parse(data.toString()) as Frame;
      } catch {
        return;
      }
      this.#onFrame(f);
    });
    ws.on('close', () => {
      for (const [id, p] of this.#pending) {
        clearTimeout(p.timer);
        p.reject(new MqgateClientError('MQ_ERR_UNREACHABLE', 'the WebSocket closed', 0));
        this.#pending.delete(id);
      }
    });
  }

  /** Opens a socket to `url` (http(s) or ws(s)). */
  static connect(o: SocketOptions = {}): Promise<MqgateSocket> {
    const base = (o.url ?? process.env.MQGATE_URL ?? DEFAULT_URL).replace(/\/+$/, '').replace(/^http/, 'ws');
    const apiKey = o.apiKey ?? process.env.MQGATE_API_KEY;
    const ws = new WebSocket(`${base}/v1/ws`, {
      headers: apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` },
      perMessageDeflate: false,
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new MqgateSocket(ws, o.timeoutMs ?? 30_000)));
      ws.once('unexpected-response', (_req, res) => {
        reject(
          new MqgateClientError(
            `HTTP_${res.statusCode ?? 0}`,
            `the WebSocket upgrade answered ${res.statusCode ?? 0}`,
            res.statusCode ?? 0,
          ),
        );
      });
      ws.once('error', (e) =>
        reject(
          new MqgateClientError(
            'MQ_ERR_UNREACHABLE',
            `mqgate at ${base} is not reachable: ${e.message}`,
            0,
            undefined,
            e,
          ),
        ),
      );
    });
  }

  /** The underlying socket (tests, advanced use). */
  get raw(): WebSocket {
    return this.#ws;
  }

  #onFrame(f: Frame): void {
    if (f.op === 'message') {
      const handler = this.#subs.get(String(f.subscription));
      if (handler !== undefined) handler(f.message as Message);
      return;
    }
    if (f.op === 'txCheck') {
      void this.#answerCheck(f);
      return;
    }
    const p = f.id === undefined ? undefined : this.#pending.get(f.id);
    if (p === undefined) {
      if (f.op === 'error') this.onError?.(String(f.code), String(f.message));
      return;
    }
    this.#pending.delete(f.id as string);
    clearTimeout(p.timer);
    if (f.op === 'error') p.reject(new MqgateClientError(String(f.code), String(f.message), 0, f.details));
    else p.resolve(f);
  }

  async #answerCheck(f: Frame): Promise<void> {
    let state: CheckState = 'UNKNOWN';
    try {
      if (this.#txHandler !== undefined) state = await this.#txHandler(f as unknown as TxCheck);
    } catch {
      state = 'UNKNOWN';
    }
    this.send({ op: 'txResolve', checkId: f.checkId, transactionId: f.transactionId, state });
  }

  /** Sends a frame as is (no answer awaited). */
  send(frame: Record<string, unknown>): void {
    this.#ws.send(JSON.stringify(frame));
  }

  /** Sends a frame with a fresh id and waits for the answer with that id. */
  call(frame: Record<string, unknown>): Promise<Frame> {
    return this.#callWithId(`c${++this.#seq}`, frame);
  }

  async publish(topic: string, message: MessageInput): Promise<SendResult> {
    const f = await this.call({ op: 'publish', topic, message });
    return {
      msgId: f.msgId,
      topic,
      queueId: f.queueId,
      queueOffset: f.queueOffset,
      status: f.status,
    } as SendResult;
  }

  /** Publishes many messages to one topic in one frame (none delayed or timed). */
  async publishBatch(topic: string, messages: MessageInput[]): Promise<SendResult[]> {
    const f = await this.call({ op: 'publishBatch', topic, messages });
    return f.results as SendResult[];
  }

  /** Subscribes; `onMessage` gets each pushed message (settle it with ack or nack). */
  async subscribe(
    group: string,
    topic: string,
    onMessage: (m: Message) => void,
    o: { filter?: FilterInput; credit?: number; clientId?: string } = {},
  ): Promise<SocketSubscription> {
    const id = `s${++this.#seq}`;
    this.#subs.set(id, onMessage);
    try {
      await this.#callWithId(id, { op: 'subscribe', group, topic, ...o });
    } catch (e) {
      this.#subs.delete(id);
      throw e;
    }
    return {
      id,
      credit: (n) => this.send({ op: 'credit', subscription: id, n }),
      unsubscribe: async () => {
        await this.call({ op: 'unsubscribe', subscription: id });
        this.#subs.delete(id);
      },
    };
  }

  #callWithId(id: string, frame: Record<string, unknown>): Promise<Frame> {
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new MqgateClientError(
            'MQ_ERR_TIMEOUT',
            `no answer to ${String(frame.op)} within ${this.#timeoutMs} ms`,
            0,
          ),
        );
      }, this.#timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  ack(receiptHandle: string): void {
    this.send({ op: 'ack', receiptHandle });
  }

  nack(receiptHandle: string, delayLevel?: number): void {
    this.send(
      delayLevel === undefined ? { op: 'nack', receiptHandle } : { op: 'nack', receiptHandle, delayLevel },
    );
  }

  /** Answers the server's transaction checks for a producer group. */
  async txRegister(
    producerGroup: string,
    handler: (c: TxCheck) => Promise<CheckState> | CheckState,
  ): Promise<void> {
    this.#txHandler = handler;
    await this.call({ op: 'txRegister', producerGroup });
  }

  close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.#ws.once('close', () => resolve());
      this.#ws.close(1000);
    });
  }
}
