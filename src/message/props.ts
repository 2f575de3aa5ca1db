import type { MessageInput } from './message.js';

/**
 * Copies without object spreads. On Node 20 `{ ...a, b: 1 }` (a spread followed by more
 * properties) takes V8's slow path, about 2 µs each; the send, transaction, schedule and retry
 * paths make several such objects per message, so they copy with these instead.
 */

type Props = Readonly<Record<string, string>>;

/** Sets `k` as an own property, as a spread does (`__proto__` included). */
function put(o: Record<string, string>, k: string, v: string): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** `{ ...base, ...extra }` for properties. */
export function withProps(base: Props | undefined, extra?: Props): Record<string, string> {
  const out: Record<string, string> = {};
  if (base !== undefined) for (const k in base) put(out, k, base[k] as string);
  if (extra !== undefined) for (const k in extra) put(out, k, extra[k] as string);
  return out;
}

/** `properties` without the keys in `drop`. */
export function withoutProps(properties: Props, drop: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in properties) if (!drop.includes(k)) put(out, k, properties[k] as string);
  return out;
}

/** `{ ...m, ...place }`: the message written elsewhere (a system topic, a new queue or flag). */
export function placed(
  m: MessageInput,
  place: { topic: string; queueId: number; sysFlag: number; properties: Record<string, string> },
): MessageInput {
  return {
    topic: place.topic,
    queueId: place.queueId,
    body: m.body,
    tag: m.tag,
    keys: m.keys,
    properties: place.properties,
    msgId: m.msgId,
    bornTimestamp: m.bornTimestamp,
    flag: m.flag,
    sysFlag: place.sysFlag,
    reconsumeTimes: m.reconsumeTimes,
    preparedTransactionOffset: m.preparedTransactionOffset,
    dispatchAlso: undefined,
    msgIdFrom: undefined,
  };
}
