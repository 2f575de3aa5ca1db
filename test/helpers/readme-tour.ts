/**
 * The README's "A five-minute tour" run as written: its shell block split into commands
 * (continued lines and a for..done loop kept whole), each run by bash in order. The tour's
 * placeholders (`<from receive>`, `<...>`, `<msgId>`, `<transactionId>`) are what a reader
 * would paste: the value of that name in the output of the command before.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The commands of the tour's shell block, comments and blank lines left out. */
export function tourCommands(readme: string): string[] {
  const from = readme.indexOf('## A five-minute tour');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(from))?.[1];
  if (from < 0 || block === undefined) throw new Error('README.md has no "A five-minute tour" shell block');
  const commands: string[] = [];
  let current = '';
  let loops = 0;
  for (const line of block.split('\n')) {
    const t = line.trim();
    if (current === '' && (t === '' || t.startsWith('#'))) continue;
    current += current === '' ? line : `\n${line}`;
    if (/^(for|while)\b/.test(t)) loops++;
    if (/^done\b/.test(t)) loops--;
    if (t.endsWith('\\') || loops > 0) continue;
    commands.push(current);
    current = '';
  }
  return commands;
}

export interface TourStep {
  readonly command: string;
  readonly output: string;
}

/** Runs the tour; answers each command with its output. Background commands are ended after. */
export async function runTour(readme = fs.readFileSync('README.md', 'utf8')): Promise<TourStep[]> {
  const steps: TourStep[] = [];
  const background: ChildProcess[] = [];
  const last: Record<string, string> = {};
  let prelude = '';
  try {
    for (const written of tourCommands(readme)) {
      const command = written
        .replaceAll('<from receive>', last.receiptHandle ?? '')
        .replaceAll('<...>', last.receiptHandle ?? '')
        .replaceAll('<msgId>', last.dlqMsgId ?? '')
        .replaceAll('<transactionId>', last.transactionId ?? '');
      if (/^\w+=/.test(command)) {
        prelude += `${command}\n`;
        continue;
      }
      if (command.trimEnd().endsWith('&')) {
        const child = spawn('bash', ['-c', prelude + command.trimEnd().slice(0, -1)], { stdio: 'ignore' });
        background.push(child);
        await new Promise((r) => setTimeout(r, 500)); // as a reader would: it starts before the next line
        continue;
      }
      const { stdout } = await run('bash', ['-c', prelude + command], { timeout: 30_000 });
      steps.push({ command: written, output: stdout });
      const handle = /"receiptHandle":"([^"]+)"/.exec(stdout)?.[1];
      if (handle !== undefined) last.receiptHandle = handle;
      const tx = /"transactionId":"([^"]+)"/.exec(stdout)?.[1];
      if (tx !== undefined) last.transactionId = tx;
      const dlq = /\/dlq(\s|$)/.test(command) ? /"msgId":"([^"]+)"/.exec(stdout)?.[1] : undefined;
      if (dlq !== undefined) last.dlqMsgId = dlq;
    }
  } finally {
    for (const child of background) child.kill();
  }
  return steps;
}
