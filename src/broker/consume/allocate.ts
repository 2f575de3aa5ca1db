/**
 * RocketMQ's AllocateMessageQueueAveragely: consumers (sorted ids) take contiguous runs of the
 * queue list; the first `queues % consumers` consumers take one more. With more consumers than
 * queues, the last consumers get none.
 *
 * @returns indexes into the queue list for consumer `index`
 */
export function allocateAveragely(queueCount: number, consumerCount: number, index: number): number[] {
  if (index < 0 || index >= consumerCount || queueCount === 0) return [];
  const mod = queueCount % consumerCount;
  const average =
    queueCount <= consumerCount
      ? 1
      : mod > 0 && index < mod
        ? Math.floor(queueCount / consumerCount) + 1
        : Math.floor(queueCount / consumerCount);
  const start = mod > 0 && index < mod ? index * average : index * average + mod;
  const range = Math.min(average, queueCount - start);
  const out: number[] = [];
  for (let i = 0; i < range; i++) out.push((start + i) % queueCount);
  return out;
}
