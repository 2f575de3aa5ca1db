/** Every parity scenario, one per item of issue 19's list, in the order they run. */
import { filterScenarios } from './filters.js';
import { identityScenarios } from './identity.js';
import { orderAndTransactionScenarios } from './order-and-transactions.js';
import type { Scenario } from './scenario.js';
import { timingScenarios } from './timing.js';

export const scenarios: readonly Scenario[] = [
  ...orderAndTransactionScenarios,
  ...timingScenarios,
  ...filterScenarios,
  ...identityScenarios,
];
