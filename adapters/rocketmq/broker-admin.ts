/**
 * Topics and consumer groups on a RocketMQ 5 cluster, over the remoting protocol (the gRPC
 * proxy neither creates topics, even with autoCreateTopicEnable, nor groups). Topics and groups
 * are made on every master broker the name server knows, as `mqadmin updateTopic -c` does.
 *
 * RocketMQ 5 checks a send against its topic's `message.type` (the proxy refuses a FIFO, delay
 * or transactional message on a topic of another type), so a topic is created with its type;
 * MIXED takes every type.
 */
import { MqgateError } from '../../src/errors.js';
import type { RemotingClient, RemotingResponse } from './remoting-client.js';
import { RequestCode, ResponseCode } from './remoting-codes.js';

export type TopicMessageType = 'NORMAL' | 'FIFO' | 'DELAY' | 'TRANSACTION' | 'MIXED';

/** perm 6 = readable and writable (PermName.PERM_READ | PERM_WRITE). */
const PERM_READ_WRITE = 6;
const ROUTE_WAIT_MS = 15_000;

export interface GroupSettings {
  /** FIFO consumption: a message group's next message only after the last one is acked. */
  readonly orderly?: boolean;
  /** Redeliveries before the dead-letter queue (RocketMQ's retryMaxTimes). @defaultValue 16 */
  readonly retryMaxTimes?: number;
  /**
   * The delay-level table (ms, level 1 first) the retry back-off walks: retry n waits level n + 3,
   * as in RocketMQ (a customized retry policy). RocketMQ's 18 levels if absent.
   */
  readonly delayLevelsMs?: readonly number[];
}

export interface TopicRoute {
  /** Master broker addresses by broker name. */
  readonly masters: ReadonlyMap<string, string>;
  readonly queues: readonly {
    brokerName: string;
    readQueueNums: number;
    writeQueueNums: number;
    perm: number;
  }[];
}

