import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const BROKER_CLIENTS = ['amqplib', 'kafkajs', 'rocketmq-client-nodejs'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.state/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error'],
    },
  },
  {
    files: ['bench/**', 'src/cli/**', 'scripts/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
  // The rule of the layout (ARCHITECTURE.md): only adapters/X/ imports a broker client, and
  // the rest of the code sees adapters through adapters/spi.ts and the factory adapters/index.ts.
  {
    files: ['src/**', 'adapters/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: BROKER_CLIENTS.map((name) => ({
            name,
            message: 'broker clients belong in adapters/<name>/',
          })),
          patterns: [
            {
              group: ['**/adapters/*/**', '!**/adapters/spi.js', '!**/adapters/index.js'],
              message: 'see adapters through adapters/spi.ts or adapters/index.ts',
            },
          ],
        },
      ],
    },
  },
  {
    // an adapter's own folder, and the factory that wires the adapters up
    files: ['adapters/**'],
    ignores: ['adapters/spi.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: BROKER_CLIENTS.map((name) => ({
            name,
            message: 'broker clients belong in adapters/<name>/',
          })),
        },
      ],
    },
  },
  ...Object.entries({ rabbitmq: 'amqplib', kafka: 'kafkajs', rocketmq: 'rocketmq-client-nodejs' }).map(
    ([dir, client]) => ({
      files: [`adapters/${dir}/**`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            paths: BROKER_CLIENTS.filter((c) => c !== client).map((name) => ({
              name,
              message: `adapters/${dir}/ uses ${client} only`,
            })),
          },
        ],
      },
    }),
  ),
);
