/**
 * The gateway's configuration: one JSON schema (written with TypeBox), from which the types
 * are derived and against which ajv validates the YAML file, the `MQGATE_*` environment and
 * the command-line flags. Every property has its default inline; `additionalProperties:
 * false` everywhere, so a misspelt key is an error that names it. `config/mqgate.schema.json`
 * is this schema, written out by `npm run config:schema` (a test keeps the two equal).
 */
import type { Static } from 'typebox';
import { Type } from 'typebox';

const ms = (description: string, def: number, minimum = 0) =>
  Type.Integer({ minimum, default: def, description: `${description} (ms)` });

const section = <T extends Parameters<typeof Type.Object>[0]>(description: string, props: T) =>
  Type.Object(props, { additionalProperties: false, default: {}, description });

export const ServerSchema = section('The HTTP and WebSocket listener.', {
  host: Type.String({
    default: '127.0.0.1',
    minLength: 1,
    description: 'Address to bind. Anything other than loopback needs API keys (auth.keys) or --insecure.',
  }),
  port: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 8080,
    description: 'TCP port (0: any free port).',
  }),
  insecure: Type.Boolean({
    default: false,
    description: 'Allow binding a non-loopback address without API keys.',
  }),
  shutdownTimeoutMs: ms('How long SIGINT/SIGTERM waits for connections to drain', 10_000),
  requestTimeoutMs: ms('Longest a request may take (long polls included); 0 = none', 60_000),
  keepAliveTimeoutMs: ms('Idle keep-alive connection timeout', 72_000),
});

export const StoreSchema = section('The embedded log (the `local` backend).', {
  dataDir: Type.String({
    minLength: 1,
    default: './data',
    description: 'Directory of the log and the broker state.',
  }),
  flushDiskType: Type.Union([Type.Literal('ASYNC_FLUSH'), Type.Literal('SYNC_FLUSH')], {
    default: 'ASYNC_FLUSH',
    description: 'ASYNC_FLUSH acks once written to the OS; SYNC_FLUSH after fdatasync (group commit).',
  }),
  flushIntervalMs: ms('ASYNC_FLUSH: fsync period', 500, 1),
  syncFlushTimeoutMs: ms('SYNC_FLUSH: answer FLUSH_DISK_TIMEOUT after', 5000, 1),
  maxMessageSize: Type.Integer({
    minimum: 1,
    maximum: 64 * 1024 * 1024,
    default: 4 * 1024 * 1024,
    description: 'Largest message body in bytes.',
  }),
  segmentSize: Type.Integer({
    minimum: 1024 * 1024,
    default: 1024 * 1024 * 1024,
    description: 'CommitLog segment size in bytes (fixed when a store is created).',
  }),
  fileReservedTimeMs: ms('Segments older than this are deleted', 72 * 3_600_000, 1),
});

export const BrokerSchema = section('RocketMQ semantics over the log.', {
  autoCreateTopics: Type.Boolean({
    default: true,
    description: "Create a topic on its first send (RocketMQ's autoCreateTopicEnable).",
  }),
  autoCreateGroups: Type.Boolean({ default: true, description: 'Create a group on its first use.' }),
  defaultTopicQueues: Type.Integer({
    minimum: 1,
    maximum: 1024,
    default: 4,
    description: 'Queues of an auto-created topic.',
  }),
  delayLevels: Type.String({
    minLength: 1,
    default: '1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h',
    description: 'Delay level table (units ms s m h d), as messageDelayLevel.',
  }),
  shardingHash: Type.Union([Type.Literal('consistent'), Type.Literal('java-mod')], {
    default: 'consistent',
    description: 'How a sharding key picks its queue: RocketMQ 5 (consistent) or 4.x (java-mod).',
  }),
  minInvisibleMs: ms('Shortest invisible duration of a receive', 10_000, 1),
  maxInvisibleMs: ms('Longest invisible duration', 43_200_000, 1),
  defaultInvisibleMs: ms('Invisible duration of a receive that gives none', 30_000, 1),
  maxWaitMs: ms('Longest long-poll wait', 30_000),
  consumerExpiryMs: ms('A push consumer not heard from for this long leaves its group', 120_000, 1),
  pushAckTimeoutMs: ms('A pushed message unsettled this long is redelivered', 60_000, 1),
  defaultCredit: Type.Integer({
    minimum: 1,
    maximum: 10_000,
    default: 32,
    description: 'Push credit when a subscriber gives none.',
  }),
  maxTimerDelayMs: ms('Furthest a deliverAt may lie ahead', 3 * 86_400_000, 1),
  transactionTimeoutMs: ms('Half messages younger than this are not checked back', 6000),
  transactionCheckIntervalMs: ms('How often pending half messages are checked back', 30_000, 1),
  transactionCheckMax: Type.Integer({
    minimum: 0,
    default: 15,
    description: 'Checks before a half message is discarded.',
  }),
});

