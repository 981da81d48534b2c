import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests, and integration tests that open real sockets and run real clients.
export default defineConfig({
  test: {
    reporters: ['default', './test/reporters/slowest-files.ts'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
    ],
  },
});
