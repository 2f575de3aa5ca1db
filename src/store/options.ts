import type { Logger } from 'pino';
import { pino } from 'pino';
import { MqgateError } from '../errors.js';
import { FIXED_PART, MAX_PROPERTIES_BYTES } from '../message/codec.js';

export const FlushDiskType = {
  /** Acknowledge once written to the OS (survives a crash of the process); fsync every `flushIntervalMs`. */
  ASYNC_FLUSH: 'ASYNC_FLUSH',
  /** Acknowledge only after fsync; concurrent appends share one fsync (group commit). */
  SYNC_FLUSH: 'SYNC_FLUSH',
} as const;
export type FlushDiskType = (typeof FlushDiskType)[keyof typeof FlushDiskType];

export interface StoreOptions {
  /** Directory holding commitlog/, consumequeue/, index/ and the checkpoint. */
  readonly dataDir: string;
  /** @defaultValue 1 GiB (RocketMQ's mappedFileSizeCommitLog) */
  readonly segmentSize?: number;
  /** Largest body accepted. @defaultValue 4 MiB */
  readonly maxMessageSize?: number;
  /** @defaultValue ASYNC_FLUSH */
  readonly flushDiskType?: FlushDiskType;
  /** ASYNC_FLUSH: how often written data is fsynced. @defaultValue 500 */
  readonly flushIntervalMs?: number;
  /** SYNC_FLUSH: how long an append waits for its fsync before it answers FLUSH_DISK_TIMEOUT. @defaultValue 5000 */
  readonly syncFlushTimeoutMs?: number;
  /** Entries per ConsumeQueue file (20 bytes each). @defaultValue 300000 */
  readonly consumeQueueFileEntries?: number;
  /** Hash slots per index file. @defaultValue 1048576 */
  readonly indexSlots?: number;
  /** Entries per index file (24 bytes each). @defaultValue 4000000 */
  readonly indexEntries?: number;
  /** How often ConsumeQueue and index are flushed and the checkpoint written. @defaultValue 1000 */
  readonly checkpointIntervalMs?: number;
  /** Segments older than this are deleted at `deleteWhen`. @defaultValue 72 h */
  readonly fileReservedTimeMs?: number;
  /** Hours of the day (0-23) when expired segments are deleted, e.g. [4]. @defaultValue [4] */
  readonly deleteWhen?: readonly number[];
  /** How often the retention service looks. @defaultValue 10000 */
  readonly cleanIntervalMs?: number;
  /**
   * Bytes handed to the writer thread per round (a larger record gets a chunk of its own).
   * @defaultValue 1 MiB
   */
  readonly writeChunkSize?: number;
  readonly logger?: Logger;
}

export type ResolvedStoreOptions = Required<StoreOptions>;

const MiB = 1024 * 1024;

/** Room a record needs beyond its body: fixed part, tag/keys/properties and length prefixes. */
export const RECORD_OVERHEAD = FIXED_PART + MAX_PROPERTIES_BYTES + 16;

function positiveInt(key: string, v: number, min = 1): number {
  if (!Number.isSafeInteger(v) || v < min)
    throw new MqgateError('MQ_ERR_CONFIG_INVALID', `store.${key} must be an integer >= ${min}, got ${v}`);
  return v;
}

/** Applies defaults and checks every value; a bad one names its key. */
export function resolveStoreOptions(o: StoreOptions): ResolvedStoreOptions {
  if (typeof o.dataDir !== 'string' || o.dataDir.length === 0)
    throw new MqgateError('MQ_ERR_CONFIG_INVALID', 'store.dataDir must be a non-empty path');
  const flushDiskType = o.flushDiskType ?? FlushDiskType.ASYNC_FLUSH;
  if (flushDiskType !== 'ASYNC_FLUSH' && flushDiskType !== 'SYNC_FLUSH')
    throw new MqgateError(
      'MQ_ERR_CONFIG_INVALID',
      `store.flushDiskType must be ASYNC_FLUSH or SYNC_FLUSH, got ${String(flushDiskType)}`,
    );
  const maxMessageSize = positiveInt('maxMessageSize', o.maxMessageSize ?? 4 * MiB);
  const segmentSize = positiveInt('segmentSize', o.segmentSize ?? 1024 * MiB, 4096);
  if (segmentSize < maxMessageSize + RECORD_OVERHEAD + 8)
    throw new MqgateError(
      'MQ_ERR_CONFIG_INVALID',
      `store.segmentSize (${segmentSize}) must hold the largest record: maxMessageSize + ${RECORD_OVERHEAD + 8} bytes`,
    );
  const deleteWhen = o.deleteWhen ?? [4];
  for (const h of deleteWhen)
    if (!Number.isInteger(h) || h < 0 || h > 23)
      throw new MqgateError('MQ_ERR_CONFIG_INVALID', `store.deleteWhen hours must be 0..23, got ${h}`);
  return {
    dataDir: o.dataDir,
    segmentSize,
    maxMessageSize,
    flushDiskType,
    flushIntervalMs: positiveInt('flushIntervalMs', o.flushIntervalMs ?? 500),
    syncFlushTimeoutMs: positiveInt('syncFlushTimeoutMs', o.syncFlushTimeoutMs ?? 5000),
    consumeQueueFileEntries: positiveInt('consumeQueueFileEntries', o.consumeQueueFileEntries ?? 300_000),
    indexSlots: positiveInt('indexSlots', o.indexSlots ?? 1 << 20),
    indexEntries: positiveInt('indexEntries', o.indexEntries ?? 4_000_000),
    checkpointIntervalMs: positiveInt('checkpointIntervalMs', o.checkpointIntervalMs ?? 1000),
    fileReservedTimeMs: positiveInt('fileReservedTimeMs', o.fileReservedTimeMs ?? 72 * 3600_000),
    deleteWhen,
    cleanIntervalMs: positiveInt('cleanIntervalMs', o.cleanIntervalMs ?? 10_000),
    writeChunkSize: positiveInt('writeChunkSize', o.writeChunkSize ?? MiB, 4096),
    logger: o.logger ?? pino({ level: 'silent' }),
  };
}
