/**
 * Loading the configuration: the YAML file (or none: every default), then `MQGATE_*`
 * environment variables, then command-line flags, each layer over the one before; the result
 * is validated against {@link ConfigSchema}, with defaults filled in. A bad key or value is a
 * `MQ_ERR_CONFIG_INVALID` that names its path, what was expected and where it came from (the
 * file, the environment variable or the flag).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import type { ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { MqgateError } from '../errors.js';
import type { Config } from './schema.js';
import { ConfigSchema } from './schema.js';

export type ConfigLayer = Record<string, unknown>;

export interface LoadConfigOptions {
  /** A YAML file; when absent, `config/mqgate.yaml` of the working directory if there is one. */
  readonly file?: string | undefined;
  /** Environment to read `MQGATE_*` from. @defaultValue process.env */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** Values from flags, as nested objects (`{ server: { port: 9000 } }`); they win. */
  readonly overrides?: ConfigLayer | undefined;
  /** The flag that set a path (`'server.port'` -> `'--port'`), named in errors. */
  readonly overrideNames?: Readonly<Record<string, string>> | undefined;
}

export interface LoadedConfig {
  readonly config: Config;
  /** The file read, if any. */
  readonly file: string | undefined;
  /** Things worth a log line that are not errors (an `MQGATE_*` variable that sets nothing). */
  readonly warnings: readonly string[];
}

/** One source of settings, named in error messages. */
export interface NamedLayer {
  readonly layer: ConfigLayer;
  /** The name of the source that set `path` (dotted), e.g. the file, `MQGATE_SERVER_PORT`, `--port`. */
  readonly nameOf: (path: readonly string[]) => string;
}

const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: false, coerceTypes: false, verbose: true });
const validate = ajv.compile<Config>(ConfigSchema);

/** The packaged default file (`config/mqgate.yaml` beside `package.json`). */
export const PACKAGED_CONFIG = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  // src/config -> repo root, or dist/src/config -> package root
  fileURLToPath(import.meta.url).includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..',
  'config/mqgate.yaml',
);

/** Reads the file, the environment and the flags, and validates the result. */
export function loadConfig(o: LoadConfigOptions = {}): LoadedConfig {
  const file =
    o.file ?? (fs.existsSync('config/mqgate.yaml') ? path.resolve('config/mqgate.yaml') : undefined);
  const layers: NamedLayer[] = [];
  if (file !== undefined) layers.push({ layer: readYaml(file), nameOf: () => file });
  const env = envLayer(o.env ?? process.env);
  layers.push({ layer: env.layer, nameOf: envVarOf });
  const names = o.overrideNames ?? {};
  layers.push({
    layer: o.overrides ?? {},
    nameOf: (p) => names[p.slice(0, 2).join('.')] ?? 'a command-line flag',
  });
  return { config: validateLayers(layers), file, warnings: env.warnings };
}

/** Validates a whole configuration object (defaults are filled in, on a copy). */
export function validateConfig(value: unknown, source = 'config'): Config {
  return validateLayers([{ layer: (value ?? {}) as ConfigLayer, nameOf: () => source }]);
}

/**
 * Merges the layers (later ones win) and validates; every problem is named with the source
 * of the value at fault.
 */
export function validateLayers(layers: readonly NamedLayer[]): Config {
  const merged = layers.reduce<ConfigLayer>((acc, l) => merge(acc, l.layer), {});
  const copy = structuredClone(merged);
  const problems = validate(copy) ? semanticProblems(copy) : schemaProblems(validate.errors ?? []);
  if (problems.length === 0) return copy as Config;
  // the last layer that set the path; for a missing key, the one that set its object
  const sourceOf = (p: readonly string[]): string => {
    for (let n = p.length; n > 0; n--)
      for (let i = layers.length - 1; i >= 0; i--) {
        const l = layers[i] as NamedLayer;
        if (definedAt(l.layer, p.slice(0, n))) return l.nameOf(p);
      }
    return 'defaults';
  };
  const lines = [
    ...new Set(problems.map((x) => `${x.path.join('.') || '(root)'}: ${x.text} (from ${sourceOf(x.path)})`)),
  ];
  return failWith(lines, problems);
}

