/**
 * Prometheus metrics of one gateway, on a registry of its own (never prom-client's global one,
 * so two gateways in one process do not mix).
 *
 * Traffic metrics are counted on the request path, so they are plain additions to cached
 * series (see {@link FastCounter}, {@link FastHistogram}): no label hashing or validation per
 * event; prom-client formats them at scrape time. Everything about the broker (consumer lag,
 * pending transactions, scheduled messages, DLQ sizes, the store) is read at scrape time from
 * the gateway, bounded by `metrics.maxLagSeries`.
 *
 * Who counts what: REST sends, receives and pulls are counted by the hooks of
 * `src/api/rest/observe.ts` (routes need not do anything); the WebSocket calls
 * {@link Metrics.onSend} and {@link Metrics.onDeliver} itself.
 */
import type { LabelValues, MetricObjectWithValues, MetricValueWithName } from 'prom-client';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ConsumerLag, GroupView, TxStats } from '../gateway/index.js';
import type { Config } from '../config/schema.js';

/** What the scrape-time metrics read (the {@link Gateway} has all of it). */
export interface MetricsSource {
  consumerLag(limit?: number): ConsumerLag[];
  listGroups(): readonly { readonly name: string }[];
  getGroup(name: string): GroupView | undefined;
  transactionStats(): TxStats;
  scheduleStats(): { levels: number[]; timers: number; delivered: number };
  storeStats(): { writeEnd: number; flushedEnd: number; minOffset: number; fsyncs: number };
  /** The backends, whether each is up and its store-and-forward backlog (read at scrape time). */
  listBackends?(): readonly {
    readonly name: string;
    readonly type: string;
    readonly status: 'up' | 'down';
    readonly backlog?: { readonly messages: number; readonly forwarded: number };
  }[];
  /** Calls `listener` after every confirmed or failed send to a backend other than local. */
  onBackendSend?(listener: (backend: string, messages: number, seconds: number, ok: boolean) => void): void;
}

/** A counter series: add to `value` (never subtract). */
export interface CounterSeries {
  value: number;
}

type Labels = Readonly<Record<string, string>>;

/**
 * A prom-client Counter whose series are plain objects handed out once per label set and
 * incremented directly: an increment is one addition.
 */
export class FastCounter<T extends string> extends Counter<T> {
  readonly #series = new Map<string, { labels: Labels; s: CounterSeries }>();

  /** The series of a label set (cache it: this lookup joins the values). */
  series(labels: Readonly<Record<T, string>>): CounterSeries {
    const id = Object.values<string>(labels).join('\u0001');
    let e = this.#series.get(id);
    if (e === undefined) this.#series.set(id, (e = { labels: { ...labels }, s: { value: 0 } }));
    return e.s;
  }

  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<T>>> {
    const base = await super.get();
    const values = [...this.#series.values()].map((e) => ({
      labels: { ...e.labels } as LabelValues<T>,
      value: e.s.value,
    }));
    return { ...base, values };
  }
}

/** A histogram series: {@link HistogramSeries.observe} is a bucket search and three additions. */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly #bounds: readonly number[];

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length);
  }

  observe(v: number): void {
    const b = this.#bounds;
    for (let i = 0; i < b.length; i++)
      if (v <= (b[i] as number)) {
        this.counts[i] = (this.counts[i] as number) + 1;
        break;
      }
    this.sum += v;
    this.count++;
  }
}

/** A prom-client Histogram with cached series, like {@link FastCounter}; always labelled. */
export class FastHistogram<T extends string> extends Histogram<T> {
  readonly #series = new Map<string, { labels: Labels; s: HistogramSeries }>();
  readonly #bounds: readonly number[];
  readonly #name: string;
  readonly #help: string;

  constructor(config: { name: string; help: string; labelNames: readonly T[]; buckets: number[] }) {
    super({ ...config, registers: [] });
    this.#bounds = [...config.buckets].sort((a, b) => a - b);
    this.#name = config.name;
    this.#help = config.help;
  }

  series(labels: Readonly<Record<T, string>>): HistogramSeries {
    const id = Object.values<string>(labels).join('\u0001');
    let e = this.#series.get(id);
    if (e === undefined)
      this.#series.set(id, (e = { labels: { ...labels }, s: new HistogramSeries(this.#bounds) }));
    return e.s;
  }

