/**
 * Flow control of one WebSocket, both ways. Out: once more than `maxBufferedBytes` wait in the
 * socket for a slow client, the socket is "congested" — subscriptions stop pulling deliveries
 * (they wait on {@link Flow.drained}) until it drains below half of that. In: the socket stops
 * being read while it is congested (a client that publishes but does not read its results) or
 * while too many publishes of it are in flight, so memory per client stays bounded.
 */
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';

/** Why reading is paused (bits). */
export const Hold = { CONGESTED: 1, INFLIGHT: 2 } as const;

/** How often a congested socket's buffer is looked at (ms). */
const DRAIN_POLL_MS = 5;

export class Flow {
  readonly #ws: WebSocket;
  readonly #high: number;
  readonly #low: number;
  #congested = false;
  #holds = 0;
  #timer: NodeJS.Timeout | undefined;
  #waiters: (() => void)[] = [];
  #disposed = false;
  /** The most ever buffered for this socket, measured after each send (bytes). */
  maxBuffered = 0;
  /** Frames sent. */
  sent = 0;
  readonly #socket: Socket | undefined;
  #corked = false;
  readonly #uncork = (): void => {
    this.#corked = false;
    this.#socket?.uncork();
  };

  constructor(ws: WebSocket, maxBufferedBytes: number) {
    this.#ws = ws;
    this.#high = maxBufferedBytes;
    this.#low = Math.floor(maxBufferedBytes / 2);
    this.#socket = (ws as unknown as { _socket?: Socket })._socket;
  }

  get congested(): boolean {
    return this.#congested;
  }

  /** Whether reading is paused (for any reason). */
  get holding(): boolean {
    return this.#holds !== 0;
  }

  get buffered(): number {
    return this.#ws.bufferedAmount;
  }

  /**
   * Sends a text frame (dropped once the socket is closing) and notes congestion. Frames sent
   * in one tick are corked into one write.
   */
  send(text: string): void {
    const ws = this.#ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    // the frames of one tick (results of a group commit, a batch of deliveries) leave in one
    // write instead of a system call each
    if (!this.#corked && this.#socket !== undefined) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(this.#uncork);
    }
    ws.send(text);
    this.sent++;
    const b = ws.bufferedAmount;
    if (b > this.maxBuffered) this.maxBuffered = b;
    if (b > this.#high && !this.#congested) {
      this.#congested = true;
      this.hold(Hold.CONGESTED);
      this.#poll();
    }
  }

  /** Resolves once the socket is not congested (at once when it is not), or is disposed. */
  drained(): Promise<void> {
    if (!this.#congested || this.#disposed) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Pauses reading for `reason` (a {@link Hold} bit). */
  hold(reason: number): void {
    if (this.#holds === 0 && !this.#disposed) this.#ws.pause();
    this.#holds |= reason;
  }

  /** Takes back a {@link hold}; reading resumes once no reason is left. */
  release(reason: number): void {
    if (this.#holds === 0) return;
    this.#holds &= ~reason;
    if (this.#holds === 0 && !this.#disposed) this.#ws.resume();
  }

  #poll(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#disposed) return;
      if (this.#ws.bufferedAmount > this.#low) return this.#poll();
      this.#congested = false;
      this.release(Hold.CONGESTED);
      this.#wake();
    }, DRAIN_POLL_MS);
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const r of w) r();
  }

  /** Stops polling and lets every waiter go (the connection is gone). */
  dispose(): void {
    this.#disposed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wake();
  }
}