export const ApiSchema = section('REST and WebSocket behaviour.', {
  idempotencyWindowMs: ms('How long an Idempotency-Key returns its first result', 600_000),
  idempotencyMaxKeys: Type.Integer({
    minimum: 0,
    default: 100_000,
    description: 'Idempotency keys remembered at most.',
  }),
  checkTimeoutMs: ms('Transaction check-back: HTTP callback timeout', 3000, 1),
  checkRetries: Type.Integer({
    minimum: 0,
    maximum: 10,
    default: 2,
    description: 'Transaction check-back: retries of a failed callback within one check.',
  }),
  wsMaxPayloadBytes: Type.Integer({
    minimum: 1024,
    default: 6 * 1024 * 1024,
    description: 'Largest WebSocket frame accepted.',
  }),
  wsHeartbeatMs: ms('WebSocket ping period; a connection missing two pongs is closed', 30_000, 1),
  wsMaxBufferedBytes: Type.Integer({
    minimum: 1024,
    default: 8 * 1024 * 1024,
    description: 'Pushing to a WebSocket pauses while this much is buffered for it.',
  }),
  docs: Type.Boolean({ default: true, description: 'Serve /docs (Swagger UI) and /openapi.json.' }),
});

export const ApiKeySchema = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'Who the key belongs to (logs, metrics).' }),
    key: Type.Optional(Type.String({ minLength: 16, description: 'The key in clear (prefer keyHash).' })),
    keyHash: Type.Optional(
      Type.String({ pattern: '^sha256:[0-9a-f]{64}$', description: 'sha256:<hex> of the key.' }),
    ),
    admin: Type.Boolean({ default: false, description: 'May use the admin routes.' }),
    topics: Type.Record(
      Type.String(),
      Type.Union([Type.Literal('PUB'), Type.Literal('SUB'), Type.Literal('PUB|SUB'), Type.Literal('DENY')]),
      {
        default: {},
        description: 'Topic name (or *) -> PUB, SUB, PUB|SUB or DENY.',
      },
    ),
    groups: Type.Record(Type.String(), Type.Union([Type.Literal('SUB'), Type.Literal('DENY')]), {
      default: {},
      description: 'Group name (or *) -> SUB or DENY.',
    }),
    rateLimit: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Requests per rateWindowMs for this key.' }),
    ),
  },
  { additionalProperties: false },
);

export const AuthSchema = section('Access control modelled on RocketMQ ACL.', {
  keys: Type.Array(ApiKeySchema, {
    default: [],
    description: 'API keys; none means auth is off (loopback only).',
  }),
  rateLimit: Type.Integer({
    minimum: 1,
    default: 100_000,
    description: 'Requests per rateWindowMs per key by default (rate limits apply when auth is on).',
  }),
  rateWindowMs: ms('Rate limit window', 1000, 1),
});

export const LogSchema = section('Logging (pino).', {
  level: Type.Union(
    [
      Type.Literal('fatal'),
      Type.Literal('error'),
      Type.Literal('warn'),
      Type.Literal('info'),
      Type.Literal('debug'),
      Type.Literal('trace'),
      Type.Literal('silent'),
    ],
    { default: 'info', description: 'Lowest level logged.' },
  ),
  pretty: Type.Union([Type.Boolean(), Type.Literal('auto')], {
    default: 'auto',
    description: 'Human-readable lines; auto = when stdout is a TTY.',
  }),
});

export const MetricsSchema = section('Prometheus metrics at /metrics.', {
  enabled: Type.Boolean({ default: true, description: 'Serve GET /metrics (admin when auth is on).' }),
  maxTopicLabels: Type.Integer({
    minimum: 1,
    default: 1000,
    description:
      'Topics counted one by one in the per-topic counters; traffic of any further topic is counted as topic="_other".',
  }),
  maxLagSeries: Type.Integer({
    minimum: 0,
    default: 5000,
    description:
      'Consumer lag series (group, topic, queue), and groups, read per scrape at most; 0 turns them off.',
  }),
});

/** The features a route may hand to the core instead of the broker (adapters/spi.ts Feature). */
export const EMULATABLE_FEATURES = [
  'delayLevels',
  'timers',
  'transactions',
  'pop',
  'retry',
  'deadLetter',
  'broadcasting',
  'orderly',
  'tagFilter',
  'sqlFilter',
  'keyQuery',
] as const;