  /** What the registry formats (prom-client asks a histogram for this rather than `get()`). */
  async getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<T>>> {
    const values: MetricValueWithName<T>[] = [];
    const bucket = `${this.#name}_bucket`;
    for (const { labels, s } of this.#series.values()) {
      let acc = 0;
      this.#bounds.forEach((le, i) => {
        acc += s.counts[i] as number;
        values.push({ metricName: bucket, labels: { le, ...labels } as LabelValues<T>, value: acc });
      });
      values.push({
        metricName: bucket,
        labels: { le: '+Inf', ...labels } as LabelValues<T>,
        value: s.count,
      });
      values.push({ metricName: `${this.#name}_sum`, labels: { ...labels } as LabelValues<T>, value: s.sum });
      values.push({
        metricName: `${this.#name}_count`,
        labels: { ...labels } as LabelValues<T>,
        value: s.count,
      });
    }
    const base = { name: this.#name, help: this.#help, type: 'histogram', aggregator: 'sum' };
    return { ...(base as unknown as MetricObjectWithValues<MetricValueWithName<T>>), values };
  }

  override get(): Promise<MetricObjectWithValues<MetricValueWithName<T>>> {
    return this.getForPromString();
  }
}

/** 0.1 ms .. 5 s: a send on the embedded log takes well under 1 ms; SYNC_FLUSH waits for a disk. */
export const SEND_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
/** Requests include long polls (up to 30 s). */
export const HTTP_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** The label of topics beyond `metrics.maxTopicLabels`. */
export const OTHER_TOPIC = '_other';

/** Per status code of one route: its count and duration series. */
export interface HttpSeries {
  readonly requests: CounterSeries;
  readonly seconds: HistogramSeries;
}

/** The metrics of one gateway; `registry.metrics()` is the `/metrics` text. */
export class Metrics {
  readonly registry = new Registry();
  readonly #in: FastCounter<'topic'>;
  readonly #out: FastCounter<'topic'>;
  readonly #sendSeconds: FastHistogram<'api'>;
  readonly #httpRequests: FastCounter<'method' | 'route' | 'status'>;
  readonly #httpSeconds: FastHistogram<'method' | 'route' | 'status'>;
  readonly #inByTopic = new Map<string, CounterSeries>();
  readonly #outByTopic = new Map<string, CounterSeries>();
  readonly #sendByApi = new Map<string, HistogramSeries>();
  readonly #maxTopics: number;

