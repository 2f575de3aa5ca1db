/**
 * Validates a compose file as `docker compose config` would, without a Docker engine: the
 * Compose Specification's JSON schema (draft 2020-12), then the references between parts
 * that a schema cannot check. Usage: check-compose.ts COMPOSE_FILE SCHEMA_FILE
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';

interface Service {
  build?: string | { context?: string; dockerfile?: string };
  depends_on?: string[] | Record<string, unknown>;
  volumes?: (string | { type?: string; source?: string })[];
}
interface Compose {
  services?: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const [file, schemaFile] = process.argv.slice(2);
if (file === undefined || schemaFile === undefined) {
  console.error('usage: check-compose.ts COMPOSE_FILE SCHEMA_FILE');
  process.exit(2);
}
const doc = parse(fs.readFileSync(file, 'utf8')) as Compose;
const ajv = new Ajv2020({ allErrors: true, strict: false });
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaFile, 'utf8')) as object);
const problems: string[] = [];
if (!validate(doc))
  for (const e of validate.errors ?? []) problems.push(`${e.instancePath || '/'} ${e.message ?? ''}`);

const services = doc.services ?? {};
const dir = path.dirname(file);
for (const [name, s] of Object.entries(services)) {
  const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
  for (const d of deps) if (!(d in services)) problems.push(`services.${name}.depends_on: no service ${d}`);
  for (const v of s.volumes ?? []) {
    const source = typeof v === 'string' ? v.split(':')[0] : v.type === 'volume' ? v.source : undefined;
    if (source === undefined || source === '') continue;
    if (/^[./~]/.test(source)) {
      if (!fs.existsSync(path.resolve(dir, source)))
        problems.push(`services.${name}.volumes: ${source} is missing`);
    } else if (!(source in (doc.volumes ?? {})))
      problems.push(`services.${name}.volumes: volume ${source} is not declared under volumes`);
  }
  if (s.build !== undefined) {
    const b = typeof s.build === 'string' ? { context: s.build } : s.build;
    const dockerfile = path.resolve(dir, b.context ?? '.', b.dockerfile ?? 'Dockerfile');
    if (!fs.existsSync(dockerfile)) problems.push(`services.${name}.build: ${dockerfile} is missing`);
  }
}
if (problems.length > 0) {
  for (const p of problems) console.error(`${file}: ${p}`);
  process.exit(1);
}
console.log(`${file}: valid (${Object.keys(services).length} services)`);
