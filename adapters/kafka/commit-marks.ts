/**
 * The commit marks of transactional commits (commit-writer.ts): one record per committed
 * message in `mqgate.tx-commits.{transactionalId}` (one partition, this gateway's alone), written
 * in the same Kafka transaction as the message, so a mark is there exactly when the message is.
 * A mark is the message's id and where it went:
 *
 * ```
 *   record key     the message's id (the half message's, kept by its commit)
 *   record value   {"topic": ..., "queueId": ...}
 *   headers        as any record of mqgate's (codec.ts); the mark's born time is its commit time
 * ```
 * Marks are read only to learn whether a commit that may have happened did (after a gateway
 * restart, or a commit whose answer was lost): from the mark written at the time the message
 * was born, to the end, read_committed (kafkajs's default), so an aborted transaction's mark is
 * never seen. A read_committed reader sees a partition only up to its first open transaction,
 * so the topic is the gateway's own: once its producer has started (which ends what this
 * transactional id left open), every mark of it can be read. What was read is kept, and a later
 * look reads only what came since.
 */
import type { AdminClient } from './admin-client.js';
import { encode } from './codec.js';
import type { Readers } from './readers.js';
import type { Message } from 'kafkajs';

/** Marks read in one go. */
const READ_CHUNK = 5000;
/** Clocks of gateways and brokers differ a little: a look starts this much earlier. */
const CLOCK_SLACK_MS = 60_000;

export class CommitMarks {
  readonly #readers: Readers;
  readonly #admin: AdminClient;
  readonly topic: string;
  /** Ids of the marks read so far, from `#from` (a time) to `#next` (an offset). */
  readonly #seen = new Set<string>();
  #from = Number.POSITIVE_INFINITY;
  #next = 0;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(readers: Readers, admin: AdminClient, topic: string) {
    this.#readers = readers;
    this.#admin = admin;
    this.topic = topic;
  }

  /** The mark of a message committed to `topic`'s queue `queueId`, its record for the transaction. */
  static mark(msgId: string, topic: string, queueId: number): Message & { partition: number } {
    const at = Date.now();
    const body = JSON.stringify({ topic, queueId });
    const record = encode({
      queueId: 0,
      msgId,
      bornTimestamp: at,
      body,
      tag: undefined,
      keys: [],
      properties: {},
    });
    return { ...record, key: msgId };
  }

  /** Which of `msgIds` have a mark written at or after `since` (ms); looks one at a time. */
  committed(msgIds: readonly string[], since: number): Promise<Set<string>> {
    const next = this.#chain.then(() => this.#look(msgIds, since - CLOCK_SLACK_MS));
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #look(msgIds: readonly string[], since: number): Promise<Set<string>> {
    const end = await this.#end();
    if (since < this.#from) {
      // earlier than what was read: read again from there (what is known stays known)
      this.#next = await this.#offsetAt(since);
      this.#from = since;
    }
    while (this.#next < end) {
      const got = await this.#readers.read(this.topic, 0, this.#next, READ_CHUNK, end);
      // nothing more to read (transaction markers or aborted records up to the end): what is
      // not there now was not committed before the look began (the writer's own transaction
      // is over by then: its producer was replaced, which ends it)
      if (got.length === 0) {
        this.#next = end;
        break;
      }
      for (const m of got) this.#seen.add(m.msgId);
      this.#next = (got.at(-1)?.queueOffset ?? end) + 1;
    }
    return new Set(msgIds.filter((id) => this.#seen.has(id)));
  }

  async #end(): Promise<number> {
    const offsets = await this.#admin.run((a) => a.fetchTopicOffsets(this.topic));
    return Number(offsets.find((p) => p.partition === 0)?.high ?? 0);
  }

  async #offsetAt(time: number): Promise<number> {
    const at = await this.#admin.run((a) => a.fetchTopicOffsetsByTimestamp(this.topic, time));
    return Number(at.find((p) => p.partition === 0)?.offset ?? 0);
  }
}
