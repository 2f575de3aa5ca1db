/** The typed mqgate client (the package's `mqgate/client` entry): REST and WebSocket. */
export { MqgateClient, DEFAULT_URL } from './rest-client.js';
export type { ClientOptions, SendOptions } from './rest-client.js';
export { MqgateSocket } from './ws-client.js';
export type { SocketOptions, SocketSubscription } from './ws-client.js';
export { MqgateClientError } from './errors.js';
export type * from './types.js';
