import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      // All of src/ counts, the SDK adapters and the Redis stores included; only the re-export-only entry files are left out.
      exclude: ['src/index.ts', 'src/testing/index.ts', 'src/redis/index.ts', 'src/mcp/v2/index.ts', 'src/otel/index.ts'],
      reporter: ['text-summary', 'text'],
      thresholds: { lines: 95 },
    },
  },
});
