export { MessageStore } from './message-store.js';
export type { StoreOptions, ResolvedStoreOptions } from './options.js';
export { FlushDiskType, resolveStoreOptions } from './options.js';
export { PutMessageStatus, GetMessageStatus } from './status.js';
export type { PutMessageResult, GetMessageResult, CorruptRecord } from './status.js';
export type { MessageFilter } from './record-reader.js';
export type { RecoveryReport } from './recovery.js';
export type { RetentionReport } from './retention.js';
