import fs from 'node:fs';
import path from 'node:path';
import type { DispatchInfo } from '../message/codec.js';
import { topicNameProblem } from '../message/message.js';
import { ConsumeQueue } from './consume-queue.js';

/** Every ConsumeQueue of the store, under `consumequeue/{topic}/{queueId}/`. */
export class ConsumeQueueTable {
  readonly dir: string;
  readonly #perFile: number;
  /** topic -> queues by id */
  readonly #queues = new Map<string, (ConsumeQueue | undefined)[]>();
  readonly #staged = new Set<ConsumeQueue>();
  /** Placeholder entries written for offsets whose record was lost. */
  placeholders = 0;

  constructor(dataDir: string, entriesPerFile: number) {
    this.dir = path.join(dataDir, 'consumequeue');
    this.#perFile = entriesPerFile;
  }

  #put(cq: ConsumeQueue): void {
    let byId = this.#queues.get(cq.topic);
    if (byId === undefined) this.#queues.set(cq.topic, (byId = []));
    byId[cq.queueId] = cq;
  }

  load(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    for (const topic of fs.readdirSync(this.dir)) {
      if (topicNameProblem(topic) !== undefined) continue;
      for (const q of fs.readdirSync(path.join(this.dir, topic))) {
        if (!/^\d+$/.test(q)) continue;
        const cq = new ConsumeQueue(this.dir, topic, Number(q), this.#perFile);
        cq.load();
        this.#put(cq);
      }
    }
  }

  get(topic: string, queueId: number): ConsumeQueue | undefined {
    return this.#queues.get(topic)?.[queueId];
  }

  all(): ConsumeQueue[] {
    const out: ConsumeQueue[] = [];
    for (const byId of this.#queues.values()) for (const cq of byId) if (cq !== undefined) out.push(cq);
    return out;
  }

  /**
   * Stages a record's entry in its queue, and in its second queue when it has one (both created
   * on first use); returns the placeholders added.
   */
  stage(info: DispatchInfo, tagsCode: number): number {
    const gap = this.#stageIn(info.topic, info.queueId, info.queueOffset, info, tagsCode);
    if (info.alsoTopic === undefined) return gap;
    const alsoGap = this.#stageIn(info.alsoTopic, 0, info.alsoQueueOffset, info, tagsCode);
    return alsoGap > 0 ? Math.max(gap, 0) + alsoGap : gap;
  }

  #stageIn(
    topic: string,
    queueId: number,
    queueOffset: number,
    info: DispatchInfo,
    tagsCode: number,
  ): number {
    let cq = this.#queues.get(topic)?.[queueId];
    if (cq === undefined) {
      cq = new ConsumeQueue(this.dir, topic, queueId, this.#perFile);
      cq.load();
      this.#put(cq);
    }
    const gap = cq.stage(queueOffset, info.commitLogOffset, info.size, tagsCode);
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
    for (const cq of this.all()) n += cq.truncateFrom(commitLogOffset);
    return n;
  }

  async flush(): Promise<void> {
    await Promise.all(this.all().map((cq) => cq.flush()));
  }

  async dropBelow(minCommitLogOffset: number): Promise<void> {
    for (const cq of this.all()) await cq.dropBelow(minCommitLogOffset);
  }

  close(): void {
    for (const cq of this.all()) cq.close();
    this.#queues.clear();
  }
}
