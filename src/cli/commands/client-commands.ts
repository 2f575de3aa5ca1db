/**
 * The client-side commands of `mqgate`: send, consume, topics, groups, dlq, backends. They
 * talk to a running gateway over REST (`--url`, default MQGATE_URL or the local default
 * address; `--api-key` or MQGATE_API_KEY). Human output by default, `--json` for machines.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { MqgateClient } from '../../client/index.js';
import type { Message, MessageInput } from '../../client/index.js';

/** A mistake in what the user typed, found after parsing: exit 2 with this one line. */
export class UsageError extends Error {}

interface Common {
  url?: string;
  apiKey?: string;
  json?: boolean;
}

function client(o: Common): MqgateClient {
  return new MqgateClient({ url: o.url, apiKey: o.apiKey });
}

function out(o: Common, value: unknown, human: () => void): void {
  if (o.json === true) process.stdout.write(`${JSON.stringify(value)}\n`);
  else human();
}

function int(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer ${min}..${max}`);
    return n;
  };
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

function withCommon(c: Command): Command {
  return c
    .addOption(new Option('--url <url>', 'gateway URL (default: MQGATE_URL or http://127.0.0.1:8080)'))
    .addOption(new Option('--api-key <key>', 'API key (default: MQGATE_API_KEY)'))
    .option('--json', 'machine-readable output (one JSON document per line)');
}

function bodyText(m: Message): string {
  if (m.bodyBase64 !== undefined) return `base64:${m.bodyBase64}`;
  return typeof m.body === 'string' ? m.body : JSON.stringify(m.body);
}

function readStdin(): string {
  return fs.readFileSync(0, 'utf8');
}

export function registerClientCommands(program: Command): void {
  withCommon(
    program
      .command('send')
      .description('send one message (BODY, or - / nothing to read it from stdin)')
      .argument('<topic>', 'topic')
      .argument('[body]', 'message body text; - reads stdin')
      .option('--tag <tag>', 'the message tag')
      .option('--key <key>', 'a key (repeatable)', collect)
      .option('--property <name=value>', 'a property (repeatable)', collect)
      .option('--sharding-key <key>', 'ordered: same key, same queue')
      .option('--delay-level <n>', 'deliver after delay level n', int('--delay-level', 1, 1000))
      .option('--deliver-at <time>', 'deliver at a time (ISO-8601 or ms since the epoch)')
      .option('--json-body', 'parse BODY as JSON (it comes back as the same JSON value)'),
  ).action(
    async (
      topic: string,
      body: string | undefined,
      o: Common & {
        tag?: string;
        key?: string[];
        property?: string[];
        shardingKey?: string;
        delayLevel?: number;
        deliverAt?: string;
        jsonBody?: boolean;
      },
    ) => {
      const text = body === undefined || body === '-' ? readStdin() : body;
      let value: unknown = text;
      if (o.jsonBody === true) {
        try {
          value = JSON.parse(text);
        } catch (e) {
          throw new UsageError(`--json-body: the body is not JSON (${(e as Error).message})`);
        }
      }
      const m: MessageInput = { body: value };
      if (o.tag !== undefined) m.tag = o.tag;
      if (o.key !== undefined) m.keys = o.key;
      if (o.property !== undefined) {
        m.properties = {};
        for (const p of o.property) {
          const i = p.indexOf('=');
          if (i <= 0) throw new UsageError(`--property ${p}: expected name=value`);
          m.properties[p.slice(0, i)] = p.slice(i + 1);
        }
      }
      if (o.shardingKey !== undefined) m.shardingKey = o.shardingKey;
      if (o.delayLevel !== undefined) m.delayLevel = o.delayLevel;
      if (o.deliverAt !== undefined)
        m.deliverAt = /^\d+$/.test(o.deliverAt) ? Number(o.deliverAt) : o.deliverAt;
      const r = await client(o).send(topic, m);
      out(o, r, () =>
        console.log(`${r.status} ${r.msgId} ${r.topic} queue ${r.queueId} offset ${r.queueOffset}`),
      );
    },
  );

  withCommon(
    program
      .command('consume')
      .description('receive messages as GROUP from TOPIC (POP, long polling), print and ack each')
      .argument('<group>', 'consumer group')
      .argument('<topic>', 'topic')
      .option('--filter <expr>', 'tag expression (TagA || TagB) or SQL92 with --sql')
      .option('--sql', 'the filter is SQL92')
      .option('--count <n>', 'stop after n messages (default: run until interrupted)', int('--count', 1))
      .option('--wait <seconds>', 'long-poll wait per receive', int('--wait', 0, 30), 20)
      .option('--no-ack', 'do not ack (messages come back after their invisible time)'),
  ).action(
    async (
      group: string,
      topic: string,
      o: Common & { filter?: string; sql?: boolean; count?: number; wait: number; ack: boolean },
    ) => {
      const c = client(o);
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let seen = 0;
      try {
        while (!stop.signal.aborted && (o.count === undefined || seen < o.count)) {
          const want = Math.min(32, o.count === undefined ? 32 : o.count - seen);
          let got: Message[];
          try {
            got = (
              await c.receive(
                group,
                {
                  topic,
                  maxMessages: want,
                  waitSeconds: o.wait,
                  ...(o.filter === undefined
                    ? {}
                    : { filter: { type: o.sql === true ? 'SQL92' : 'TAG', expression: o.filter } }),
                },
                stop.signal,
              )
            ).messages;
          } catch (e) {
            if (stop.signal.aborted) break;
            throw e;
          }
          for (const m of got) {
            seen++;
            out(o, m, () =>
              console.log(
                `${m.topic} q${m.queueId}@${m.queueOffset} ${m.msgId}${m.tag === undefined ? '' : ` tag=${m.tag}`} attempt=${m.deliveryAttempt ?? 1}: ${bodyText(m)}`,
              ),
            );
          }
          if (o.ack && got.length > 0)
            await c.ack(
              group,
              topic,
              got.map((m) => m.receiptHandle as string),
            );
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    },
  );

  withCommon(program.command('topics').description('list topics')).action(async (o: Common) => {
    const r = await client(o).listTopics();
    out(o, r, () => {
      for (const t of r.topics)
        console.log(`${t.name}\tqueues=${t.queues}\tperm=${t.perm}\tbackend=${t.backend}`);
    });
  });

  withCommon(program.command('groups').description('list consumer groups')).action(async (o: Common) => {
    const r = await client(o).listGroups();
    out(o, r, () => {
      for (const g of r.groups)
        console.log(
          `${g.name}\t${g.consumeMode}${g.orderly ? '\torderly' : ''}\tmaxReconsumeTimes=${g.maxReconsumeTimes}`,
        );
    });
  });

  withCommon(
    program
      .command('dlq')
      .description("list a group's dead-letter queue, or resend one message from it")
      .argument('<group>', 'consumer group')
      .option('--resend <msgId>', 'send this dead letter back to its topic')
      .option('--max <n>', 'messages to list', int('--max', 1, 1024), 32),
  ).action(async (group: string, o: Common & { resend?: string; max: number }) => {
    const c = client(o);
    if (o.resend !== undefined) {
      const r = await c.resendDeadLetter(group, o.resend);
      out(o, r, () =>
        console.log(`${r.status} ${r.msgId} ${r.topic} queue ${r.queueId} offset ${r.queueOffset}`),
      );
      return;
    }
    const r = await c.deadLetters(group, { maxMessages: o.max });
    out(o, r, () => {
      for (const m of r.messages)
        console.log(
          `${m.msgId} from ${m.properties.DLQ_ORIGIN_TOPIC ?? m.topic} attempts=${m.reconsumeTimes}: ${bodyText(m)}`,
        );
    });
  });

  withCommon(program.command('backends').description('backends and how each provides every feature')).action(
    async (o: Common) => {
      const r = await client(o).backends();
      out(o, r, () => {
        for (const b of r.backends) {
          const tail = b.lastError === undefined ? '' : ` (${b.lastError})`;
          const waiting = (b.backlog?.messages ?? 0) > 0 ? `\tbacklog ${b.backlog.messages}` : '';
          console.log(`${b.name}\t${b.type}\t${b.status}${b.default ? '\tdefault' : ''}${waiting}${tail}`);
          for (const [f, support] of Object.entries(b.features))
            console.log(`  ${f}: ${support} — ${b.how[f] ?? ''}`);
        }
      });
    },
  );
}
