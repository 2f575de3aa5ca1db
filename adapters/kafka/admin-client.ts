/**
 * The adapter's kafkajs admin client, replaced when it goes stale. kafkajs asks for the metadata
 * of every topic an admin client ever looked at, and once one of them is deleted (by anyone)
 * those requests fail with UNKNOWN_TOPIC_OR_PARTITION for every topic. A call that fails so runs
 * once more on a fresh client: a topic that is really gone fails again, the rest go through.
 */
import type { Admin, Kafka } from 'kafkajs';
import { protocolType } from './kafka-errors.js';

export class AdminClient {
  readonly #kafka: Kafka;
  #admin: Promise<Admin> | undefined;

  constructor(kafka: Kafka) {
    this.#kafka = kafka;
  }

  /** A connected admin client (connected on first use, and again after a failed connect). */
  #client(): Promise<Admin> {
    if (this.#admin === undefined) {
      const admin = this.#kafka.admin({ retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 1000 } });
      const connecting = admin.connect().then(() => admin);
      this.#admin = connecting;
      connecting.catch(() => {
        if (this.#admin === connecting) this.#admin = undefined;
      });
    }
    return this.#admin;
  }

  async run<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
    const used = this.#client();
    try {
      return await fn(await used);
    } catch (err) {
      if (protocolType(err) !== 'UNKNOWN_TOPIC_OR_PARTITION') throw err;
      if (this.#admin === used) {
        this.#admin = undefined;
        void used.then((a) => a.disconnect()).catch(() => undefined);
      }
      return fn(await this.#client());
    }
  }

  async close(): Promise<void> {
    const admin = this.#admin;
    this.#admin = undefined;
    await admin?.then((a) => a.disconnect()).catch(() => undefined);
  }
}
