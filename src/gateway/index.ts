export { Gateway, MAX_BATCH } from './gateway.js';
export type { BackendInfo, GatewayLimits, TopicView } from './gateway.js';
export type * from './contract.js';
export { TxState, Prop } from './contract.js';
export { TxCheckRouter, CHECK_URL_PROP, toTxState } from './tx-check.js';
export type { CheckAnswer, CheckBody, CheckHandler } from './tx-check.js';
export * from './message-json.js';
