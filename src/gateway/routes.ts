import type { RouteConfig } from '../config/schema.js';

/** A configured route, compiled: which topics, where, what the core supplies there anyway. */
export interface Route {
  readonly backend: string;
  readonly emulate: ReadonlySet<string>;
  /** Sends wait in the gateway's log while the backend is down (store-and-forward). */
  readonly storeAndForward: boolean;
  /** A commit writes the message and its mark in one broker transaction. */
  readonly transactionalCommit: boolean;
}

/** The on/off settings of a route. */
export type RouteFlag = 'storeAndForward' | 'transactionalCommit';

/**
 * The routes of the configuration: topic name or pattern (`*` for any characters) to a backend,
 * first match wins; a topic no route names goes to the default backend. A topic keeps the
 * backend it was created on (the topic registry remembers it), whatever the routes say later.
 */
export class Routes {
  readonly #routes: { readonly test: (topic: string) => boolean; readonly route: Route }[];
  readonly #fallback: Route;

  constructor(routes: readonly RouteConfig[], defaultBackend: string) {
    this.#routes = routes.map((r) => ({
      test: matcher(r.topics),
      route: {
        backend: r.backend,
        emulate: new Set(r.emulate),
        storeAndForward: r.storeAndForward,
        transactionalCommit: r.transactionalCommit,
      },
    }));
    const off = { storeAndForward: false, transactionalCommit: false };
    this.#fallback = { backend: defaultBackend, emulate: new Set(), ...off };
  }

  /** The route a topic's name matches. */
  match(topic: string): Route {
    for (const r of this.#routes) if (r.test(topic)) return r.route;
    return this.#fallback;
  }

  /** What the core supplies on a topic of `backend`: the matching route's list if it is that backend's. */
  emulateFor(topic: string, backend: string): ReadonlySet<string> {
    const r = this.match(topic);
    return r.backend === backend ? r.emulate : EMPTY;
  }

  /** A setting of a topic of `backend`: the matching route's if it is that backend's. */
  flagFor(topic: string, backend: string, flag: RouteFlag): boolean {
    const r = this.match(topic);
    return r.backend === backend && r[flag];
  }
}

const EMPTY: ReadonlySet<string> = new Set();

function matcher(pattern: string): (topic: string) => boolean {
  if (!pattern.includes('*')) return (t) => t === pattern;
  const re = new RegExp(`^${pattern.split('*').map(escape).join('.*')}$`);
  return (t) => re.test(t);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
