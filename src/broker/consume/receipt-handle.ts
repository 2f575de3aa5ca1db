import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { MqgateError } from '../../errors.js';
import { writeFileAtomicSync } from '../../store/fs-util.js';

/** What a receipt handle points at. */
export interface HandleData {
  readonly group: string;
  /** The consumer client (broadcasting) or ''. */
  readonly client: string;
  /** The topic the message is stored in (a user topic or `%RETRY%{group}`). */
  readonly storeTopic: string;
  /** The topic the consumer asked for (differs from storeTopic for a retried message). */
  readonly topic: string;
  readonly queueId: number;
  readonly offset: number;
  readonly version: number;
}

const MAC_BYTES = 16;

/**
 * Receipt handles: opaque to consumers, tamper-evident (HMAC-SHA256 with a key kept in the
 * data directory, so handles stay valid across a restart), bound to the group and topic they
 * were handed out for. A handle names one hand-out (`version`): a change of invisible time or
 * a redelivery makes a new one and the old one stops working.
 */
export class ReceiptHandles {
  readonly #key: Buffer;

  constructor(configDir: string) {
    const file = path.join(configDir, 'receipt.key');
    let key: Buffer | undefined;
    try {
      key = fs.readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (key === undefined || key.length < 32) {
      key = crypto.randomBytes(32);
      writeFileAtomicSync(file, key);
      fs.chmodSync(file, 0o600);
    }
    this.#key = key;
  }

  encode(d: HandleData): string {
    const fields = [
      d.group,
      d.client,
      d.storeTopic,
      d.topic === d.storeTopic ? '' : d.topic,
      d.queueId,
      d.offset,
      d.version,
    ];
    const payload = Buffer.from(JSON.stringify(fields)).toString('base64url');
    return `${payload}.${this.#mac(payload)}`;
  }

  /**
   * Checks a handle and that it belongs to `group` and `topic`.
   *
   * @throws MqgateError `MQ_ERR_RECEIPT_INVALID` when malformed, tampered with, or for another
   * group or topic
   */
  decode(handle: unknown, group: string, topic: string): HandleData {
    if (typeof handle !== 'string' || handle.length === 0 || handle.length > 2048)
      throw new MqgateError(
        'MQ_ERR_RECEIPT_INVALID',
        'a receipt handle is a non-empty string from a receive',
      );
    const dot = handle.indexOf('.');
    const payload = handle.slice(0, dot);
    const mac = handle.slice(dot + 1);
    const expected = Buffer.from(this.#mac(payload));
    const given = Buffer.from(mac);
    if (dot <= 0 || given.length !== expected.length || !crypto.timingSafeEqual(given, expected))
      throw new MqgateError(
        'MQ_ERR_RECEIPT_INVALID',
        'the receipt handle is not one this gateway handed out',
      );
    const f = JSON.parse(Buffer.from(payload, 'base64url').toString()) as [
      string,
      string,
      string,
      string,
      number,
      number,
      number,
    ];
    const data: HandleData = {
      group: f[0],
      client: f[1],
      storeTopic: f[2],
      topic: f[3] === '' ? f[2] : f[3],
      queueId: f[4],
      offset: f[5],
      version: f[6],
    };
    if (data.group !== group || data.topic !== topic)
      throw new MqgateError(
        'MQ_ERR_RECEIPT_INVALID',
        `the receipt handle was handed out to group "${data.group}" for topic "${data.topic}", not to "${group}" for "${topic}"`,
      );
    return data;
  }

  #mac(payload: string): string {
    return crypto
      .createHmac('sha256', this.#key)
      .update(payload)
      .digest()
      .subarray(0, MAC_BYTES)
      .toString('base64url');
  }
}
