/**
 * Result callbacks of asynchronous sends: the gateway POSTs the outcome as JSON to the URL the
 * producer gave. Network failures and 5xx answers are retried; a callback that still fails is
 * logged, never thrown (the message itself is stored either way).
 */
import type { Logger } from 'pino';

export interface CallbackOptions {
  /** Per attempt (ms). */
  readonly timeoutMs: number;
  /** Further attempts after a failed one. */
  readonly retries: number;
  readonly log: Logger;
}

/** POSTs `body` to `url`; true when an attempt got a 2xx answer. */
export async function postCallback(url: string, body: unknown, o: CallbackOptions): Promise<boolean> {
  let last: unknown;
  for (let attempt = 0; attempt <= o.retries; attempt++) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(o.timeoutMs),
      });
      await res.body?.cancel();
      if (res.ok) return true;
      last = `HTTP ${res.status}`;
      if (res.status < 500) break;
    } catch (e) {
      last = e;
    }
  }
  o.log.warn({ url, err: last }, 'send result callback failed');
  return false;
}
