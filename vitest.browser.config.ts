import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

// `npm run test:browser`: only the Chromium tests (they also run as part of `npm test`).
// Spread, not mergeConfig: mergeConfig would append to `include` instead of replacing it.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