export const BackendSchema = Type.Object(
  {
    type: Type.Union(
      [Type.Literal('local-bare'), Type.Literal('rabbitmq'), Type.Literal('kafka'), Type.Literal('rocketmq')],
      {
        description:
          'local-bare: an embedded log of its own that declares only the primitives (plus seek), so the core emulates the rest; rabbitmq: RabbitMQ 3.10 or later over AMQP 0-9-1; kafka: Apache Kafka (4.x, 3.x) through kafkajs; rocketmq: Apache RocketMQ 5 through its gRPC proxy (rocketmq-client-nodejs), topics and groups over remoting (in progress: see the RocketMQ section).',
      },
    ),
    path: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'local-bare: its directory; rabbitmq, kafka: where it keeps files (stream offsets; the transactional id). Default {dataDir}/backends/{name}.',
      }),
    ),
    seek: Type.Boolean({
      default: true,
      description:
        'local-bare: offer seek (pull by offset, offsets); false stands for a queue broker without it.',
    }),
    url: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'rabbitmq: the AMQP URL, e.g. amqp://user:password@host:5672/vhost (required).',
        sensitive: true,
      }),
    ),
    brokers: Type.Optional(
      Type.Array(Type.String({ minLength: 1, pattern: '^\\S+:[0-9]{1,5}$' }), {
        minItems: 1,
        description: 'kafka: bootstrap brokers as host:port, e.g. [127.0.0.1:9092] (required).',
      }),
    ),
    endpoints: Type.Optional(
      Type.String({
        pattern: '^\\S+:[0-9]{1,5}$',
        description: 'rocketmq: the gRPC proxy as host:port, e.g. 127.0.0.1:8081 (required).',
      }),
    ),
    namesrv: Type.Optional(
      Type.String({
        pattern: '^\\S+:[0-9]{1,5}$',
        description:
          'rocketmq: the name server as host:port, e.g. 127.0.0.1:9876 (required): topics and groups are made through it.',
      }),
    ),
    clientId: Type.String({
      default: 'mqgate',
      minLength: 1,
      description: "kafka: the client id in the broker's logs and quotas.",
    }),
    transactionalId: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "kafka: the transactional id of transactional commits (routes with transactionalCommit); one per gateway, the same after a restart. Default: a random id kept in the backend's path.",
      }),
    ),
    maxMessageBytes: Type.Integer({
      minimum: 1024,
      default: 8 * 1024 * 1024,
      description:
        "kafka: the largest max.message.bytes mqgate gives a topic it creates (the gateway's message size plus room for headers, up to this); a larger message is a 413.",
    }),
    retryTopics: Type.Boolean({
      default: true,
      description:
        "kafka: retries and dead letters as each group's topics (mqgate.retry.{group}.{topic}, a partition per delay level, and mqgate.dlq.{group}, made with the group's first consumer); false: the core keeps them in the gateway's log and no topic is made per group.",
    }),
    queueType: Type.Union([Type.Literal('quorum'), Type.Literal('stream')], {
      default: 'quorum',
      description:
        "rabbitmq: quorum (each group its own queues: RabbitMQ's retry, DLQ and orderly; no start position, no seek) or stream (a topic is streams every group reads by offset: start positions, replay and seek; retry, DLQ and orderly by the core).",
    }),
    streamMaxAge: Type.String({
      default: '3D',
      pattern: '^[0-9]+[YMDhms]$',
      description:
        "rabbitmq with queueType stream: how long the topic's streams keep messages (x-max-age: 3D, 72h, ...).",
    }),
    confirmTimeoutMs: ms(
      'rabbitmq, kafka, rocketmq: a send not confirmed by the broker within this fails',
      10_000,
      100,
    ),
    connectTimeoutMs: ms(
      'rabbitmq, kafka, rocketmq: how long a (re)connect is awaited before the backend counts as down (rocketmq: how long a remoting request waits)',
      3000,
      100,
    ),
    sessionTimeoutMs: ms(
      "kafka: a group member silent this long is dropped and its partitions go to the others; also how long a consumer may wait for its group after a broker restart, while the group still counts the member of before (the broker's group.min.session.timeout.ms, 6 s by default, is the floor)",
      10_000,
      1000,
    ),
    deliveryLimit: Type.Integer({
      minimum: 1,
      default: 1000,
      description:
        "rabbitmq: x-delivery-limit of the groups' quorum queues: redeliveries before RabbitMQ moves a message to the group's DLQ.",
    }),
    releaseAfterMs: ms(
      "rabbitmq: a delivery held this long is given back and delivered again (keep below the broker's consumer_timeout, 30 min by default)",
      1_200_000,
      1000,
    ),
    memberExpiresMs: ms(
      "rabbitmq: a broadcasting consumer's own queues are deleted after this long without it",
      3_600_000,
      1000,
    ),
  },
  { additionalProperties: false },
);

