// Vitest configuration for the browser tests only (`npm run test:e2e` runs them through test/run-e2e.mjs, which
// starts the server). The root configuration does not include test/e2e, so `npm test` never runs them.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
