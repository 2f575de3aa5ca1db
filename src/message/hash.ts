/**
 * Java's `String.hashCode()` over UTF-16 code units, as a signed 32-bit integer. RocketMQ
 * stores `tag.hashCode()` as the tags code of a ConsumeQueue entry and 4.x clients pick an
 * ordered message's queue with it, so mqgate computes it the same way.
 */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** The tags code a ConsumeQueue entry holds for a message with this tag (0 when untagged). */
export function tagsCode(tag: string | undefined): number {
  return tag === undefined || tag.length === 0 ? 0 : javaStringHashCode(tag);
}

const FNV_OFFSET = 0x811c9dc5;

function fnv(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** FNV-1a over UTF-16 code units, unsigned 32-bit: the KeyIndex's slot hash (cheap on short keys). */
export function keyHash(s: string): number {
  return fnv(FNV_OFFSET, s) >>> 0;
}

/** FNV-1a over bytes [off, off + len): the KeyIndex hash of a msgId (its 16 bytes). */
export function bytesHash(buf: Uint8Array, off: number, len: number): number {
  let h = FNV_OFFSET;
  for (let i = off; i < off + len; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
  return h >>> 0;
}

/** `keyHash(topic + '#' + key)` without building the string. */
export function topicKeyHash(topic: string, key: string): number {
  return fnv(Math.imul(fnv(FNV_OFFSET, topic) ^ 0x23, 0x01000193), key) >>> 0;
}
