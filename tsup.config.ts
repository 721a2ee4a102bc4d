import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    testing: 'src/testing/index.ts',
    redis: 'src/redis/index.ts',
    'sdk-v2': 'src/mcp/v2/index.ts',
    otel: 'src/otel/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: true,
  // p-limit is ESM-only: bundle it so `require('mcp-upstream-sessions')` works.
  noExternal: ['p-limit', 'yocto-queue'],
  external: ['ioredis', '@modelcontextprotocol/sdk', '@modelcontextprotocol/client', '@opentelemetry/api'],
});
