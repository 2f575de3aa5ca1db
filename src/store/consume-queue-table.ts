import fs from 'node:fs';
import path from 'node:path';
import type { DispatchInfo } from '../message/codec.js';
import { topicNameProblem } from '../message/message.js';
import { ConsumeQueue } from './consume-queue.js';

/** Every ConsumeQueue of the store, under `consumequeue/{topic}/{queueId}/`. */
export class ConsumeQueueTable {
  readonly dir: string;
  readonly #perFile: number;
  readonly #queues = new Map<string, ConsumeQueue>();
  readonly #staged = new Set<ConsumeQueue>();
  /** Placeholder entries written for offsets whose record was lost. */
  placeholders = 0;

  constructor(dataDir: string, entriesPerFile: number) {
    this.dir = path.join(dataDir, 'consumequeue');
    this.#perFile = entriesPerFile;
  }

  static #key(topic: string, queueId: number): string {
    return `${topic}-${queueId}`;
  }

  load(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    for (const topic of fs.readdirSync(this.dir)) {
      if (topicNameProblem(topic) !== undefined) continue;
      for (const q of fs.readdirSync(path.join(this.dir, topic))) {
        if (!/^\d+$/.test(q)) continue;
        const cq = new ConsumeQueue(this.dir, topic, Number(q), this.#perFile);
        cq.load();
        this.#queues.set(ConsumeQueueTable.#key(topic, cq.queueId), cq);
      }
    }
  }

  get(topic: string, queueId: number): ConsumeQueue | undefined {
    return this.#queues.get(ConsumeQueueTable.#key(topic, queueId));
  }

  all(): ConsumeQueue[] {
    return [...this.#queues.values()];
  }

  /** Stages a record's entry in its queue (created on first use); returns the placeholders added. */
  stage(info: DispatchInfo, tagsCode: number): number {
    const key = ConsumeQueueTable.#key(info.topic, info.queueId);
    let cq = this.#queues.get(key);
    if (cq === undefined) {
      cq = new ConsumeQueue(this.dir, info.topic, info.queueId, this.#perFile);
      cq.load();
      this.#queues.set(key, cq);
    }
    const gap = cq.stage(info.queueOffset, info.commitLogOffset, info.size, tagsCode);
    if (gap >= 0) this.#staged.add(cq);
    if (gap > 0) this.placeholders += gap;
    return gap;
  }

  writeStaged(): void {
    for (const cq of this.#staged) cq.writeStaged();
    this.#staged.clear();
  }

  truncateFrom(commitLogOffset: number): number {
    let n = 0;
    for (const cq of this.#queues.values()) n += cq.truncateFrom(commitLogOffset);
    return n;
  }

  async flush(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((cq) => cq.flush()));
  }

  async dropBelow(minCommitLogOffset: number): Promise<void> {
    for (const cq of this.#queues.values()) await cq.dropBelow(minCommitLogOffset);
  }

  close(): void {
    for (const cq of this.#queues.values()) cq.close();
    this.#queues.clear();
  }
}