  constructor(source: MetricsSource, config: Config['metrics']) {
    this.#maxTopics = config.maxTopicLabels;
    const r = this.registry;
    this.#in = new FastCounter({
      name: 'mqgate_messages_in_total',
      help: 'Messages accepted for a topic (sends, batch members)',
      labelNames: ['topic'],
      registers: [r],
    });
    this.#out = new FastCounter({
      name: 'mqgate_messages_out_total',
      help: 'Messages handed to consumers of a topic (receive, pull, push)',
      labelNames: ['topic'],
      registers: [r],
    });
    this.#sendSeconds = new FastHistogram({
      name: 'mqgate_send_duration_seconds',
      help: 'Time to answer a send, from request to result',
      labelNames: ['api'],
      buckets: SEND_BUCKETS,
    });
    this.#httpRequests = new FastCounter({
      name: 'mqgate_http_requests_total',
      help: 'HTTP requests answered, by route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers: [r],
    });
    this.#httpSeconds = new FastHistogram({
      name: 'mqgate_http_request_duration_seconds',
      help: 'HTTP request duration, by route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
    });
    r.registerMetric(this.#sendSeconds);
    r.registerMetric(this.#httpSeconds);
    this.#backendMetrics(source);
    if (!config.enabled) return;
    registerBrokerGauges(r, source, config);
    collectDefaultMetrics({ register: r });
  }

  /**
   * Per backend: messages sent and failed, the broker's confirm latency, whether it is up, and
   * its store-and-forward backlog (waiting, forwarded).
   */
  #backendMetrics(source: MetricsSource): void {
    const r = this.registry;
    const sent = new FastCounter({
      name: 'mqgate_backend_messages_sent_total',
      help: 'Messages a backend confirmed (sends to a broker; the embedded log is counted in mqgate_messages_in_total)',
      labelNames: ['backend'],
      registers: [r],
    });
    const failed = new FastCounter({
      name: 'mqgate_backend_send_errors_total',
      help: 'Messages of sends a backend refused or did not confirm',
      labelNames: ['backend'],
      registers: [r],
    });
    const confirm = new FastHistogram({
      name: 'mqgate_backend_confirm_duration_seconds',
      help: "Time from a send to the broker's confirm",
      labelNames: ['backend'],
      buckets: SEND_BUCKETS,
    });
    r.registerMetric(confirm);
    source.onBackendSend?.((backend, n, seconds, ok) => {
      (ok ? sent : failed).series({ backend }).value += n;
      if (ok) confirm.series({ backend }).observe(seconds);
    });
    const backends = perScrape(() => source.listBackends?.());
    new Gauge({
      name: 'mqgate_backend_up',
      help: 'Whether a backend is up (1) or down (0)',
      labelNames: ['backend', 'type'],
      registers: [r],
      collect() {
        this.reset();
        for (const b of backends() ?? [])
          this.set({ backend: b.name, type: b.type }, b.status === 'up' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'mqgate_backend_backlog_messages',
      help: "Store-and-forward: messages accepted for a backend while it was down, waiting in the gateway's log",
      labelNames: ['backend'],
      registers: [r],
      collect() {
        this.reset();
        for (const b of backends() ?? []) this.set({ backend: b.name }, b.backlog?.messages ?? 0);
      },
    });
    new Counter({
      name: 'mqgate_backend_forwarded_total',
      help: 'Store-and-forward: backlog messages forwarded to a backend since the gateway started',
      labelNames: ['backend'],
      registers: [r],
      collect() {
        this.reset();
        for (const b of backends() ?? []) this.inc({ backend: b.name }, b.backlog?.forwarded ?? 0);
      },
    });
  }

  #topicSeries(map: Map<string, CounterSeries>, counter: FastCounter<'topic'>, topic: string): CounterSeries {
    let s = map.get(topic);
    if (s === undefined) {
      s = counter.series({ topic: map.size < this.#maxTopics ? topic : OTHER_TOPIC });
      if (map.size < this.#maxTopics * 2) map.set(topic, s);
    }
    return s;
  }

  /** `n` messages were accepted for `topic`; `seconds`, when given, is how long the send took. */
  onSend(topic: string, n: number, seconds?: number, api: 'rest' | 'ws' = 'ws'): void {
    this.#topicSeries(this.#inByTopic, this.#in, topic).value += n;
    if (seconds !== undefined) this.sendLatency(api).observe(seconds);
  }

  /** `n` messages of `topic` were handed to a consumer. */
  onDeliver(topic: string, n: number): void {
    this.#topicSeries(this.#outByTopic, this.#out, topic).value += n;
  }

  /** The send latency series of an API (cache it). */
  sendLatency(api: 'rest' | 'ws'): HistogramSeries {
    let s = this.#sendByApi.get(api);
    if (s === undefined) this.#sendByApi.set(api, (s = this.#sendSeconds.series({ api })));
    return s;
  }

  /** The request series of one route and status (cache it per route). */
  http(method: string, route: string, status: number): HttpSeries {
    const labels = { method, route, status: String(status) };
    return { requests: this.#httpRequests.series(labels), seconds: this.#httpSeconds.series(labels) };
  }

  /** The text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** Reads a value for a scrape; a gateway that is closing has nothing to say (no failed scrape). */
function quietly<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/**
 * `read`, once per scrape: the registry calls every metric's collect in the same tick, so the
 * value is kept until the next microtask.
 */
function perScrape<T>(read: () => T): () => T | undefined {
  let cached: { v: T | undefined } | undefined;
  return () => {
    if (cached === undefined) {
      cached = { v: quietly(read) };
      queueMicrotask(() => (cached = undefined));
    }
    return cached.v;
  };
}

/** The metrics read from the broker and the store at scrape time. */
function registerBrokerGauges(r: Registry, source: MetricsSource, config: Config['metrics']): void {
  const limit = config.maxLagSeries;
  const lag = perScrape(() => (limit === 0 ? [] : source.consumerLag(limit)));
  const tx = perScrape(() => source.transactionStats());
  const schedule = perScrape(() => source.scheduleStats());
  const store = perScrape(() => source.storeStats());
  const groups = perScrape(() => {
    const out: { name: string; view: GroupView }[] = [];
    for (const g of source.listGroups()) {
      if (out.length >= limit) break;
      const view = quietly(() => source.getGroup(g.name));
      if (view !== undefined) out.push({ name: g.name, view });
    }
    return out;
  });
  new Gauge({
    name: 'mqgate_consumer_lag',
    help: `Messages a group has not consumed yet, per topic and queue (at most ${limit} series)`,
    labelNames: ['group', 'topic', 'queue'],
    registers: [r],
    collect() {
      this.reset();
      for (const row of lag() ?? [])
        this.set({ group: row.group, topic: row.topic, queue: String(row.queueId) }, row.lag);
    },
  });
  new Gauge({
    name: 'mqgate_consumer_inflight',
    help: 'Messages handed to a group and not settled yet, per topic',
    labelNames: ['group', 'topic'],
    registers: [r],
    collect() {
      this.reset();
      for (const row of lag() ?? []) this.inc({ group: row.group, topic: row.topic }, row.inflight);
    },
  });
  new Gauge({
    name: 'mqgate_group_dlq_messages',
    help: "Messages in a group's dead-letter queue (%DLQ%group)",
    labelNames: ['group'],
    registers: [r],
    collect() {
      this.reset();
      for (const g of groups() ?? []) this.set({ group: g.name }, g.view.dlqMessages);
    },
  });
  new Gauge({
    name: 'mqgate_group_retry_messages',
    help: "Messages in a group's retry topic (%RETRY%group)",
    labelNames: ['group'],
    registers: [r],
    collect() {
      this.reset();
      for (const g of groups() ?? []) this.set({ group: g.name }, g.view.retryMessages);
    },
  });
  new Counter({
    name: 'mqgate_group_messages_total',
    help: 'What a group did with messages since the gateway started: delivered, acked, nacked, retried, dead_lettered, dropped',
    labelNames: ['group', 'outcome'],
    registers: [r],
    collect() {
      this.reset();
      for (const g of groups() ?? []) {
        const s = g.view.stats;
        this.inc({ group: g.name, outcome: 'delivered' }, s.delivered);
        this.inc({ group: g.name, outcome: 'acked' }, s.acked);
        this.inc({ group: g.name, outcome: 'nacked' }, s.nacked);
        this.inc({ group: g.name, outcome: 'retried' }, s.retried);
        this.inc({ group: g.name, outcome: 'dead_lettered' }, s.deadLettered);
        this.inc({ group: g.name, outcome: 'dropped' }, s.dropped);
      }
    },
  });
  scalar(
    r,
    'gauge',
    'mqgate_transactions_pending',
    'Half messages neither committed nor rolled back',
    () => tx()?.pending,
  );
  new Counter({
    name: 'mqgate_transactions_total',
    help: 'Transactions resolved since the gateway started: committed, rolled_back, discarded',
    labelNames: ['outcome'],
    registers: [r],
    collect() {
      const s = tx();
      if (s === undefined) return;
      this.reset();
      this.inc({ outcome: 'committed' }, s.committed);
      this.inc({ outcome: 'rolled_back' }, s.rolledBack);
      this.inc({ outcome: 'discarded' }, s.discarded);
    },
  });
  new Gauge({
    name: 'mqgate_scheduled_messages',
    help: 'Messages waiting for their delay level',
    labelNames: ['level'],
    registers: [r],
    collect() {
      const s = schedule();
      if (s === undefined) return;
      this.reset();
      s.levels.forEach((n, i) => this.set({ level: String(i + 1) }, n));
    },
  });
  const scalars: [type: 'gauge' | 'counter', name: string, help: string, read: () => number | undefined][] = [
    [
      'gauge',
      'mqgate_scheduled_timers',
      'Messages waiting for their deliverAt time',
      () => schedule()?.timers,
    ],
    [
      'counter',
      'mqgate_store_written_bytes_total',
      'Bytes appended to the CommitLog (its write offset)',
      () => store()?.writeEnd,
    ],
    [
      'counter',
      'mqgate_store_fsyncs_total',
      'fsyncs of the CommitLog since the gateway started',
      () => store()?.fsyncs,
    ],
    [
      'gauge',
      'mqgate_store_min_offset_bytes',
      'Lowest CommitLog offset still on disk (grows as retention deletes segments)',
      () => store()?.minOffset,
    ],
    [
      'gauge',
      'mqgate_store_flushed_bytes',
      'CommitLog offset known to be on disk (fsynced)',
      () => store()?.flushedEnd,
    ],
  ];
  for (const [type, name, help, read] of scalars) scalar(r, type, name, help, read);
}

/** An unlabelled gauge or counter whose value is read at scrape time (nothing when undefined). */
function scalar(
  r: Registry,
  type: 'gauge' | 'counter',
  name: string,
  help: string,
  read: () => number | undefined,
): void {
  if (type === 'gauge')
    new Gauge({
      name,
      help,
      registers: [r],
      collect() {
        const v = read();
        if (v !== undefined) this.set(v);
      },
    });
  else
    new Counter({
      name,
      help,
      registers: [r],
      collect() {
        const v = read();
        if (v === undefined) return;
        this.reset();
        this.inc(v);
      },
    });
}
