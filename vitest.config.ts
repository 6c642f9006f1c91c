import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // CLI tests spawn bin/cosim.js, which runs the compiled dist/ (npm test builds first).
    pool: 'forks',
  },
});
