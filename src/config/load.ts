/**
 * Loading the configuration: the YAML file (or none: every default), then `MQGATE_*`
 * environment variables, then command-line flags, each layer over the one before; the result
 * is validated against {@link ConfigSchema}, with defaults filled in. A bad key or value is a
 * `MQ_ERR_CONFIG_INVALID` that names its path, where it came from and what was expected.
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
}

export interface LoadedConfig {
  readonly config: Config;
  /** The file read, if any. */
  readonly file: string | undefined;
}

const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: false, coerceTypes: false });
const validate = ajv.compile<Config>(ConfigSchema);

/** The packaged default file (`config/mqgate.yaml` beside `package.json`). */
export const PACKAGED_CONFIG = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  // src/config -> repo root, or dist/src/config -> package root
  fileURLToPath(import.meta.url).includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..',
  'config/mqgate.yaml',
);

export function loadConfig(o: LoadConfigOptions = {}): LoadedConfig {
  const file =
    o.file ?? (fs.existsSync('config/mqgate.yaml') ? path.resolve('config/mqgate.yaml') : undefined);
  let base: ConfigLayer = {};
  if (file !== undefined) base = readYaml(file);
  const fromEnv = envLayer(o.env ?? process.env);
  const merged = merge(merge(base, fromEnv), o.overrides ?? {});
  return { config: validateConfig(merged, file ?? 'defaults'), file };
}

/** Validates a whole configuration object (defaults are filled in, in place). */
export function validateConfig(value: unknown, source = 'config'): Config {
  const copy = structuredClone(value ?? {});
  if (!validate(copy)) throw configError(validate.errors ?? [], source);
  return copy;
}

function readYaml(file: string): ConfigLayer {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new MqgateError('MQ_ERR_CONFIG_INVALID', `cannot read ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new MqgateError('MQ_ERR_CONFIG_INVALID', `${file} is not valid YAML: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new MqgateError(
      'MQ_ERR_CONFIG_INVALID',
      `${file} must hold a mapping of sections (server, store, ...)`,
    );
  return doc as ConfigLayer;
}

/** `serverPort` -> `SERVER_PORT`. */
function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  anyOf?: SchemaNode[];
  const?: unknown;
}

/**
 * `MQGATE_<SECTION>_<KEY>` for every leaf of the schema, e.g. `MQGATE_SERVER_PORT=9000`,
 * `MQGATE_STORE_FLUSH_DISK_TYPE=SYNC_FLUSH`; arrays and maps (auth.keys) as JSON.
 */
function envLayer(env: NodeJS.ProcessEnv): ConfigLayer {
  const out: ConfigLayer = {};
  const sections = (ConfigSchema as unknown as SchemaNode).properties ?? {};
  for (const [sectionName, sectionSchema] of Object.entries(sections)) {
    for (const [key, leaf] of Object.entries(sectionSchema.properties ?? {})) {
      const name = `MQGATE_${snake(sectionName)}_${snake(key)}`;
      const raw = env[name];
      if (raw === undefined) continue;
      const section = (out[sectionName] ??= {}) as ConfigLayer;
      section[key] = parseEnvValue(name, raw, leaf);
    }
  }
  return out;
}

function parseEnvValue(name: string, raw: string, leaf: SchemaNode): unknown {
  const types = new Set<string>();
  const collect = (n: SchemaNode): void => {
    if (n.type !== undefined) types.add(n.type);
    for (const a of n.anyOf ?? []) collect(a);
    if (n.const !== undefined) types.add(typeof n.const);
  };
  collect(leaf);
  if (types.has('array') || types.has('object')) {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      throw new MqgateError('MQ_ERR_CONFIG_INVALID', `${name} must be JSON`);
    }
  }
  if ((types.has('integer') || types.has('number')) && /^-?\d+(\.\d+)?$/.test(raw.trim())) return Number(raw);
  if (types.has('boolean') && (raw === 'true' || raw === 'false')) return raw === 'true';
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

function configError(errors: ErrorObject[], source: string): MqgateError {
  const lines = errors.map((e) => {
    const at = e.instancePath.replace(/^\//, '').replaceAll('/', '.');
    if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      return `${at === '' ? '' : `${at}.`}${extra}: unknown key`;
    }
    return `${at === '' ? '(root)' : at}: ${e.message ?? e.keyword}${
      e.keyword === 'enum' || e.keyword === 'anyOf' ? '' : ''
    }`;
  });
  const unique = [...new Set(lines)];
  return new MqgateError('MQ_ERR_CONFIG_INVALID', `${source}: ${unique.join('; ')}`, {
    details: errors.map((e) => ({ path: e.instancePath, message: e.message, params: e.params })),
  });
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
  };
}