/** fastjson writes integer map keys unquoted (`{0:"host:port"}`): quote them for JSON.parse. */
function parseFastjson(body: Buffer): unknown {
  return JSON.parse(body.toString('utf8').replace(/([{,])\s*(-?\d+)\s*:/g, '$1"$2":'));
}

export class BrokerAdmin {
  readonly #client: RemotingClient;
  readonly #namesrv: string;

  constructor(client: RemotingClient, namesrv: string) {
    this.#client = client;
    this.#namesrv = namesrv;
  }

  /** One remoting request; a broken connection or a timeout is a retriable 503. */
  async request(
    address: string,
    code: number,
    fields: Readonly<Record<string, string | number | boolean>>,
    body?: Buffer,
  ): Promise<RemotingResponse> {
    try {
      return await this.#client.request(address, code, fields, body);
    } catch (err) {
      throw new MqgateError('MQ_ERR_BACKEND_UNAVAILABLE', `rocketmq ${address}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** The master broker of every broker name in the cluster. */
  async masters(): Promise<Map<string, string>> {
    const res = await this.request(this.#namesrv, RequestCode.GET_BROKER_CLUSTER_INFO, {});
    if (res.code !== ResponseCode.SUCCESS) throw refused('reading the cluster', this.#namesrv, res);
    const info = parseFastjson(res.body) as {
      brokerAddrTable?: Record<string, { brokerAddrs?: Record<string, string> }>;
    };
    const out = new Map<string, string>();
    for (const [name, data] of Object.entries(info.brokerAddrTable ?? {})) {
      const master = data.brokerAddrs?.['0'];
      if (master !== undefined) out.set(name, master);
    }
    if (out.size === 0) throw refused('finding a master broker', this.#namesrv, res);
    return out;
  }

  /** The topic's route, or undefined when the name server has none. */
  async route(topic: string): Promise<TopicRoute | undefined> {
    const res = await this.request(this.#namesrv, RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic });
    if (res.code === ResponseCode.TOPIC_NOT_EXIST) return undefined;
    if (res.code !== ResponseCode.SUCCESS)
      throw refused(`reading the route of "${topic}"`, this.#namesrv, res);
    const data = parseFastjson(res.body) as {
      brokerDatas: { brokerName: string; brokerAddrs: Record<string, string> }[];
      queueDatas: TopicRoute['queues'];
    };
    const masters = new Map<string, string>();
    for (const b of data.brokerDatas) {
      const master = b.brokerAddrs['0'];
      if (master !== undefined) masters.set(b.brokerName, master);
    }
    return { masters, queues: data.queueDatas };
  }

  /**
   * Creates or updates `topic` with `queues` read and write queues on every master, then waits
   * until the name server serves its route (the proxy routes sends by it).
   */
  async createTopic(topic: string, o: { queues: number; messageType: TopicMessageType }): Promise<void> {
    for (const [, broker] of await this.masters()) {
      const res = await this.request(broker, RequestCode.UPDATE_AND_CREATE_TOPIC, {
        topic,
        defaultTopic: 'TBW102',
        readQueueNums: o.queues,
        writeQueueNums: o.queues,
        perm: PERM_READ_WRITE,
        topicFilterType: 'SINGLE_TAG',
        topicSysFlag: 0,
        order: false,
        attributes: `+message.type=${o.messageType}`,
      });
      if (res.code !== ResponseCode.SUCCESS) throw refused(`creating topic "${topic}"`, broker, res);
    }
    const deadline = Date.now() + ROUTE_WAIT_MS;
    while ((await this.route(topic)) === undefined) {
      if (Date.now() > deadline)
        throw new MqgateError(
          'MQ_ERR_BACKEND_UNAVAILABLE',
          `rocketmq: no route for "${topic}" after creating it`,
        );
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** The topic's config on its first master (queue counts, attributes such as `message.type`). */
  async topicConfig(topic: string): Promise<Record<string, unknown> | undefined> {
    const route = await this.route(topic);
    const broker = route?.masters.values().next().value;
    if (broker === undefined) return undefined;
    const res = await this.request(broker, RequestCode.GET_TOPIC_CONFIG, { topic });
    if (res.code === ResponseCode.TOPIC_NOT_EXIST) return undefined;
    if (res.code !== ResponseCode.SUCCESS) throw refused(`reading topic "${topic}"`, broker, res);
    return parseFastjson(res.body) as Record<string, unknown>;
  }

  /** Creates or updates a consumer group on every master. */
  async createGroup(group: string, s: GroupSettings = {}): Promise<void> {
    const config = {
      groupName: group,
      consumeEnable: true,
      consumeFromMinEnable: true,
      consumeBroadcastEnable: true,
      consumeMessageOrderly: s.orderly ?? false,
      retryQueueNums: 1,
      retryMaxTimes: s.retryMaxTimes ?? 16,
      groupRetryPolicy:
        s.delayLevelsMs === undefined
          ? { type: 'CUSTOMIZED' }
          : { type: 'CUSTOMIZED', customizedRetryPolicy: { next: s.delayLevelsMs } },
      brokerId: 0,
      whichBrokerWhenConsumeSlowly: 1,
      notifyConsumerIdsChangedEnable: true,
    };
    const body = Buffer.from(JSON.stringify(config));
    for (const [, broker] of await this.masters()) {
      const res = await this.request(broker, RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, {}, body);
      if (res.code !== ResponseCode.SUCCESS) throw refused(`creating group "${group}"`, broker, res);
    }
  }

  /**
   * The group's config on the first master, or undefined when it has none. A broker with
   * `autoCreateSubscriptionGroup` makes a group with default settings when asked for one it lacks.
   */
  async groupConfig(group: string): Promise<Record<string, unknown> | undefined> {
    const [broker] = (await this.masters()).values();
    if (broker === undefined) return undefined;
    const res = await this.request(broker, RequestCode.GET_SUBSCRIPTIONGROUP_CONFIG, { group });
    if (res.code === ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST || res.body.length === 0) return undefined;
    if (res.code !== ResponseCode.SUCCESS) throw refused(`reading group "${group}"`, broker, res);
    return parseFastjson(res.body) as Record<string, unknown>;
  }

  /** Removes the topic from every master and from the name server. */
  async deleteTopic(topic: string): Promise<void> {
    for (const [, broker] of await this.masters()) {
      const res = await this.request(broker, RequestCode.DELETE_TOPIC_IN_BROKER, { topic });
      if (res.code !== ResponseCode.SUCCESS) throw refused(`deleting topic "${topic}"`, broker, res);
    }
    const res = await this.request(this.#namesrv, RequestCode.DELETE_TOPIC_IN_NAMESRV, { topic });
    if (res.code !== ResponseCode.SUCCESS) throw refused(`deleting topic "${topic}"`, this.#namesrv, res);
  }

  /** Removes the group and its offsets from every master. */
  async deleteGroup(group: string): Promise<void> {
    for (const [, broker] of await this.masters()) {
      const res = await this.request(broker, RequestCode.DELETE_SUBSCRIPTIONGROUP, {
        groupName: group,
        cleanOffset: true,
      });
      if (res.code !== ResponseCode.SUCCESS) throw refused(`deleting group "${group}"`, broker, res);
    }
  }
}

/** A broker's refusal (code and remark) as a 502. */
export function refused(what: string, address: string, res: RemotingResponse): MqgateError {
  return new MqgateError(
    'MQ_ERR_BACKEND_REFUSED',
    `rocketmq ${address}: ${what}: code ${res.code}${res.remark === undefined ? '' : ` (${res.remark})`}`,
    { details: { code: res.code, remark: res.remark } },
  );
}
