/**
 * Where each topic lives. The broker core's topic registry holds every topic, its queues and
 * its backend (absent: `local`); the routes decide the backend of a topic when it is created
 * (explicitly, or on first send with autoCreateTopics). A topic's backend is fixed once it has
 * messages: moving it is what migration is for.
 */
import type { Broker, TopicConfig, TopicUpdate } from '../broker/index.js';
import type { Config } from '../config/schema.js';
import { MqgateError } from '../errors.js';
import type { Backends } from './backends.js';
import type { Support } from '../../adapters/index.js';
import { matrix } from './capabilities.js';
import type { RemoteTopic } from './core/remote-producer.js';
import { Routes } from './routes.js';

export type TopicView = NonNullable<ReturnType<Broker['getTopic']>> & {
  backend: string;
  /** Per feature on this topic (its route's emulate list applied): native, emulated or none. */
  capabilities: Record<string, Support>;
  how: Record<string, string>;
};

export class GatewayTopics {
  readonly #broker: Broker;
  readonly #backends: Backends;
  readonly #routes: Routes;
  readonly #autoCreate: boolean;
  /** No route and the default backend is local: a topic not known yet is local (the fast path). */
  readonly allLocal: boolean;
  readonly #remote = new Map<string, RemoteTopic>();

  constructor(broker: Broker, backends: Backends, config: Config) {
    this.#broker = broker;
    this.#backends = backends;
    this.#routes = new Routes(config.gateway.routes, config.gateway.defaultBackend);
    this.#autoCreate = config.broker.autoCreateTopics;
    this.allLocal = config.gateway.routes.length === 0 && config.gateway.defaultBackend === 'local';
    for (const [i, r] of config.gateway.routes.entries())
      for (const f of r.emulate) {
        const caps = backends.get(r.backend)?.caps;
        if (caps?.features[f as keyof typeof caps.features]?.support === 'none')
          throw new MqgateError(
            'MQ_ERR_CONFIG_INVALID',
            `gateway.routes.${i}.emulate: ${f} is none on backend "${r.backend}": nothing can supply it there`,
          );
      }
  }

  /** The topic when it lives on another backend; undefined when it is local or unknown. */
  remote(name: string): RemoteTopic | undefined {
    const known = this.#remote.get(name);
    if (known !== undefined) return known;
    const backend = this.#broker.topics.get(name)?.backend;
    if (backend === undefined) return undefined;
    const t: RemoteTopic = {
      name,
      backend: this.#backends.require(backend),
      emulate: this.#routes.emulateFor(name, backend),
      storeAndForward: this.#routes.flagFor(name, backend, 'storeAndForward'),
      transactionalCommit: this.#routes.flagFor(name, backend, 'transactionalCommit'),
    };
    this.#remote.set(name, t);
    return t;
  }

  /** The backend name of a topic (of a topic to be, by the routes). */
  backendOf(name: string): string {
    const t = this.#broker.topics.get(name);
    return t === undefined ? this.#routes.match(name).backend : (t.backend ?? 'local');
  }

  /**
   * The remote topic a send goes to, created on its route's backend when new (autoCreateTopics);
   * undefined when the send is local (the broker creates local topics itself).
   *
   * @throws MqgateError `MQ_ERR_TOPIC_NOT_FOUND`, `MQ_ERR_TOPIC_PERMISSION`
   */
  async forSend(name: string): Promise<RemoteTopic | undefined> {
    const t = this.#broker.topics.get(name);
    if (t === undefined) {
      const backend = this.#routes.match(name).backend;
      if (backend === 'local') return undefined;
      if (!this.#autoCreate)
        throw new MqgateError(
          'MQ_ERR_TOPIC_NOT_FOUND',
          `"${name}"; create it first (autoCreateTopics is off)`,
        );
      await this.upsert(name, { backend });
    } else if (t.perm === 'R')
      throw new MqgateError('MQ_ERR_TOPIC_PERMISSION', `topic "${name}" is read-only`);
    return this.remote(name);
  }

  /**
   * Creates or changes a topic. On another backend the broker makes the topic (its queues)
   * first; a change of backend is refused once the topic has messages.
   *
   * @throws MqgateError `MQ_ERR_BACKEND_UNKNOWN`, `MQ_ERR_BACKEND_FIXED`, the registry's errors
   */
  async upsert(name: string, update: TopicUpdate = {}): Promise<TopicConfig> {
    const old = this.#broker.topics.get(name);
    const backend =
      update.backend ?? old?.backend ?? (old === undefined ? this.#routes.match(name).backend : 'local');
    const b = this.#backends.require(backend);
    if (old !== undefined && (old.backend ?? 'local') !== backend && (await this.#hasMessages(old)))
      throw new MqgateError(
        'MQ_ERR_BACKEND_FIXED',
        `topic "${name}" has messages on "${old.backend ?? 'local'}"; move it with mqgate migrate`,
        { details: { topic: name, backend: old.backend ?? 'local', asked: backend } },
      );
    if (!b.local)
      await b.adapter.ensureTopic(
        name,
        update.queues ?? old?.queues ?? this.#broker.options.defaultTopicQueues,
      );
    this.#remote.delete(name);
    return this.#broker.upsertTopic(name, { ...update, backend });
  }

  async #hasMessages(t: TopicConfig): Promise<boolean> {
    const b = this.#backends.require(t.backend ?? 'local');
    const seek = b.adapter.extras.seek;
    if (b.local || seek === undefined)
      return b.local
        ? (this.#broker.getTopic(t.name)?.queueOffsets ?? []).some((q) => q.maxOffset > 0)
        : true;
    return (await seek.queueOffsets(t.name)).some((q) => q.maxOffset > 0);
  }

  /** A topic with its queues' offsets (from its backend, where it can say), backend and capabilities. */
  async view(name: string): Promise<TopicView | undefined> {
    const t = this.#broker.getTopic(name);
    if (t === undefined) return undefined;
    const backend = t.backend ?? 'local';
    const b = this.#backends.require(backend);
    const remote = this.remote(name);
    const queueOffsets =
      remote === undefined ? t.queueOffsets : ((await b.adapter.extras.seek?.queueOffsets(name)) ?? []);
    const { features, how } = matrix(b.caps, remote?.emulate);
    return { ...t, queueOffsets, backend, capabilities: features, how };
  }

  list(): (TopicConfig & { backend: string })[] {
    return this.#broker.topics.list().map((t) => ({ ...t, backend: t.backend ?? 'local' }));
  }

  delete(name: string): boolean {
    this.#remote.delete(name);
    return this.#broker.deleteTopic(name);
  }
}
