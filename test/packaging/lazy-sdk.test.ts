/**
 * On the built output: importing the package loads no MCP SDK module until the default factory creates its
 * first session, and `./testing` and `./redis` never load it. ESM is checked with a module hook that refuses
 * to resolve any `@modelcontextprotocol/*` module, CJS with `require.cache`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
/** `LAZY_SDK_DIST` points the test at another build of the package (same layout as `dist`). */
const dist = process.env.LAZY_SDK_DIST ?? join(root, 'dist');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function ensureBuilt(): void {
  if (process.env.LAZY_SDK_DIST !== undefined) return;
  const built = join(dist, 'index.js');
  if (existsSync(built) && statSync(built).mtimeMs >= newestSource(join(root, 'src'))) return;
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, encoding: 'utf8', timeout: 180_000 });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
}

/** A module hook (ESM) that fails every resolution of an MCP SDK package. */
const BLOCK_SDK_HOOK = `
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (result.url.includes('/node_modules/@modelcontextprotocol/')) throw new Error('blocked SDK module: ' + specifier);
  return result;
}`;

/** Runs an ESM script with the SDK blocked; returns its stdout as JSON. */
function runEsm(body: string): unknown {
  const script = `
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(BLOCK_SDK_HOOK)}));
const dist = ${JSON.stringify(pathToFileURL(dist).href)};
${body}`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out) as unknown;
}

/** Runs a CJS script; returns its stdout as JSON. */
function runCjs(body: string): unknown {
  const script = `
const dist = ${JSON.stringify(dist)};
const loaded = (part) => Object.keys(require.cache).filter((path) => path.includes(part)).length;
(async () => { ${body} })().catch((error) => { console.error(error); process.exit(1); });`;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out) as unknown;
}

const CREATE_ONE = `
  const factory = lib.createMcpSessionFactory();
  const signal = new AbortController().signal;
  const request = Object.freeze({ downstreamSessionId: 'd', upstreamId: 'u', transport: 'streamable-http', url: 'http://127.0.0.1:1/mcp', headers: {}, signal });
  const created = await factory.create(request, { closed() {}, notification() {} }).then(() => 'created', (error) => String(error.message));`;

describe('the built package', () => {
  beforeAll(() => ensureBuilt(), 200_000);

  it('ESM: importing `.` and running a registry with a custom factory loads no SDK module; the first default-factory create does', () => {
    const result = runEsm(`
const lib = await import(dist + '/index.js');
const registry = new lib.UpstreamSessionRegistry({
  sessionFactory: { create: async () => ({ client: {}, close: async () => {} }) },
});
const lease = await registry.acquire({ downstreamSessionId: 'd', upstreamId: 'u', url: 'http://127.0.0.1:1/mcp' });
lease.release();
await registry.closeAll();
${CREATE_ONE}
console.log(JSON.stringify({ created }));`);
    expect(result).toEqual({ created: expect.stringContaining('blocked SDK module: @modelcontextprotocol/sdk/') as unknown });
  });

  it('ESM: `./testing` and `./redis` load no SDK module', () => {
    const result = runEsm(`
const testing = await import(dist + '/testing.js');
const redis = await import(dist + '/redis.js');
console.log(JSON.stringify({ testing: Object.keys(testing).length > 0, redis: Object.keys(redis).length > 0 }));`);
    expect(result).toEqual({ testing: true, redis: true });
  });

  it('CJS: requiring `.`, `./testing` and `./redis` loads no SDK, zod or ajv module; the first default-factory create loads the SDK', () => {
    const result = runCjs(`
const lib = require(dist + '/index.cjs');
require(dist + '/testing.cjs');
require(dist + '/redis.cjs');
const before = { modules: Object.keys(require.cache).length, sdk: loaded('@modelcontextprotocol'), zod: loaded('/zod/'), ajv: loaded('/ajv/') };
${CREATE_ONE}
console.log(JSON.stringify({ before, created: created !== 'created', sdkAfterCreate: loaded('@modelcontextprotocol') > 0 }));`);
    expect(result).toMatchObject({ before: { sdk: 0, zod: 0, ajv: 0 }, created: true, sdkAfterCreate: true });
  });
});