export const RouteSchema = Type.Object(
  {
    topics: Type.String({
      minLength: 1,
      description: 'A topic name, or a pattern where * stands for any characters (orders-*, *).',
    }),
    backend: Type.String({ minLength: 1, description: 'A name under gateway.backends, or local.' }),
    emulate: Type.Array(
      Type.Unsafe<(typeof EMULATABLE_FEATURES)[number]>(
        Type.Union(EMULATABLE_FEATURES.map((f) => Type.Literal(f))),
      ),
      {
        default: [],
        description: 'Features the core supplies on these topics even where the broker has them natively.',
      },
    ),
    storeAndForward: Type.Boolean({
      default: false,
      description:
        "While the backend is down, sends are kept in the gateway's log (SEND_OK after its flush policy) and forwarded in per-queue order when it is back; off: they answer 503 at once.",
    }),
    transactionalCommit: Type.Boolean({
      default: false,
      description:
        "kafka: a transaction's commit writes the message and a commit mark in one Kafka transaction, so a commit repeated after a gateway crash is found and not sent twice (once, not at least once); costs a Kafka transaction per batch of commits.",
    }),
  },
  { additionalProperties: false },
);

export const GatewaySchema = section('Backends and routes: where each topic lives.', {
  backends: Type.Record(Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }), BackendSchema, {
    default: {},
    description: 'Named backends beside local (the embedded log, always there).',
  }),
  routes: Type.Array(RouteSchema, {
    default: [],
    description:
      'Topic name or pattern -> backend, first match wins; a topic keeps the backend it was created on.',
  }),
  defaultBackend: Type.String({
    minLength: 1,
    default: 'local',
    description: 'Where a topic no route names lives.',
  }),
  healthIntervalMs: ms('How often each backend is asked whether it is up', 5000, 100),
  popIdleMs: ms(
    "Emulated POP: a group's lane no receive took from for this long gives back what it read ahead (for the group's other consumers)",
    30_000,
    100,
  ),
  popCredit: Type.Integer({
    minimum: 1,
    maximum: 100_000,
    default: 1024,
    description:
      'Emulated POP: messages a group may hold from a backend at once (handed out or waiting), per topic and gateway.',
  }),
});

/** An instance id: what transaction ids and receipt handles carry as `{instanceId}~`. */
export const INSTANCE_ID_PATTERN = '^[a-z0-9][a-z0-9-]{0,31}$';

export const ClusterSchema = section(
  'Several gateway instances in front of one broker: ids name their owner, which the others forward to.',
  {
    instanceId: Type.Optional(
      Type.String({
        pattern: INSTANCE_ID_PATTERN,
        description:
          'This instance (e.g. the pod name of a StatefulSet). Set: transaction ids and receipt handles leave as `{instanceId}~{id}`. Absent: a single gateway, ids as they are.',
      }),
    ),
    peers: Type.Record(
      Type.String({ pattern: INSTANCE_ID_PATTERN }),
      Type.String({ minLength: 8, maxLength: 2048, pattern: '^[hH][tT][tT][pP][sS]?://' }),
      {
        default: {},
        additionalProperties: false,
        description:
          'instanceId -> base URL (http://10.0.0.2:8080) of the other instances; an entry for this instance itself is ignored.',
      },
    ),
    forwardTimeoutMs: ms('A forwarded call unanswered this long answers 421 MQ_ERR_NOT_OWNER', 5000, 1),
    apiKey: Type.Optional(
      Type.String({
        minLength: 16,
        description:
          "The key forwarded calls carry instead of the caller's Authorization (when the instances' auth.keys differ); it needs the permissions of what it forwards.",
      }),
    ),
  },
);

export const ConfigSchema = Type.Object(
  {
    server: ServerSchema,
    store: StoreSchema,
    broker: BrokerSchema,
    api: ApiSchema,
    auth: AuthSchema,
    log: LogSchema,
    metrics: MetricsSchema,
    gateway: GatewaySchema,
    cluster: ClusterSchema,
  },
  {
    additionalProperties: false,
    $id: 'https://mqgate.dev/schema/config.json',
    title: 'mqgate configuration',
  },
);

export type Config = Static<typeof ConfigSchema>;
export type ApiKeyConfig = Static<typeof ApiKeySchema>;
export type BackendConfig = Static<typeof BackendSchema>;
export type RouteConfig = Static<typeof RouteSchema>;
export type ClusterConfig = Static<typeof ClusterSchema>;
