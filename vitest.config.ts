import { defineConfig } from 'vitest/config';

// One config for every suite. Files run in separate workers (forks), each with its own
// database (cloned from a migrated template under PostgreSQL, a fresh PGlite otherwise).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default'],
  },
});
