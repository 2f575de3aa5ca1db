import fs from 'node:fs';
import path from 'node:path';
import type { CommitLog } from './commit-log.js';
import type { ConsumeQueueTable } from './consume-queue-table.js';
import type { KeyIndex } from './key-index.js';

export interface RetentionReport {
  /** CommitLog segments deleted, oldest first. */
  readonly removedSegments: string[];
  readonly removedIndexFiles: number;
  /** The CommitLog's lowest offset afterwards. */
  readonly minOffset: number;
}

/**
 * Deletes CommitLog segments last written more than `reservedMs` ago, oldest first, never the
 * last (active) one; then moves each ConsumeQueue's min offset past the deleted records and drops
 * index files that only covered them.
 */
export async function cleanExpiredSegments(
  log: CommitLog,
  cqs: ConsumeQueueTable,
  index: KeyIndex,
  reservedMs: number,
  now: number,
): Promise<RetentionReport> {
  const removedSegments: string[] = [];
  while (log.segments.length > 1) {
    const first = log.segments[0];
    if (first === undefined || now - fs.statSync(first.path).mtimeMs < reservedMs) break;
    log.removeFirstSegment();
    removedSegments.push(path.basename(first.path));
  }
  let removedIndexFiles = 0;
  if (removedSegments.length > 0) {
    await cqs.dropBelow(log.minOffset);
    removedIndexFiles = index.dropBelow(log.minOffset);
  }
  return { removedSegments, removedIndexFiles, minOffset: log.minOffset };
}
