import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVE_NODE_FLAGS, missingServeFlags } from '../../src/cli/node-flags.js';

describe('cli', () => {
  it('node flags - npm start and the benchmark servers run node with the serve flags', () => {
    const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    for (const f of SERVE_NODE_FLAGS) expect(pkg.scripts.start).toContain(`node ${f}`);
    expect(fs.readFileSync('bench/bench-server.ts', 'utf8')).toContain('...SERVE_NODE_FLAGS');
    // bench:backends keeps its amqplib baseline in the bench process itself
    for (const f of SERVE_NODE_FLAGS) expect(pkg.scripts['bench:backends']).toContain(`node ${f}`);
  });

  it('node flags - missing ones are found in argv and NODE_OPTIONS, either spelling', () => {
    expect(missingServeFlags([], '')).toEqual([...SERVE_NODE_FLAGS]);
    expect(missingServeFlags([...SERVE_NODE_FLAGS], '')).toEqual([]);
    expect(missingServeFlags([], ` ${SERVE_NODE_FLAGS.join(' ')} --inspect`)).toEqual([]);
    expect(
      missingServeFlags(
        SERVE_NODE_FLAGS.map((f) => '--' + f.slice(2).replace(/-/g, '_')), // --max_semi_space_size=32
        '',
      ),
    ).toEqual([]);
  });
});
