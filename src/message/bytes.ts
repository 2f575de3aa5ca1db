/**
 * Byte helpers for the hot paths. Buffer's readUInt32LE/writeUInt32LE and utf8Write are calls
 * with argument checks; a DataView and a plain loop for short ASCII strings are several times
 * faster, and the codec runs them for every message.
 */

const cachedBufs: (Uint8Array | undefined)[] = [undefined, undefined, undefined, undefined];
const cachedViews: (DataView | undefined)[] = [undefined, undefined, undefined, undefined];
let nextSlot = 0;

/** A DataView over `buf`, cached for the few buffers in use at a time (chunks, staging areas). */
export function viewOf(buf: Uint8Array): DataView {
  for (let i = 0; i < 4; i++) if (cachedBufs[i] === buf) return cachedViews[i] as DataView;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  cachedBufs[nextSlot] = buf;
  cachedViews[nextSlot] = dv;
  nextSlot = (nextSlot + 1) & 3;
  return dv;
}

export function getU64(dv: DataView, off: number): number {
  return dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 0x1_0000_0000;
}

/** Writes a non-negative safe integer as u64 little-endian. */
export function setU64(dv: DataView, off: number, v: number): void {
  const lo = v >>> 0;
  dv.setUint32(off, lo, true);
  dv.setUint32(off + 4, (v - lo) / 0x1_0000_0000, true);
}

/** Writes any safe integer (possibly negative) as i64 little-endian. */
export function setI64(dv: DataView, off: number, v: number): void {
  const hi = Math.floor(v / 0x1_0000_0000);
  dv.setUint32(off, v - hi * 0x1_0000_0000, true);
  dv.setInt32(off + 4, hi, true);
}

export function getI64(dv: DataView, off: number): number {
  return dv.getInt32(off + 4, true) * 0x1_0000_0000 + dv.getUint32(off, true);
}

/** UTF-8 length of `s`, as Buffer.byteLength counts it (a lone surrogate takes 3 bytes). */
export function utf8Length(s: string): number {
  const n = s.length;
  let len = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) len += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      len += 2; // the pair: 2 code units, 4 bytes
      i++;
    } else len += 2;
  }
  return len;
}

/** Writes `s` as UTF-8 at `off` (room checked by the caller); returns the bytes written. */
export function writeUtf8(buf: Buffer, off: number, s: string): number {
  const n = s.length;
  if (n > 64) return buf.write(s, off, 'utf8');
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return buf.write(s, off, 'utf8');
    buf[off + i] = c;
  }
  return n;
}

/** Whether bytes [start, end) of `buf` equal `bytes`. */
export function bytesEqual(buf: Uint8Array, start: number, end: number, bytes: Uint8Array): boolean {
  if (end - start !== bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (buf[start + i] !== bytes[i]) return false;
  return true;
}

/**
 * A body's size in bytes, measured only when it matters: text of at most `max / 3` UTF-16 units
 * cannot take more than `max` bytes as UTF-8, so its bound (3 bytes a unit) is answered instead
 * of measuring it (the record encoder measures it once anyway). Exact whenever it is above
 * `max`, so a size check on it is exact.
 */
export function bodySizeWithin(body: Uint8Array | string, max: number): number {
  if (typeof body !== 'string') return body.byteLength;
  const bound = body.length * 3;
  return bound <= max ? bound : Buffer.byteLength(body);
}
