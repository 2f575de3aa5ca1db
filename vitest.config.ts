import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure logic, no brokers) and `integration` (real brokers, found or
// started by test/setup/brokers.global.ts). `npm run test:unit` runs the first only.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // the JSON report lets .ci/run print one plain closing line (N passed, N failed)
    reporters: ['default', 'json'],
    outputFile: { json: '.state/vitest-report.json' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: [
            'test/integration/**/*.test.ts',
            'test/conformance/**/*.test.ts',
            'test/parity/**/*.test.ts',
          ],
          exclude: ['test/integration/api/**'],
          globalSetup: ['test/setup/brokers.global.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // the brokers are shared, CPU is scarce (2 cores): one test file at a time
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          // the gateway's own API over real sockets (in-process server, or the built CLI for
          // test/e2e): no broker needed
          name: 'api',
          include: ['test/integration/api/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
