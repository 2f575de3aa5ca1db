/**
 * Raw HTTP for the API tests: `fetch` against a gateway's URL, answering the status, the
 * parsed JSON and the headers; and a real callback server (node:http) that records what it
 * is sent and answers what the test says.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked by the assertions
export type Json = any;

export interface Res {
  readonly status: number;
  readonly json: Json;
  readonly headers: Headers;
}

export interface CallOptions {
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal;
  /** Send the body as is (a string), not as JSON. */
  readonly raw?: boolean;
}

/** Requests against `base()` (a function: the gateway starts in beforeAll). */
export function apiClient(base: () => string) {
  const call = async (method: string, path: string, body?: unknown, o: CallOptions = {}): Promise<Res> => {
    const headers: Record<string, string> = { ...o.headers };
    if (body !== undefined && headers['content-type'] === undefined)
      headers['content-type'] = 'application/json';
    const res = await fetch(base() + path, {
      method,
      headers,
      body: body === undefined ? undefined : o.raw === true ? String(body) : JSON.stringify(body),
      signal: o.signal,
    });
    const text = await res.text();
    return { status: res.status, json: text === '' ? undefined : JSON.parse(text), headers: res.headers };
  };
  return {
    get: (path: string, o?: CallOptions) => call('GET', path, undefined, o),
    post: (path: string, body?: unknown, o?: CallOptions) => call('POST', path, body, o),
    put: (path: string, body?: unknown, o?: CallOptions) => call('PUT', path, body, o),
    del: (path: string, o?: CallOptions) => call('DELETE', path, undefined, o),
  };
}

export interface Received {
  readonly path: string;
  readonly body: Json;
}

export interface CallbackServer {
  readonly url: string;
  readonly received: Received[];
  /** Resolves once `n` requests have come in. */
  waitFor(n: number, ms?: number): Promise<Received[]>;
  close(): Promise<void>;
}

/** What the server answers a request: status and JSON, or `'hang'` (never answers). */
export type Reply = { status: number; body?: unknown } | 'hang';

/** A local HTTP server on a free port; `reply` decides each answer (default 200 `{}`). */
export async function callbackServer(
  reply: (r: Received) => Reply = () => ({ status: 200 }),
): Promise<CallbackServer> {
  const received: Received[] = [];
  const waiters: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const r: Received = { path: req.url ?? '/', body: text === '' ? undefined : JSON.parse(text) };
      received.push(r);
      for (const w of waiters.splice(0)) w();
      const a = reply(r);
      if (a === 'hang') return;
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(a.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    async waitFor(n, ms = 5000) {
      const end = Date.now() + ms;
      while (received.length < n) {
        if (Date.now() > end) throw new Error(`${received.length} of ${n} callbacks within ${ms} ms`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return received.slice(0, n);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
