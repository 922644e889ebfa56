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
    pool: 'forks',
    globalSetup: ['e2e/global-setup.ts'],
  },
});
