/**
 * Runs the Dockerfile's stages on the host, as Docker would run them, for machines without a
 * Docker engine: each stage gets a root folder that stands for `/`; WORKDIR, ENV, COPY (from
 * the context or an earlier stage) and RUN act inside it; then the last stage's ENTRYPOINT
 * and CMD start the server as its USER (when this runs as root), its HEALTHCHECK must pass
 * and SIGTERM must end it with 0. What it cannot show: the base image's own files (the host's
 * node and sh stand in for the image's).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** The Dockerfile as instructions: comments dropped, continued lines joined. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = pending + line;
    pending = '';
    const m = /^(\S+)\s*(.*)$/.exec(whole);
    if (m !== null) out.push({ op: (m[1] as string).toUpperCase(), args: m[2] as string });
  }
  return out;
}

class Stage {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'mqgate-stage-'));
  readonly env: Record<string, string> = {};
  workdir = '/';
  user: string | undefined;
  entrypoint: string[] = [];
  cmd: string[] = [];
  healthcheck: string[] = [];

  constructor(readonly name: string) {
    fs.chmodSync(this.root, 0o755); // the stage's USER must reach its files
  }

  /** A path in the image, on the host. */
  at(p: string): string {
    return path.join(this.root, path.posix.resolve(this.workdir, p));
  }

  /** Absolute paths in a shell command or an ENV value, moved under the stage root. */
  rebase(s: string): string {
    return s.replace(/(^|[\s=:])(\/[\w./-]+)/g, (_, pre: string, p: string) => pre + this.at(p));
  }

  hostEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: this.root,
      npm_config_update_notifier: 'false',
    };
    for (const [k, v] of Object.entries(this.env)) env[k] = this.rebase(v);
    return env;
  }
}

const ENV_PAIR = /(\w+)=("[^"]*"|\S+)/g;

function execForm(args: string): string[] {
  const parsed = JSON.parse(args) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string'))
    throw new Error(`expected the exec form ["...", ...], got ${args}`);
  return parsed;
}

const stages = new Map<string, Stage>();

function build(instructions: Instruction[], context: string): Stage {
  let stage: Stage | undefined;
  for (const { op, args } of instructions) {
    if (op === 'FROM') {
      const name = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? String(stages.size);
      stage = new Stage(name);
      stages.set(name, stage);
      console.log(`FROM ${args}  (stage root ${stage.root})`);
      continue;
    }
    if (stage === undefined) throw new Error(`${op} before FROM`);
    const s: Stage = stage;
    if (op === 'WORKDIR') {
      s.workdir = path.posix.resolve(s.workdir, args);
      fs.mkdirSync(s.at('.'), { recursive: true });
    } else if (op === 'ENV') {
      for (const m of args.matchAll(ENV_PAIR)) s.env[m[1] as string] = (m[2] as string).replace(/^"|"$/g, '');
    } else if (op === 'COPY') {
      const parts = args.split(/\s+/);
      const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
      const paths = parts.filter((p) => !p.startsWith('--'));
      const dest = paths.pop() as string;
      for (const src of paths) {
        const source = from === undefined ? path.join(context, src) : (stages.get(from) ?? s).at(src);
        const target = dest.endsWith('/') ? path.join(s.at(dest), path.basename(src)) : s.at(dest);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.cpSync(source, target, { recursive: true });
      }
    } else if (op === 'RUN') {
      console.log(`RUN ${args}`);
      execFileSync('sh', ['-c', s.rebase(args)], { cwd: s.at('.'), env: s.hostEnv(), stdio: 'inherit' });
    } else if (op === 'USER') s.user = args.trim();
    else if (op === 'ENTRYPOINT') s.entrypoint = execForm(args);
    else if (op === 'CMD') s.cmd = execForm(args);
    else if (op === 'HEALTHCHECK') s.healthcheck = execForm(args.replace(/^.*?\bCMD\s+/, ''));
    else if (op !== 'VOLUME' && op !== 'EXPOSE') throw new Error(`staged-image does not know ${op}`);
  }
  if (stage === undefined) throw new Error('no FROM in the Dockerfile');
  return stage;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

async function main(): Promise<void> {
  const context = process.cwd();
  const image = build(parseDockerfile(fs.readFileSync('Dockerfile', 'utf8')), context);
  if (image.entrypoint.length === 0 || image.healthcheck.length === 0)
    throw new Error('the last stage needs ENTRYPOINT and HEALTHCHECK');
  // as `docker run -e MQGATE_SERVER_INSECURE=true -p 127.0.0.1:<free>:<port>` would
  const port = await freePort();
  const env = { ...image.hostEnv(), MQGATE_SERVER_INSECURE: 'true', MQGATE_SERVER_PORT: String(port) };
  const [uid, gid] = (image.user ?? '').split(':').map(Number);
  const asUser =
    process.getuid?.() === 0 && uid !== undefined && !Number.isNaN(uid) ? { uid, gid: gid ?? uid } : {};
  const [cmd, ...args] = [...image.entrypoint, ...image.cmd] as [string, ...string[]];
  console.log(`start ${[cmd, ...args].join(' ')} as ${image.user ?? 'this user'}, port ${port}`);
  const server = spawn(cmd, args, { cwd: image.at('.'), env, stdio: 'inherit', ...asUser });
  const exited = new Promise<number | null>((r) => server.once('exit', (code) => r(code)));
  const [hc, ...hcArgs] = image.healthcheck as [string, ...string[]];
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`the server exited with ${server.exitCode} before healthy`);
    if (spawnSync(hc, hcArgs, { cwd: image.at('.'), env, ...asUser }).status === 0) break;
    if (Date.now() > deadline) throw new Error('the HEALTHCHECK did not pass within 30 s');
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log('HEALTHCHECK passed');
  server.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) throw new Error(`SIGTERM ended the server with ${code}, expected 0`);
  console.log('stopped with 0 on SIGTERM');
}

main().then(
  () => {
    for (const s of stages.values()) fs.rmSync(s.root, { recursive: true, force: true });
  },
  (e: unknown) => {
    console.error(`staged-image: ${e instanceof Error ? e.message : String(e)} (stages left for a look)`);
    process.exit(1);
  },
);
