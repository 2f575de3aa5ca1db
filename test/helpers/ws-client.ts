/**
 * A WebSocket test client of the gateway's `/v1/ws`: keeps every frame it receives, and waits
 * for the frames a test expects.
 */
import { WebSocket } from 'ws';
import { until } from './broker.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- server frames are checked by the assertions
export type Frame = any;

export interface WsClient {
  readonly ws: WebSocket;
  /** Every frame received, in order. */
  readonly frames: Frame[];
  send(frame: unknown): void;
  /** The first frame (from `from` on) matching `pred`, waiting for it up to `ms`. */
  next(pred: (f: Frame) => boolean, ms?: number, from?: number): Promise<Frame>;
  /** Sends a frame with `id` and waits for the answer with that id. */
  call(frame: { id: string | number } & Record<string, unknown>, ms?: number): Promise<Frame>;
  /** Message frames received (optionally of one subscription). */
  messages(subscription?: string | number): Frame[];
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

/** The `ws://` URL of the gateway's WebSocket endpoint. */
export function wsUrl(httpUrl: string, query = ''): string {
  return `${httpUrl.replace(/^http/, 'ws')}/v1/ws${query}`;
}

export async function connectWs(
  httpUrl: string,
  o: { query?: string; headers?: Record<string, string> } = {},
): Promise<WsClient> {
  const ws = new WebSocket(wsUrl(httpUrl, o.query ?? ''), { headers: o.headers });
  const frames: Frame[] = [];
  ws.on('message', (data) => frames.push(JSON.parse(String(data))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = async (pred: (f: Frame) => boolean, ms = 5000, from = 0): Promise<Frame> => {
    let hit: Frame;
    await until(() => {
      hit = frames.slice(from).find(pred);
      return hit !== undefined;
    }, ms);
    return hit;
  };
  return {
    ws,
    frames,
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    next,
    call: (frame, ms) => {
      const from = frames.length;
      ws.send(JSON.stringify(frame));
      return next((f) => f.id === frame.id, ms, from);
    },
    messages: (subscription) =>
      frames.filter(
        (f) => f.op === 'message' && (subscription === undefined || f.subscription === subscription),
      ),
    close: async () => {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await closed;
    },
  };
}
