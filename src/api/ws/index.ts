/** The WebSocket API (`/v1/ws`): see server.ts for the contract, frames.ts for the frames. */
export { WS_PATH, WsApi, attachWebSocket } from './server.js';
export type { WsApiOptions } from './server.js';
export type { ConnectionStats, SubscriptionStats } from './connection.js';
export type { ClientFrame, FrameId } from './frames.js';
