import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.spec.ts', 'services/*/src/**/*.spec.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Tests start their own redis-server / S3 emulator / CNN; two cores: keep files sequential.
    fileParallelism: false,
    pool: 'forks',
  },
});
