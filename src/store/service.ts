import type { Logger } from 'pino';

/**
 * A named background loop (RocketMQ's ServiceThread): `run()` is called every `intervalMs`,
 * or sooner after `wakeup()`; runs never overlap; `stop()` waits for the running one to end.
 * A run that throws is logged and the loop goes on.
 */
export class LoopService {
  readonly name: string;
  #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  #wakeupPending = false;
  protected readonly log: Logger;
  readonly #run: () => Promise<void>;

  constructor(name: string, intervalMs: number, log: Logger, run: () => Promise<void>) {
    this.name = name;
    this.#run = run;
    this.#intervalMs = intervalMs;
    this.log = log.child({ service: name });
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(this.#intervalMs);
  }

  /** Runs as soon as the current run (if any) has finished. */
  wakeup(): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) {
      this.#wakeupPending = true;
      return;
    }
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #schedule(delay: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#tick(), delay);
    this.#timer.unref();
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    this.#running = this.#run()
      .catch((err: unknown) => this.log.error({ err }, `${this.name} run failed`))
      .finally(() => {
        this.#running = undefined;
        if (this.#stopped) return;
        const again = this.#wakeupPending;
        this.#wakeupPending = false;
        this.#schedule(again ? 0 : this.#intervalMs);
      });
  }
}
