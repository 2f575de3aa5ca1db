/**
 * Parity scenario on filters: one message set, many tag and SQL92 subscriptions, each a group
 * of its own; what each gets (the messages' indices), or the error a bad expression is.
 */
import { MqgateClientError } from '../../src/client/index.js';
import type { Harness } from '../conformance/harness.js';
import { receiveUntil } from '../conformance/receive.js';
import type { Json, Outcome, Scenario } from './scenario.js';
import { bodyIndex, sortedNumbers } from './scenario.js';

const MESSAGES = 24;

/**
 * Message i: tag A, B or C by i % 3 (every 8th untagged); `region` missing when i % 4 == 0
 * (NULL), else eu or us; `amount` = i; `code` is i as a zero-padded string (for string vs
 * number comparisons); `vip` only on every 5th.
 */
function message(i: number): { body: string; tag?: string; properties: Record<string, string> } {
  return {
    body: `f${i}`,
    ...(i % 8 === 7 ? {} : { tag: ['A', 'B', 'C'][i % 3] ?? 'A' }),
    properties: {
      ...(i % 4 === 0 ? {} : { region: i % 2 === 0 ? 'eu' : 'us' }),
      amount: String(i),
      code: String(i).padStart(3, '0'),
      ...(i % 5 === 0 ? { vip: 'true' } : {}),
    },
  };
}

const TAGS = ['*', 'A', 'A || C', 'A||B', 'D'];

const SQL = [
  // a missing property is NULL: a comparison with it is unknown, and NOT unknown is unknown
  "region = 'eu'",
  "region <> 'eu'",
  "NOT (region = 'eu')",
  'region IS NULL',
  'region IS NOT NULL',
  "region IN ('eu', 'apac')",
  "region NOT IN ('eu')",
  'missing > 1 OR amount = 1',
  "vip IS NULL AND region = 'us'",
  // numbers: properties are strings, compared as numbers against a number
  'amount BETWEEN 3 AND 10',
  'amount NOT BETWEEN 3 AND 20',
  'amount > 20',
  'amount >= 7.5',
  // string vs number: a string literal compares as a string, a number as a number
  'amount = 5',
  "amount = '5'",
  "code = '005'",
  'code = 5',
  "code > '010'",
  "vip = 'true'",
  'vip = TRUE',
  "region = 'eu' OR amount < 2",
  'TRUE',
  // a bad expression is refused
  'amount BETWEEN 3',
];

/** Groups are made before the messages are sent (a queue broker's group sees what comes after). */
async function filters(h: Harness): Promise<Outcome> {
  const topic = await h.topic('filter');
  const groups = await Promise.all(
    [
      ...TAGS.map((e) => ({ type: 'TAG' as const, expression: e })),
      ...SQL.map((e) => ({ type: 'SQL92' as const, expression: e })),
    ].map(async (filter) => ({ filter, group: await h.group(`filter-${filter.type}`, {}, topic) })),
  );
  for (let i = 0; i < MESSAGES; i++) await h.client.send(topic, message(i));
  const results = await Promise.all(
    groups.map(async ({ filter, group }): Promise<[string, Json]> => {
      try {
        const got = await receiveUntil(h.client, group, topic, MESSAGES, { filter, stopWhenIdleMs: 1200 });
        return [`${filter.type} ${filter.expression}`, sortedNumbers(got.map((m) => bodyIndex(m.body)))];
      } catch (e) {
        if (!(e instanceof MqgateClientError)) throw e;
        // a bad expression: its refusal is the outcome
        return [`${filter.type} ${filter.expression}`, { refused: e.status, code: e.code }];
      }
    }),
  );
  return Object.fromEntries(results);
}

export const filterScenarios: Scenario[] = [
  {
    name: 'filters',
    what: 'tag and SQL92 subscriptions on one message set (NULL, BETWEEN, IN, string vs number)',
    needs: [],
    run: filters,
  },
];
