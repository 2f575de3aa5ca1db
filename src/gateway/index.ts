export { Gateway, MAX_BATCH } from './gateway.js';
export type { BackendInfo, FeatureSupport, GatewayLimits, TopicView } from './gateway.js';
export { TxCheckRouter, CHECK_URL_PROP, toTxState } from './tx-check.js';
export type { CheckAnswer, CheckBody, CheckHandler } from './tx-check.js';
export * from './message-json.js';
