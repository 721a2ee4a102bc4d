import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs a CommonJS script in a plain Node process, so `require` is Node's own, not the test runner's. */
function runCjs(source: string): string {
  return execFileSync(process.execPath, ['--input-type=commonjs', '-e', source], { cwd: root, encoding: 'utf8' });
}

describe('package build', () => {
  beforeAll(() => {
    if (['index.cjs', 'testing.cjs', 'sdk-v2.cjs', 'otel.cjs', 'redis.cjs'].some((file) => !existsSync(`${root}dist/${file}`))) {
      execFileSync('npx', ['tsup'], { cwd: root, stdio: 'ignore' });
    }
  }, 180_000);

  it('loads with require() from CommonJS (p-limit is ESM-only, so it must be bundled)', () => {
    const out = runCjs(`
      const core = require('mcp-upstream-sessions');
      const testing = require('mcp-upstream-sessions/testing');
      const registry = new core.UpstreamSessionRegistry({ sessionFactory: new testing.FakeSessionFactory() });
      registry.withSession({ downstreamSessionId: 'a', upstreamId: 'u', url: 'http://127.0.0.1/mcp' }, (c) => c.ping())
        .then(() => registry.closeAll())
        .then(() => console.log(JSON.stringify({
          registry: typeof core.UpstreamSessionRegistry,
          factory: typeof core.createMcpSessionFactory,
          sessions: registry.snapshot().counters.creates,
          brand: new core.CapacityError('registry', 1) instanceof core.UpstreamSessionError,
        })));
    `);
    expect(JSON.parse(out)).toEqual({ registry: 'function', factory: 'function', sessions: 1, brand: true });
  });

  it('loads with import from ESM', () => {
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `import * as m from 'mcp-upstream-sessions'; console.log(typeof m.UpstreamSessionRegistry)`],
      { cwd: root, encoding: 'utf8' },
    );
    expect(out.trim()).toBe('function');
  });

  it('loads the ./sdk-v2, ./otel and ./redis entry points from CommonJS and from ESM', () => {
    const cjs = runCjs(`
      console.log(JSON.stringify([
        typeof require('mcp-upstream-sessions/sdk-v2').createSdkV2SessionFactory,
        typeof require('mcp-upstream-sessions/otel').instrumentRegistry,
        typeof require('mcp-upstream-sessions/redis').RedisEraStore,
      ]));
    `);
    expect(JSON.parse(cjs)).toEqual(['function', 'function', 'function']);
    const esm = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const [v2, otel, redis] = await Promise.all([import('mcp-upstream-sessions/sdk-v2'), import('mcp-upstream-sessions/otel'), import('mcp-upstream-sessions/redis')]);
         console.log(JSON.stringify([typeof v2.createSdkV2SessionFactory, typeof otel.instrumentRegistry, typeof redis.RedisEraStore]));`,
      ],
      { cwd: root, encoding: 'utf8' },
    );
    expect(JSON.parse(esm)).toEqual(['function', 'function', 'function']);
  });
});
