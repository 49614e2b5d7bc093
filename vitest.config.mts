import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The native addon's thread pool and OpenBLAS threads are process-wide;
    // forks keep each test file in its own process.
    pool: 'forks',
  },
});
