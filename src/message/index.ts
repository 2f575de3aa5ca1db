export * from './message.js';
export * from './msg-id.js';
export { javaStringHashCode, tagsCode } from './hash.js';
export {
  encodeMessage,
  checkRecord,
  decodeRecord,
  planRecord,
  isPlanProblem,
  RECORD_MAGIC,
  BLANK_MAGIC,
  MIN_RECORD_SIZE,
  MAX_PROPERTIES_BYTES,
} from './codec.js';
export type { RecordCheck, DispatchInfo, RecordPlan, RecordPlacement } from './codec.js';
