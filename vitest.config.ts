import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'core/**/*.test.ts',
      'test/**/*.test.ts',
      'device/**/*.test.ts',
      'state-machines/**/*.test.ts',
      'cli/**/*.test.ts',
      'fixtures/**/*.test.ts',
      'e2e/**/*.test.ts',
      'web/**/*.test.ts',
      'renderer/**/*.test.ts',
      'electron/**/*.test.ts',
    ],
    testTimeout: 30_000,
    // Set-up and clean-up hooks start and stop servers and databases; on a loaded 2-core
    // machine that takes longer than Vitest's 10 s default.
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['e2e/global-setup.ts'],
  },
});
