/**
 * The gateway's contract with its APIs (REST, WebSocket, CLI, metrics): the types they use,
 * whatever backend a topic lives on. The APIs import these from here, never from broker/.
 */
import type { ReceivedMessage } from '../broker/index.js';

export type {
  ConsumerLag,
  GroupConfig,
  GroupUpdate,
  GroupView,
  NackOutcome,
  OffsetTarget,
  Prepared,
  QueueOffset,
  ReceiveOptions,
  ReceivedMessage,
  SendInput,
  SendResult,
  SubscribeOptions,
  TopicConfig,
  TopicUpdate,
  TxCheckRequest,
  TxChecker,
  TxStats,
} from '../broker/index.js';
export { TxState, Prop } from '../broker/index.js';

/** One message pushed to a subscriber, with the means to settle it. */
export interface GatewayDelivery {
  readonly message: ReceivedMessage;
  /** True when this call settled it; false when it was settled before or its time passed. */
  ack(): boolean;
  nack(opts?: { delayLevel?: number }): Promise<boolean>;
}

/**
 * A push subscription, on any backend: never more than `credit` deliveries unsettled; a
 * delivery is found again by its receipt handle (an ack frame names the handle).
 */
export interface GatewaySubscription extends AsyncIterable<GatewayDelivery> {
  readonly group: string;
  readonly topic: string;
  readonly credit: number;
  /** Settles once the subscription takes messages (a broker's queues for the group exist). */
  readonly ready?: Promise<void>;
  setCredit(n: number): void;
  heartbeat(): void;
  close(): void;
  readonly outstanding: {
    readonly size: number;
    byHandle(handle: string): GatewayDelivery | undefined;
  };
}
