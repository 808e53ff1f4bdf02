import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: process.env['KATIB_SLOW_TESTS'] ? ['test/**/*.slow.test.ts'] : ['test/**/*.test.ts'],
    exclude: process.env['KATIB_SLOW_TESTS'] ? [] : ['test/**/*.slow.test.ts', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
