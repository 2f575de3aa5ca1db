import path from 'node:path';
import { readJsonFile, writeJsonFile } from '../../src/broker/json-file.js';

/**
 * The groups whose queues a gateway made on RabbitMQ, by topic, kept in `groups.json` in the
 * adapter's directory: what a topic's deletion deletes with it (AMQP cannot list queues).
 */
export class GroupBook {
  readonly #file: string;
  readonly #byTopic: Map<string, Set<string>>;

  constructor(dir: string) {
    this.#file = path.join(dir, 'groups.json');
    const data = (readJsonFile(this.#file) ?? {}) as Record<string, string[]>;
    this.#byTopic = new Map(Object.entries(data).map(([t, gs]) => [t, new Set(gs)]));
  }

  add(topic: string, group: string): void {
    let gs = this.#byTopic.get(topic);
    if (gs === undefined) this.#byTopic.set(topic, (gs = new Set()));
    if (gs.has(group)) return;
    gs.add(group);
    this.#save();
  }

  of(topic: string): string[] {
    return [...(this.#byTopic.get(topic) ?? [])];
  }

  drop(topic: string): void {
    if (this.#byTopic.delete(topic)) this.#save();
  }

  #save(): void {
    writeJsonFile(this.#file, Object.fromEntries([...this.#byTopic].map(([t, gs]) => [t, [...gs]])));
  }
}
