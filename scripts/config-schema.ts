/**
 * Writes config/mqgate.schema.json from src/config/schema.ts (`npm run config:schema`),
 * formatted by prettier with the repository's settings. test/unit/config-docs.test.ts fails
 * when the file is stale.
 */
import fs from 'node:fs';
import { format, resolveConfig } from 'prettier';
import { ConfigSchema } from '../src/config/schema.js';

const file = 'config/mqgate.schema.json';
const options = (await resolveConfig(file)) ?? {};
fs.writeFileSync(file, await format(JSON.stringify(ConfigSchema, null, 2), { ...options, parser: 'json' }));
console.log(`wrote ${file}`);
