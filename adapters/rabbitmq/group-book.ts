import path from 'node:path';
import { readJsonFile, writeJsonFile } from '../../src/broker/json-file.js';

/** The tags a group's queues are bound for; `*` for every message. */
export type Binding = '*' | readonly string[];

/**
 * The groups whose queues a gateway made on RabbitMQ, by topic, with the tags their queues are
 * bound for, kept in `groups.json` in the adapter's directory: what a topic's deletion deletes
 * with it (AMQP cannot list queues), and which bindings a changed subscription replaces.
 */
export class GroupBook {
  readonly #file: string;
  readonly #byTopic: Map<string, Map<string, Binding>>;

  constructor(dir: string) {
    this.#file = path.join(dir, 'groups.json');
    const data = (readJsonFile(this.#file) ?? {}) as Record<string, Record<string, Binding>>;
    this.#byTopic = new Map(Object.entries(data).map(([t, gs]) => [t, new Map(Object.entries(gs))]));
  }

  /** The group's binding on the topic (`*` for a group not seen yet). */
  binding(topic: string, group: string): Binding {
    return this.#byTopic.get(topic)?.get(group) ?? '*';
  }

  set(topic: string, group: string, binding: Binding): void {
    let gs = this.#byTopic.get(topic);
    if (gs === undefined) this.#byTopic.set(topic, (gs = new Map()));
    const old = gs.get(group);
    if (old !== undefined && sameBinding(old, binding)) return;
    gs.set(group, binding);
    this.#save();
  }

  of(topic: string): string[] {
    return [...(this.#byTopic.get(topic)?.keys() ?? [])];
  }

  drop(topic: string): void {
    if (this.#byTopic.delete(topic)) this.#save();
  }

  #save(): void {
    writeJsonFile(
      this.#file,
      Object.fromEntries([...this.#byTopic].map(([t, gs]) => [t, Object.fromEntries(gs)])),
    );
  }
}

export function sameBinding(a: Binding, b: Binding): boolean {
  if (a === '*' || b === '*') return a === b;
  return a.length === b.length && a.every((t) => b.includes(t));
}
