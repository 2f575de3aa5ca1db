/**
 * RocketMQ's remoting protocol, as far as the admin path needs it: one TCP connection per
 * address (name server or broker), requests told apart by `opaque`, so many may be in flight.
 * The gRPC proxy has no admin calls (topics, groups, offsets, index queries), so the adapter
 * asks the name server and the brokers directly over this protocol, as `mqadmin` does.
 *
 * Frame (big-endian):
 *
 *   +--------------+------------------+----------------+-------------+------+
 *   | length int32 | serialize type 8 | header len 24  | header JSON | body |
 *   +--------------+------------------+----------------+-------------+------+
 *   length counts everything after itself; serialize type 0 is JSON.
 */
import { connect, type Socket } from 'node:net';

/** The flag bit that marks a frame as a response (RemotingCommand's RPC_TYPE). */
const RESPONSE_FLAG = 1;
const LENGTH_BYTES = 4;

export interface RemotingResponse {
  readonly code: number;
  readonly remark: string | undefined;
  /** The response header's fields (values are strings on the wire). */
  readonly fields: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

interface Pending {
  resolve(r: RemotingResponse): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** One connection; it fails every pending request when it breaks and is not reused after. */
class Connection {
  readonly #socket: Socket;
  readonly #pending = new Map<number, Pending>();
  #received: Buffer = Buffer.alloc(0);
  broken: Error | undefined;

  constructor(readonly address: string) {
    const i = address.lastIndexOf(':');
    this.#socket = connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
    this.#socket.setNoDelay(true);
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on('error', (err) => this.#fail(err));
    this.#socket.on('close', () => this.#fail(new Error(`connection to ${address} closed`)));
  }

  send(opaque: number, frame: Buffer, timeoutMs: number): Promise<RemotingResponse> {
    if (this.broken !== undefined) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(opaque);
        reject(new Error(`no answer from ${this.address} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(opaque, { resolve, reject, timer });
      this.#socket.write(frame);
    });
  }

  close(): void {
    this.#fail(new Error(`connection to ${this.address} closed by the client`));
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#received = this.#received.length === 0 ? chunk : Buffer.concat([this.#received, chunk]);
    while (this.#received.length >= LENGTH_BYTES) {
      const length = this.#received.readInt32BE(0);
      if (this.#received.length < LENGTH_BYTES + length) return;
      const frame = this.#received.subarray(LENGTH_BYTES, LENGTH_BYTES + length);
      this.#received = this.#received.subarray(LENGTH_BYTES + length);
      this.#onFrame(frame);
    }
  }

  #onFrame(frame: Buffer): void {
    const headerLength = frame.readInt32BE(0) & 0xffffff;
    const header = JSON.parse(frame.subarray(4, 4 + headerLength).toString('utf8')) as {
      code: number;
      opaque: number;
      flag?: number;
      remark?: string;
      extFields?: Record<string, string>;
    };
    // requests from the broker (we register as no client, so there are none to answer)
    if (((header.flag ?? 0) & RESPONSE_FLAG) === 0) return;
    const pending = this.#pending.get(header.opaque);
    if (pending === undefined) return; // timed out meanwhile
    this.#pending.delete(header.opaque);
    clearTimeout(pending.timer);
    pending.resolve({
      code: header.code,
      remark: header.remark,
      fields: header.extFields ?? {},
      body: Buffer.from(frame.subarray(4 + headerLength)),
    });
  }

  #fail(err: Error): void {
    this.broken ??= err;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.#pending.clear();
  }
}

/** Requests over remoting connections kept per address (opened on first use, again after a break). */
export class RemotingClient {
  readonly #connections = new Map<string, Connection>();
  readonly #timeoutMs: number;
  #nextOpaque = 1;

  /** @param timeoutMs how long a request waits for its answer. @defaultValue 5000 */
  constructor(o: { timeoutMs?: number } = {}) {
    this.#timeoutMs = o.timeoutMs ?? 5000;
  }

  /** Sends one request; header fields are sent as strings, as the Java servers expect. */
  request(
    address: string,
    code: number,
    fields: Readonly<Record<string, string | number | boolean>>,
    body?: Buffer,
  ): Promise<RemotingResponse> {
    const opaque = this.#nextOpaque++;
    const extFields = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)]));
    const header = Buffer.from(
      JSON.stringify({ code, language: 'JAVA', version: 0, opaque, flag: 0, extFields }),
    );
    const bodyLength = body?.length ?? 0;
    const frame = Buffer.alloc(8 + header.length + bodyLength);
    frame.writeInt32BE(4 + header.length + bodyLength, 0);
    frame.writeInt32BE(header.length & 0xffffff, 4); // serialize type 0 = JSON
    header.copy(frame, 8);
    body?.copy(frame, 8 + header.length);
    return this.#connection(address).send(opaque, frame, this.#timeoutMs);
  }

  close(): void {
    for (const c of this.#connections.values()) c.close();
    this.#connections.clear();
  }

  #connection(address: string): Connection {
    const known = this.#connections.get(address);
    if (known !== undefined && known.broken === undefined) return known;
    const fresh = new Connection(address);
    this.#connections.set(address, fresh);
    return fresh;
  }
}
