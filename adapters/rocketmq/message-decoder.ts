/**
 * Messages as a RocketMQ broker stores them and returns them to remoting queries (pull,
 * query by key): one record after another, each laid out as in the CommitLog.
 *
 *   total 4 | magic 4 | body CRC 4 | queueId 4 | flag 4 | queue offset 8 | commit log offset 8
 *   | sysFlag 4 | born time 8 | born host 8 (20 for IPv6) | store time 8 | store host 8 (20)
 *   | reconsume times 4 | prepared tx offset 8 | body length 4 | body
 *   | topic length 1 (2 with the V2 magic) | topic | properties length 2 | properties
 *
 * Properties are `name \x01 value \x02` pairs. The body may be compressed (sysFlag bit 0).
 */
import { inflateSync } from 'node:zlib';

const MAGIC_V1 = -626843481; // 0xDAA320A7
const MAGIC_V2 = -626843477; // topic length takes 2 bytes
const COMPRESSED_FLAG = 0x1;
const BORN_HOST_V6_FLAG = 0x1 << 4;
const STORE_HOST_V6_FLAG = 0x1 << 5;
const COMPRESSION_TYPE_BITS = 0x7 << 8;
const ZLIB_TYPES = new Set([0, 3]); // 0: before 5.x named the type, 3: ZLIB
const NAME_VALUE_SEPARATOR = '\u0001';
const PROPERTY_SEPARATOR = '\u0002';

/** Property names RocketMQ itself sets (MessageConst). */
export const SystemProperty = {
  UNIQ_KEY: 'UNIQ_KEY', // the msgId clients see
  KEYS: 'KEYS', // space-separated
  TAGS: 'TAGS',
  RETRY_TOPIC: 'RETRY_TOPIC',
  ORIGIN_MESSAGE_ID: 'ORIGIN_MESSAGE_ID',
  DLQ_ORIGIN_TOPIC: 'DLQ_ORIGIN_TOPIC',
  DLQ_ORIGIN_MESSAGE_ID: 'DLQ_ORIGIN_MESSAGE_ID',
} as const;

export interface BrokerMessage {
  readonly topic: string;
  readonly queueId: number;
  readonly queueOffset: number;
  readonly commitLogOffset: number;
  /** The broker's own id of the record (store host + commit log offset), for VIEW_MESSAGE_BY_ID. */
  readonly offsetMsgId: string;
  /** UNIQ_KEY: the id the producer's client gave the message. */
  readonly msgId: string | undefined;
  readonly bornTimestamp: number;
  readonly storeTimestamp: number;
  readonly reconsumeTimes: number;
  readonly tag: string | undefined;
  readonly keys: string[];
  readonly properties: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** Every record in `buf` (a pull or query answer's body). */
export function decodeMessages(buf: Buffer): BrokerMessage[] {
  const out: BrokerMessage[] = [];
  let at = 0;
  while (at + 8 <= buf.length) {
    const total = buf.readInt32BE(at);
    if (total <= 0 || at + total > buf.length) throw new Error(`a truncated record at byte ${at}`);
    out.push(decodeMessage(buf.subarray(at, at + total)));
    at += total;
  }
  return out;
}

function decodeMessage(r: Buffer): BrokerMessage {
  const magic = r.readInt32BE(4);
  if (magic !== MAGIC_V1 && magic !== MAGIC_V2) throw new Error(`not a message record (magic ${magic})`);
  const queueId = r.readInt32BE(12);
  const queueOffset = Number(r.readBigInt64BE(20));
  const commitLogOffset = r.readBigInt64BE(28);
  const sysFlag = r.readInt32BE(36);
  const bornTimestamp = Number(r.readBigInt64BE(40));
  let at = 48 + ((sysFlag & BORN_HOST_V6_FLAG) === 0 ? 8 : 20);
  const storeTimestamp = Number(r.readBigInt64BE(at));
  at += 8;
  const storeHostLength = (sysFlag & STORE_HOST_V6_FLAG) === 0 ? 8 : 20;
  const storeHost = r.subarray(at, at + storeHostLength);
  at += storeHostLength;
  const reconsumeTimes = r.readInt32BE(at);
  at += 4 + 8; // and the prepared transaction offset
  const bodyLength = r.readInt32BE(at);
  at += 4;
  const body = decompressed(Buffer.from(r.subarray(at, at + bodyLength)), sysFlag);
  at += bodyLength;
  const topicLength = magic === MAGIC_V2 ? r.readUInt16BE(at) : r.readUInt8(at);
  at += magic === MAGIC_V2 ? 2 : 1;
  const topic = r.toString('utf8', at, at + topicLength);
  at += topicLength;
  const propertiesLength = r.readUInt16BE(at);
  const properties = parseProperties(r.toString('utf8', at + 2, at + 2 + propertiesLength));

  const idBytes = Buffer.alloc(storeHostLength + 8);
  storeHost.copy(idBytes, 0);
  idBytes.writeBigInt64BE(commitLogOffset, storeHostLength);
  const keys = properties[SystemProperty.KEYS];
  return {
    topic,
    queueId,
    queueOffset,
    commitLogOffset: Number(commitLogOffset),
    offsetMsgId: idBytes.toString('hex').toUpperCase(),
    msgId: properties[SystemProperty.UNIQ_KEY],
    bornTimestamp,
    storeTimestamp,
    reconsumeTimes,
    tag: properties[SystemProperty.TAGS],
    keys: keys === undefined || keys === '' ? [] : keys.split(' '),
    properties,
    body,
  };
}

function decompressed(body: Buffer, sysFlag: number): Buffer {
  if ((sysFlag & COMPRESSED_FLAG) === 0) return body;
  const type = (sysFlag & COMPRESSION_TYPE_BITS) >> 8;
  if (!ZLIB_TYPES.has(type)) throw new Error(`a body compressed with type ${type} (only zlib is read)`);
  return inflateSync(body);
}

function parseProperties(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of s.split(PROPERTY_SEPARATOR)) {
    const i = pair.indexOf(NAME_VALUE_SEPARATOR);
    if (i > 0) out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}
