import { defineConfig } from 'vitest/config';

// One Parley stack serves every file: run them one at a time, and give
// outages and reconnects room.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});