function failWith(lines: string[], problems: Problem[]): never {
  throw new MqgateError('MQ_ERR_CONFIG_INVALID', lines.join('; '), {
    details: problems.map((p) => ({ path: p.path.join('.'), message: p.text })),
  });
}

/** Whether a layer sets `p` or a prefix of it (a whole array or object). */
function definedAt(layer: ConfigLayer, p: readonly string[]): boolean {
  let node: unknown = layer;
  for (const k of p) {
    if (typeof node !== 'object' || node === null) return true;
    node = (node as Record<string, unknown>)[k];
    if (node === undefined) return false;
  }
  return true;
}

function readYaml(file: string): ConfigLayer {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new MqgateError('MQ_ERR_CONFIG_INVALID', `cannot read ${file}: ${firstLine(e)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new MqgateError('MQ_ERR_CONFIG_INVALID', `${file} is not valid YAML: ${firstLine(e)}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isPlainObject(doc))
    throw new MqgateError(
      'MQ_ERR_CONFIG_INVALID',
      `${file} must hold a mapping of sections (server, store, ...)`,
    );
  return doc;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}

/** `flushDiskType` -> `FLUSH_DISK_TYPE`. */
function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** The environment variable of a setting: `['server', 'port']` -> `MQGATE_SERVER_PORT`. */
export function envVarOf(p: readonly string[]): string {
  return `MQGATE_${snake(p[0] ?? '')}_${snake(p[1] ?? '')}`;
}

/** The parts of the JSON schema the loader and the docs read. */
export interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  const?: unknown;
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  pattern?: string;
  required?: string[];
}

/** The schema's sections and their settings. */
export function schemaSections(): [string, SchemaNode][] {
  return Object.entries((ConfigSchema as unknown as SchemaNode).properties ?? {});
}

/**
 * `MQGATE_<SECTION>_<KEY>` for every setting of the schema, e.g. `MQGATE_SERVER_PORT=9000`,
 * `MQGATE_STORE_FLUSH_DISK_TYPE=SYNC_FLUSH`; arrays and maps (auth.keys) as JSON. A variable
 * that starts like a section but names no setting is reported as a warning (other tools use
 * `MQGATE_*` too).
 */
export function envLayer(env: NodeJS.ProcessEnv): { layer: ConfigLayer; warnings: string[] } {
  const layer: ConfigLayer = {};
  const known = new Set<string>();
  const prefixes: string[] = [];
  for (const [sectionName, sectionSchema] of schemaSections()) {
    prefixes.push(`MQGATE_${snake(sectionName)}_`);
    for (const [key, leaf] of Object.entries(sectionSchema.properties ?? {})) {
      const name = envVarOf([sectionName, key]);
      known.add(name);
      const raw = env[name];
      if (raw === undefined) continue;
      const section = (layer[sectionName] ??= {}) as ConfigLayer;
      section[key] = parseEnvValue(name, raw, leaf);
    }
  }
  const warnings = Object.keys(env)
    .filter((n) => !known.has(n) && prefixes.some((p) => n.startsWith(p)))
    .map((n) => `${n} sets no configuration key (misspelt?); it is ignored`);
  return { layer, warnings };
}

function typesOf(n: SchemaNode, into = new Set<string>()): Set<string> {
  if (n.type !== undefined) into.add(n.type);
  if (n.const !== undefined) into.add(typeof n.const);
  for (const a of n.anyOf ?? []) typesOf(a, into);
  return into;
}

