import { BLANK_MAGIC, checkRecord, readDispatchInfo, RECORD_MAGIC } from '../message/codec.js';
import type { DispatchInfo } from '../message/codec.js';
import type { CommitLog, Segment } from './commit-log.js';
import { readFull } from './fs-util.js';
import type { CorruptRecord } from './status.js';

/** What recovery found and did; logged at start and kept as `MessageStore.recovery`. */
export interface RecoveryReport {
  durationMs: number;
  /** Where the scan of the CommitLog started (the last checkpoint). */
  scannedFrom: number;
  scannedBytes: number;
  /** Valid records replayed into ConsumeQueue / KeyIndex. */
  records: number;
  /** End of valid data: the next record goes here. */
  end: number;
  /** Set when a torn or corrupt tail was cut off. */
  truncated?: { at: number; reason: string; cutBytes: number; removedSegments: string[] };
  /** Records in the middle that failed their CRC: skipped, never dispatched or returned. */
  corrupt: CorruptRecord[];
  /** ConsumeQueue entries dropped because they pointed past the checkpoint (then replayed). */
  consumeQueueEntriesReplaced: number;
  /** Placeholder ConsumeQueue entries for offsets whose record was lost. */
  placeholders: number;
}

export interface ScanOutcome {
  end: number;
  bytes: number;
  records: number;
  stop?: { at: number; reason: string };
  corrupt: CorruptRecord[];
}

const WINDOW = 8 * 1024 * 1024;

/**
 * Walks the CommitLog from `from` (a record boundary) to the end of valid data, calling `visit`
 * for every valid record. Stops at the first record that is torn or fails its checks, unless
 * it is followed by a well-formed record, in which case it is reported as corrupt and skipped.
 */
export async function scanCommitLog(
  log: CommitLog,
  from: number,
  maxRecordSize: number,
  visit: (info: DispatchInfo) => void,
  endOfWindow: () => void,
): Promise<ScanOutcome> {
  const out: ScanOutcome = { end: from, bytes: 0, records: 0, corrupt: [] };
  const segs = log.segments;
  let buf = Buffer.allocUnsafe(WINDOW);
  let pos = from;
  const segOf = (p: number): { seg: Segment; i: number } | undefined => {
    const first = segs[0];
    if (first === undefined) return undefined;
    const i = Math.floor((p - first.start) / log.segmentSize);
    const seg = segs[i];
    return seg === undefined ? undefined : { seg, i };
  };
  for (;;) {
    const at = segOf(pos);
    if (at === undefined) break;
    const { seg, i } = at;
    const dataEnd = seg.start + seg.length;
    if (pos >= dataEnd || (await zeroAt(seg, pos))) {
      // the data of this segment ends here (files are preallocated: zeros follow the data)
      const following = segs[i + 1];
      if (following === undefined || pos >= seg.start + log.segmentSize) break;
      // the segment ends early, yet a later one exists: keep going if the log visibly goes on there
      const end = following.start + following.length;
      if (!(await wellFormedAt(following, following.start, end, maxRecordSize))) {
        out.stop = { at: pos, reason: `segment ends without its closing marker at ${pos}` };
        break;
      }
      out.corrupt.push({
        commitLogOffset: pos,
        reason: 'segment ends without its closing marker; the log goes on in the next one',
      });
      pos = following.start;
      continue;
    }
    const n = await readFull(seg.fd, buf, 0, Math.min(buf.length, dataEnd - pos), pos - seg.start);
    let off = 0;
    let next = pos;
    let stopped = false;
    let dataEndsHere = false;
    while (off < n) {
      const c = checkRecord(buf, off, n, maxRecordSize);
      if (
        c.kind === 'corrupt' &&
        off + 8 <= n &&
        buf.readUInt32LE(off) === 0 &&
        buf.readUInt32LE(off + 4) === 0
      ) {
        dataEndsHere = true; // zeros: nothing was written from here on in this segment
        break;
      }
      if (c.kind === 'record') {
        const info = readDispatchInfo(buf, off, c.size);
        if (info.commitLogOffset !== next) {
          out.stop = { at: next, reason: `record at ${next} claims offset ${info.commitLogOffset}` };
          stopped = true;
          break;
        }
        visit(info);
        out.records++;
        off += c.size;
        next += c.size;
      } else if (c.kind === 'blank') {
        next = log.nextSegmentStart(next);
        break;
      } else if (c.kind === 'short') {
        if (next + c.need > dataEnd) {
          out.stop = {
            at: next,
            reason: `torn record at ${next}: ${dataEnd - next} of ${c.need} bytes present`,
          };
          stopped = true;
        } else if (c.need > buf.length) buf = Buffer.allocUnsafe(c.need);
        break;
      } else {
        const skip =
          c.size !== undefined ? await wellFormedAt(seg, next + c.size, dataEnd, maxRecordSize) : false;
        if (!skip) {
          out.stop = { at: next, reason: `${c.reason} at ${next}` };
          stopped = true;
          break;
        }
        out.corrupt.push({ commitLogOffset: next, reason: c.reason });
        off += c.size as number;
        next += c.size as number;
      }
    }
    out.bytes += next - pos;
    pos = next;
    endOfWindow();
    if (stopped) break;
    if (dataEndsHere) seg.length = pos - seg.start;
  }
  out.end = pos;
  return out;
}

/** Whether the 8 bytes at `p` (a header's place) are zero or past the end of the file. */
async function zeroAt(seg: Segment, p: number): Promise<boolean> {
  const h = Buffer.alloc(8);
  const n = await readFull(seg.fd, h, 0, 8, p - seg.start);
  return n < 8 || (h.readUInt32LE(0) === 0 && h.readUInt32LE(4) === 0);
}

/** Whether a plausible record header (or the end of the data) follows a damaged record. */
async function wellFormedAt(
  seg: Segment,
  p: number,
  dataEnd: number,
  maxRecordSize: number,
): Promise<boolean> {
  if (p >= dataEnd) return false; // the damaged record is the last: a torn tail, cut it
  const h = Buffer.allocUnsafe(8);
  if ((await readFull(seg.fd, h, 0, 8, p - seg.start)) < 8) return false;
  const magic = h.readUInt32LE(4);
  const size = h.readUInt32LE(0);
  if (magic === BLANK_MAGIC) return true;
  if (magic !== RECORD_MAGIC || size > maxRecordSize || p + size > dataEnd) return false;
  const rec = Buffer.allocUnsafe(size);
  await readFull(seg.fd, rec, 0, size, p - seg.start);
  return checkRecord(rec, 0, size, maxRecordSize).kind === 'record';
}
