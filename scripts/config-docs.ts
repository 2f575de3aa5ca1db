/**
 * Writes the README's "Configuration reference" (between `<!-- config:start -->` and
 * `<!-- config:end -->`) from src/config/schema.ts (`npm run config:docs`): a table per section
 * with each key, its environment variable, type, default and description, already formatted
 * by prettier with the repository's settings. test/unit/config-docs.test.ts fails when the
 * README is stale.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format, resolveConfig } from 'prettier';
import type { SchemaNode } from '../src/config/load.js';
import { describeExpected, envVarOf, schemaSections } from '../src/config/load.js';
import { ApiKeySchema, BackendSchema, RouteSchema } from '../src/config/schema.js';

export const START = '<!-- config:start -->';
export const END = '<!-- config:end -->';
export const README = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../README.md');

/** Markdown table cells: pipes escaped, no line breaks. */
function cell(s: string): string {
  return s.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function code(v: unknown): string {
  return `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;
}

function typeOf(n: SchemaNode): string {
  if (n.anyOf !== undefined) {
    const text = describeExpected(n);
    return n.anyOf.every((b) => b.const !== undefined)
      ? `one of ${n.anyOf.map((b) => code(b.const)).join(', ')}`
      : text.replaceAll(/"([^"]*)"/g, '`$1`');
  }
  if (n.type === 'integer' || n.type === 'number') {
    if (n.minimum !== undefined && n.maximum !== undefined) return `${n.type} ${n.minimum}..${n.maximum}`;
    if (n.minimum !== undefined) return `${n.type} ≥ ${n.minimum}`;
    return n.type;
  }
  if (n.type === 'array') return n.items?.anyOf === undefined ? 'list (below)' : `list of ${typeOf(n.items)}`;
  if (n.type === 'object' && n.patternProperties !== undefined) {
    const value = Object.values(n.patternProperties)[0];
    return `map: name → ${value === undefined ? 'value' : typeOf(value)}`;
  }
  return n.type ?? 'value';
}

function defaultOf(n: SchemaNode): string {
  return n.default === undefined ? '' : code(n.default);
}

/** The reference as markdown, before formatting. */
export function configReferenceMarkdown(): string {
  const out: string[] = [];
  for (const [section, s] of schemaSections()) {
    out.push(`### \`${section}\``, '', s.description ?? '', '');
    out.push(
      '| Key | Environment variable | Type | Default | Description |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const [key, leaf] of Object.entries(s.properties ?? {}))
      out.push(
        `| \`${section}.${key}\` | \`${envVarOf([section, key])}\` | ${cell(typeOf(leaf))} | ${cell(
          defaultOf(leaf),
        )} | ${cell(leaf.description ?? '')} |`,
      );
    out.push('');
    for (const [title, entry] of ENTRIES[section] ?? []) out.push(...fieldTable(title, entry));
  }
  return out.join('\n');
}

/** The entries of lists and maps, described field by field under their section. */
const ENTRIES: Record<string, [string, unknown][]> = {
  auth: [['Each entry of `auth.keys` (in `MQGATE_AUTH_KEYS` as a JSON array):', ApiKeySchema]],
  gateway: [
    ['Each backend under `gateway.backends` (in `MQGATE_GATEWAY_BACKENDS` as a JSON object):', BackendSchema],
    ['Each entry of `gateway.routes` (in `MQGATE_GATEWAY_ROUTES` as a JSON array):', RouteSchema],
  ],
};

function fieldTable(title: string, schema: unknown): string[] {
  const node = schema as SchemaNode;
  const out = [title, '', '| Field | Type | Default | Description |', '| --- | --- | --- | --- |'];
  for (const [field, leaf] of Object.entries(node.properties ?? {})) {
    const required = node.required?.includes(field) === true && leaf.default === undefined;
    out.push(
      `| \`${field}\` | ${cell(typeOf(leaf))} | ${required ? 'required' : cell(defaultOf(leaf))} | ${cell(
        leaf.description ?? '',
      )} |`,
    );
  }
  out.push('');
  return out;
}

/** The reference formatted by prettier with the repository's settings. */
export async function configReference(): Promise<string> {
  const options = (await resolveConfig(README)) ?? {};
  return format(configReferenceMarkdown(), { ...options, parser: 'markdown' });
}

/** The README with the reference replaced between the markers. */
export function withReference(readme: string, reference: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md lacks the markers ${START} ... ${END}`);
  return `${readme.slice(0, a + START.length)}\n\n${reference.trimEnd()}\n\n${readme.slice(b)}`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const before = fs.readFileSync(README, 'utf8');
  const after = withReference(before, await configReference());
  if (after !== before) fs.writeFileSync(README, after);
  console.log(
    after === before ? 'README.md is up to date' : 'wrote the configuration reference in README.md',
  );
}
