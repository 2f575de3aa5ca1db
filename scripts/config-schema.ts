/** Writes config/mqgate.schema.json from src/config/schema.ts (`npm run config:schema`). */
import fs from 'node:fs';
import { ConfigSchema } from '../src/config/schema.js';

fs.writeFileSync('config/mqgate.schema.json', `${JSON.stringify(ConfigSchema, null, 2)}\n`);
console.log('wrote config/mqgate.schema.json');