/** A variable's text as the schema wants it; what cannot be converted stays a string (and fails validation). */
function parseEnvValue(name: string, raw: string, leaf: SchemaNode): unknown {
  const types = typesOf(leaf);
  if (types.has('array') || types.has('object')) {
    try {
      return JSON.parse(raw) as unknown;
    } catch (e) {
      throw new MqgateError(
        'MQ_ERR_CONFIG_INVALID',
        `${name} must be JSON (${types.has('array') ? 'an array' : 'an object'}): ${firstLine(e)}`,
      );
    }
  }
  const t = raw.trim();
  if ((types.has('integer') || types.has('number')) && /^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (types.has('boolean') && (t === 'true' || t === 'false')) return t === 'true';
  return raw;
}

function isPlainObject(v: unknown): v is ConfigLayer {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of config layers: objects merge, anything else is replaced. */
export function merge(a: ConfigLayer, b: ConfigLayer): ConfigLayer {
  const out: ConfigLayer = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? merge(prev, v) : v;
  }
  return out;
}

interface Problem {
  readonly path: string[];
  readonly text: string;
}

/** `must be one of A, B` for a union of constants; `must be boolean or "auto"` for a mixed one. */
export function describeExpected(n: SchemaNode): string {
  const branches = n.anyOf ?? [n];
  if (branches.every((b) => b.const !== undefined))
    return `one of ${branches.map((b) => String(b.const)).join(', ')}`;
  return branches
    .map((b) => (b.const !== undefined ? JSON.stringify(b.const) : (b.type ?? 'a value')))
    .join(' or ');
}

function pathOf(e: ErrorObject): string[] {
  return e.instancePath === ''
    ? []
    : e.instancePath
        .slice(1)
        .split('/')
        .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** The value at fault, for the message; never for API keys (they are secrets). */
function got(p: readonly string[], value: unknown): string {
  if ((p[0] === 'auth' && p[1] === 'keys') || (p[0] === 'cluster' && p[1] === 'apiKey')) return '';
  if (value === undefined || (typeof value === 'object' && value !== null)) return '';
  const s = JSON.stringify(value);
  return `, got ${s.length > 60 ? `${s.slice(0, 57)}...` : s}`;
}

/** Turns ajv's errors into one line each; a union's per-branch errors become one "one of". */
function schemaProblems(errors: readonly ErrorObject[]): Problem[] {
  const unions = errors.filter((e) => e.keyword === 'anyOf').map((e) => `${e.schemaPath}/`);
  const out: Problem[] = [];
  for (const e of errors) {
    if (unions.some((u) => e.schemaPath.startsWith(u))) continue;
    const p = pathOf(e);
    switch (e.keyword) {
      case 'additionalProperties': {
        const extra = (e.params as { additionalProperty: string }).additionalProperty;
        const keys = Object.keys((e.parentSchema as SchemaNode | undefined)?.properties ?? {});
        out.push({
          path: [...p, extra],
          text: `unknown key${keys.length > 0 ? `; ${p.join('.') || 'the top level'} has ${keys.join(', ')}` : ''}`,
        });
        break;
      }
      case 'required':
        out.push({
          path: [...p, (e.params as { missingProperty: string }).missingProperty],
          text: 'is required',
        });
        break;
      case 'anyOf':
        out.push({
          path: p,
          text: `must be ${describeExpected(e.parentSchema as SchemaNode)}${got(p, e.data)}`,
        });
        break;
      default:
        out.push({ path: p, text: `${e.message ?? e.keyword}${got(p, e.data)}` });
    }
  }
  return out;
}

/** Rules JSON schema does not express. */
function semanticProblems(c: Config): Problem[] {
  const out: Problem[] = [];
  const names = new Set<string>();
  c.auth.keys.forEach((k, i) => {
    if ((k.key === undefined) === (k.keyHash === undefined))
      out.push({
        path: ['auth', 'keys', String(i)],
        text: `"${k.name}": give exactly one of key or keyHash`,
      });
    if (names.has(k.name))
      out.push({ path: ['auth', 'keys', String(i), 'name'], text: `"${k.name}" is used twice` });
    names.add(k.name);
  });
  const g = c.gateway;
  const known = (b: string): boolean => b === 'local' || Object.hasOwn(g.backends, b);
  if ('local' in g.backends)
    out.push({
      path: ['gateway', 'backends', 'local'],
      text: 'local is the embedded log, always there: pick another name',
    });
  if (!known(g.defaultBackend))
    out.push({
      path: ['gateway', 'defaultBackend'],
      text: `"${g.defaultBackend}" is not local or a name under gateway.backends`,
    });
  for (const [name, b] of Object.entries(g.backends))
    if (b.type === 'rabbitmq' && b.url === undefined)
      out.push({ path: ['gateway', 'backends', name, 'url'], text: 'a rabbitmq backend needs its AMQP url' });
    else if (b.type === 'kafka' && b.brokers === undefined)
      out.push({
        path: ['gateway', 'backends', name, 'brokers'],
        text: 'a kafka backend needs its bootstrap brokers (host:port, ...)',
      });
    else if (b.type === 'rocketmq')
      for (const field of ['endpoints', 'namesrv'] as const)
        if (b[field] === undefined)
          out.push({
            path: ['gateway', 'backends', name, field],
            text: `a rocketmq backend needs its ${field === 'endpoints' ? 'gRPC proxy' : 'name server'} (host:port)`,
          });
  g.routes.forEach((r, i) => {
    if (!known(r.backend))
      out.push({
        path: ['gateway', 'routes', String(i), 'backend'],
        text: `"${r.backend}" is not local or a name under gateway.backends`,
      });
    if (r.backend === 'local' && r.emulate.length > 0)
      out.push({
        path: ['gateway', 'routes', String(i), 'emulate'],
        text: 'local is the core itself: there is nothing to emulate',
      });
    if (r.backend === 'local' && r.storeAndForward)
      out.push({
        path: ['gateway', 'routes', String(i), 'storeAndForward'],
        text: "local is the gateway's own log: there is nothing to store and forward",
      });
    const type = r.backend === 'local' ? 'local' : g.backends[r.backend]?.type;
    if (r.transactionalCommit && type !== undefined && type !== 'kafka')
      out.push({
        path: ['gateway', 'routes', String(i), 'transactionalCommit'],
        text: `backend "${r.backend}" is ${type}: only kafka commits in broker transactions`,
      });
  });
  out.push(...clusterProblems(c.cluster));
  return out;
}

function clusterProblems(c: Config['cluster']): Problem[] {
  const out: Problem[] = [];
  if (c.instanceId === undefined && Object.keys(c.peers).length > 0)
    out.push({
      path: ['cluster', 'instanceId'],
      text: 'cluster.peers needs this instance named too: ids name their owner only when it is set',
    });
  for (const [name, url] of Object.entries(c.peers)) {
    let u: URL | undefined;
    try {
      u = new URL(url);
    } catch {
      u = undefined;
    }
    if (u === undefined || u.hostname === '' || u.search !== '' || u.hash !== '')
      out.push({
        path: ['cluster', 'peers', name],
        text: `"${url}" is not a base URL (http://host:port)`,
      });
  }
  return out;
}

/** A copy with secrets (API keys) replaced, for logs. */
export function redactConfig(c: Config): Config {
  return {
    ...c,
    auth: {
      ...c.auth,
      keys: c.auth.keys.map((k) => ({
        ...k,
        ...(k.key === undefined ? {} : { key: '[redacted]' }),
        ...(k.keyHash === undefined ? {} : { keyHash: '[redacted]' }),
      })),
    },
    gateway: {
      ...c.gateway,
      backends: Object.fromEntries(
        Object.entries(c.gateway.backends).map(([name, b]) => [
          name,
          b.url === undefined ? b : { ...b, url: redactUrl(b.url) },
        ]),
      ),
    },
    cluster: { ...c.cluster, ...(c.cluster.apiKey === undefined ? {} : { apiKey: '[redacted]' }) },
  };
}

/** A broker URL without its password. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = 'redacted';
    return u.toString();
  } catch {
    return '[redacted]';
  }
}
