/**
 * A typed client for the mqgate REST API. One method per route of API.md; failures throw
 * {@link MqgateClientError} with the server's error code.
 */
import { MqgateClientError } from './errors.js';
import type {
  AckResult,
  BackendInfo,
  ErrorBody,
  GroupConfig,
  GroupDetail,
  GroupOffsets,
  PullResult,
  TopicDetail,
  TopicSummary,
  GroupInput,
  Message,
  MessageInput,
  ReceiveInput,
  SendResult,
  TransactionResult,
} from './types.js';

export interface ClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:8080`. @defaultValue MQGATE_URL or http://127.0.0.1:8080 */
  readonly url?: string | undefined;
  /** API key (sent as `Authorization: Bearer`). @defaultValue MQGATE_API_KEY */
  readonly apiKey?: string | undefined;
  /** Per-request timeout in ms (long polls get their wait on top). @defaultValue 30000 */
  readonly timeoutMs?: number | undefined;
}

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface SendOptions {
  readonly mode?: 'sync' | 'async' | 'oneway';
  readonly idempotencyKey?: string;
  readonly callbackUrl?: string;
}

type Query = Record<string, string | number | undefined>;

export class MqgateClient {
  readonly url: string;
  readonly #apiKey: string | undefined;
  readonly #timeoutMs: number;

  constructor(o: ClientOptions = {}) {
    this.url = (o.url ?? process.env.MQGATE_URL ?? DEFAULT_URL).replace(/\/+$/, '');
    this.#apiKey = o.apiKey ?? process.env.MQGATE_API_KEY;
    this.#timeoutMs = o.timeoutMs ?? 30_000;
  }

  /** Sends one request; answers the parsed JSON body. */
  async request<T>(
    method: string,
    path: string,
    o: {
      body?: unknown;
      query?: Query;
      headers?: Record<string, string>;
      waitMs?: number;
      signal?: AbortSignal;
    } = {},
  ): Promise<T> {
    let url = this.url + path;
    if (o.query !== undefined) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(o.query)) if (v !== undefined) q.set(k, String(v));
      const s = q.toString();
      if (s !== '') url += `?${s}`;
    }
    const headers: Record<string, string> = { accept: 'application/json', ...o.headers };
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    if (this.#apiKey !== undefined) headers.authorization = `Bearer ${this.#apiKey}`;
    const timeout = AbortSignal.timeout(this.#timeoutMs + (o.waitMs ?? 0));
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        signal: o.signal === undefined ? timeout : AbortSignal.any([timeout, o.signal]),
      });
    } catch (e) {
      const why = e instanceof Error && e.name === 'TimeoutError' ? 'timed out' : 'is not reachable';
      throw new MqgateClientError(
        'MQ_ERR_UNREACHABLE',
        `mqgate at ${this.url} ${why}: start it with "mqgate serve" or give --url / MQGATE_URL`,
        0,
        undefined,
        e,
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const err = (json as ErrorBody | undefined)?.error;
      throw new MqgateClientError(
        err?.code ?? `HTTP_${res.status}`,
        err?.message ?? `${method} ${path} answered ${res.status}`,
        res.status,
        err?.details,
      );
    }
    return json as T;
  }

  // ------------------------------------------------------------------ produce

  send(topic: string, message: MessageInput, o: SendOptions = {}): Promise<SendResult> {
    const headers: Record<string, string> = {};
    if (o.idempotencyKey !== undefined) headers['idempotency-key'] = o.idempotencyKey;
    return this.request('POST', `/v1/topics/${enc(topic)}/messages`, {
      body: message,
      headers,
      query: { mode: o.mode, callbackUrl: o.callbackUrl },
    });
  }

  sendBatch(topic: string, messages: MessageInput[]): Promise<{ results: SendResult[] }> {
    return this.request('POST', `/v1/topics/${enc(topic)}/messages:batch`, { body: { messages } });
  }

  // ------------------------------------------------------------------ transactions

  prepare(
    topic: string,
    producerGroup: string,
    message: MessageInput,
    checkUrl?: string,
  ): Promise<TransactionResult> {
    return this.request('POST', `/v1/topics/${enc(topic)}/transactions`, {
      body: checkUrl === undefined ? { producerGroup, message } : { producerGroup, message, checkUrl },
    });
  }

  commit(transactionId: string): Promise<{ transactionId: string; state: string }> {
    return this.request('POST', `/v1/transactions/${enc(transactionId)}/commit`, { body: {} });
  }

  rollback(transactionId: string): Promise<{ transactionId: string; state: string }> {
    return this.request('POST', `/v1/transactions/${enc(transactionId)}/rollback`, { body: {} });
  }

  // ------------------------------------------------------------------ POP consume

  receive(group: string, r: ReceiveInput, signal?: AbortSignal): Promise<{ messages: Message[] }> {
    return this.request('POST', `/v1/groups/${enc(group)}/receive`, {
      body: r,
      waitMs: (r.waitSeconds ?? 0) * 1000,
      ...(signal === undefined ? {} : { signal }),
    });
  }

  ack(group: string, topic: string, receiptHandle: string | string[]): Promise<AckResult> {
    return this.request('POST', `/v1/groups/${enc(group)}/ack`, {
      body: Array.isArray(receiptHandle)
        ? { topic, receiptHandles: receiptHandle }
        : { topic, receiptHandle },
    });
  }

  nack(
    group: string,
    topic: string,
    receiptHandle: string,
    delayLevel?: number,
  ): Promise<{ receiptHandle: string; outcome: 'RETRY' | 'DLQ' | 'SUSPENDED' | 'DROPPED' }> {
    return this.request('POST', `/v1/groups/${enc(group)}/nack`, {
      body: delayLevel === undefined ? { topic, receiptHandle } : { topic, receiptHandle, delayLevel },
    });
  }

  changeInvisibleDuration(
    group: string,
    topic: string,
    receiptHandle: string,
    invisibleSeconds: number,
  ): Promise<{ receiptHandle: string; invisibleUntil: number }> {
    return this.request('POST', `/v1/groups/${enc(group)}/invisible-duration`, {
      body: { topic, receiptHandle, invisibleSeconds },
    });
  }

  // ------------------------------------------------------------------ pull and offsets

  pull(topic: string, queueId: number, offset: number, maxMessages?: number): Promise<PullResult> {
    return this.request('GET', `/v1/topics/${enc(topic)}/queues/${queueId}/messages`, {
      query: { offset, maxMessages },
    });
  }

  offsets(group: string, topic: string): Promise<GroupOffsets> {
    return this.request('GET', `/v1/groups/${enc(group)}/offsets`, { query: { topic } });
  }

  commitOffset(group: string, topic: string, queueId: number, offset: number): Promise<GroupOffsets> {
    return this.request('PUT', `/v1/groups/${enc(group)}/offsets`, { body: { topic, queueId, offset } });
  }

  resetOffsets(group: string, topic: string, to: 'FIRST' | 'LAST' | number): Promise<GroupOffsets> {
    return this.request('POST', `/v1/groups/${enc(group)}/offsets/reset`, { body: { topic, to } });
  }

  // ------------------------------------------------------------------ admin and query

  listTopics(): Promise<{ topics: TopicSummary[] }> {
    return this.request('GET', '/v1/topics');
  }

  upsertTopic(
    topic: string,
    body: { queues?: number; perm?: string; backend?: string } = {},
  ): Promise<TopicDetail> {
    return this.request('PUT', `/v1/topics/${enc(topic)}`, { body });
  }

  getTopic(topic: string): Promise<TopicDetail> {
    return this.request('GET', `/v1/topics/${enc(topic)}`);
  }

  deleteTopic(topic: string): Promise<{ name: string; deleted: boolean }> {
    return this.request('DELETE', `/v1/topics/${enc(topic)}`);
  }

  listGroups(): Promise<{ groups: GroupConfig[] }> {
    return this.request('GET', '/v1/groups');
  }

  upsertGroup(group: string, body: GroupInput): Promise<GroupConfig> {
    return this.request('PUT', `/v1/groups/${enc(group)}`, { body });
  }

  getGroup(group: string): Promise<GroupDetail> {
    return this.request('GET', `/v1/groups/${enc(group)}`);
  }

  deleteGroup(group: string): Promise<{ name: string; deleted: boolean }> {
    return this.request('DELETE', `/v1/groups/${enc(group)}`);
  }

  getMessage(msgId: string): Promise<Message> {
    return this.request('GET', `/v1/messages/${enc(msgId)}`);
  }

  queryByKey(
    topic: string,
    key: string,
    o: { begin?: number; end?: number; maxMessages?: number } = {},
  ): Promise<{ messages: Message[] }> {
    return this.request('GET', `/v1/topics/${enc(topic)}/messages`, { query: { key, ...o } });
  }

  deadLetters(
    group: string,
    o: { offset?: number; maxMessages?: number } = {},
  ): Promise<{ messages: Message[]; nextOffset: number }> {
    return this.request('GET', `/v1/groups/${enc(group)}/dlq`, { query: o });
  }

  resendDeadLetter(group: string, msgId: string): Promise<SendResult> {
    return this.request('POST', `/v1/groups/${enc(group)}/dlq/${enc(msgId)}/resend`, { body: {} });
  }

  backends(): Promise<{ backends: BackendInfo[] }> {
    return this.request('GET', '/v1/backends');
  }

  health(): Promise<{ status: string }> {
    return this.request('GET', '/healthz');
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}
