import { defineConfig } from 'vitest/config';

/**
 * `npm run test:resilience`: crash durability and load (issue 4, items 5 and 6). Not part of `npm test`. The stack
 * under test runs in child processes; the files run one after the other so a crash loop never competes with the
 * load measurement for the machine's cores.
 */
export default defineConfig({
  test: {
    include: ['test/resilience/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
