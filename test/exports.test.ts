import { type Client } from '@modelcontextprotocol/sdk/client/index.js';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as core from '../src/index.js';
import {
  UpstreamSessionRegistry,
  type EvictReason,
  type RegistrySnapshot,
  type SessionFactory,
  type SessionInfo,
  type SessionLease,
  type SessionRequest,
  type UpstreamClient,
} from '../src/index.js';
import * as otel from '../src/otel/index.js';
import * as redis from '../src/redis/index.js';
import * as sdkV2 from '../src/mcp/v2/index.js';
import * as testing from '../src/testing/index.js';
import { FakeSessionFactory, type FakeCallToolResult, type FakeUpstreamClient } from '../src/testing/index.js';

// Issue #2 item 17: the runtime export list of each entry point is snapshotted, so adding or removing a public
// name is a deliberate act (update the snapshot with `npx vitest run test/exports.test.ts -u`). The type tests
// below are checked by `tsc` (npm run typecheck): `expectTypeOf` does nothing at run time.

function names(module: object): string[] {
  return Object.keys(module).sort();
}

describe('runtime exports', () => {
  it('mcp-upstream-sessions (src/index.ts)', () => {
    expect(names(core)).toMatchInlineSnapshot(`
      [
        "CapacityError",
        "CircuitOpenError",
        "CloseGraceEndedError",
        "DIAGNOSTICS_CHANNELS",
        "ERROR_CATEGORIES",
        "EVICT_REASONS",
        "InMemoryAffinityStore",
        "InMemoryEraStore",
        "InvalidOptionsError",
        "InvalidRequestError",
        "NotOwnerError",
        "ProbeTimeoutError",
        "RegistryClosedError",
        "STDIO_FAILURE",
        "SessionCreateError",
        "SessionCreateTimeoutError",
        "SessionEvictedError",
        "StdioProcessError",
        "StoreTimeoutError",
        "UpstreamSessionError",
        "UpstreamSessionRegistry",
        "classifyError",
        "createMcpSessionFactory",
        "downstreamSessionIdFromHeaders",
        "isSuspectError",
        "isTransportError",
        "redactText",
        "relayProgress",
        "requestSecrets",
        "runProbeChain",
        "sanitizeUrl",
        "systemClock",
        "toDownstreamError",
      ]
    `);
  });

  it('mcp-upstream-sessions/testing (src/testing/index.ts)', () => {
    expect(names(testing)).toMatchInlineSnapshot(`
      [
        "FakeConnection",
        "FakeMcpError",
        "FakeSessionFactory",
        "FakeUpstreamClient",
        "ManualClock",
        "createConnectionClosedError",
        "createConnectionRefusedError",
        "createMethodNotFoundError",
        "createProcessExitedError",
        "createSessionNotFoundError",
        "createSpawnFailedError",
      ]
    `);
  });

  it('mcp-upstream-sessions/redis (src/redis/index.ts)', () => {
    expect(names(redis)).toMatchInlineSnapshot(`
      [
        "RedisAffinityStore",
        "RedisEraStore",
      ]
    `);
  });

  it('mcp-upstream-sessions/sdk-v2 (src/mcp/v2/index.ts)', () => {
    expect(names(sdkV2)).toMatchInlineSnapshot(`
      [
        "InMemoryEraStore",
        "SDK_V2_DEFAULT_CLIENT_INFO",
        "SdkV2Connection",
        "createSdkV2SessionFactory",
      ]
    `);
  });

  it('mcp-upstream-sessions/otel (src/otel/index.ts)', () => {
    expect(names(otel)).toMatchInlineSnapshot(`
      [
        "ATTRIBUTE_NAMES",
        "INSTRUMENTATION_SCOPE",
        "METRIC_NAMES",
        "SPAN_NAMES",
        "instrumentRegistry",
      ]
    `);
  });

  it('exports no default and nothing undefined', () => {
    for (const module of [core, testing, redis, sdkV2, otel]) {
      expect('default' in module).toBe(false);
      for (const [name, value] of Object.entries(module)) expect(value, name).toBeDefined();
    }
  });
});

describe('types', () => {
  const request: SessionRequest = { downstreamSessionId: 'down-1', upstreamId: 'up-1', url: 'http://127.0.0.1:9/mcp' };

  it('new UpstreamSessionRegistry() is an UpstreamSessionRegistry of the SDK Client', async () => {
    const registry = new UpstreamSessionRegistry();
    expectTypeOf(registry).toEqualTypeOf<UpstreamSessionRegistry<Client>>();
    expectTypeOf(registry.acquire).returns.toEqualTypeOf<Promise<SessionLease<Client>>>();
    expectTypeOf<Client>().toExtend<UpstreamClient>();
    await registry.closeAll();
  });

  it('a registry built with new FakeSessionFactory() infers FakeUpstreamClient', async () => {
    const registry = new UpstreamSessionRegistry({ sessionFactory: new FakeSessionFactory() });
    expectTypeOf(registry).toEqualTypeOf<UpstreamSessionRegistry<FakeUpstreamClient>>();
    expectTypeOf<FakeSessionFactory>().toExtend<SessionFactory<FakeUpstreamClient>>();
    await registry.closeAll();
  });

  it('a factory with createClient infers its client type', async () => {
    class MyClient {
      ping = () => Promise.resolve({});
      listTools = () => Promise.resolve({ tools: [] });
      listPrompts = () => Promise.resolve({ prompts: [] });
      listResources = () => Promise.resolve({ resources: [] });
      hello = (): string => 'hi';
    }
    const registry = new UpstreamSessionRegistry({ sessionFactory: new FakeSessionFactory({ createClient: () => new MyClient() }) });
    expectTypeOf(registry).toEqualTypeOf<UpstreamSessionRegistry<MyClient>>();
    const greeting = await registry.withSession(request, (client) => client.hello());
    expect(greeting).toBe('hi');
    await registry.closeAll();
  });

  it('acquire returns Promise<SessionLease<C>>', async () => {
    const registry = new UpstreamSessionRegistry({ sessionFactory: new FakeSessionFactory() });
    const acquiring = registry.acquire(request);
    expectTypeOf(acquiring).toEqualTypeOf<Promise<SessionLease<FakeUpstreamClient>>>();
    const lease = await acquiring;
    expectTypeOf(lease.client).toEqualTypeOf<FakeUpstreamClient>();
    expectTypeOf(lease.info).toEqualTypeOf<SessionInfo>();
    expectTypeOf(lease.release).toEqualTypeOf<(error?: unknown) => void>();
    expectTypeOf(lease).toExtend<AsyncDisposable>();
    lease.release();
    await registry.closeAll();
  });

  it('withSession infers T from fn (sync or async) and types its arguments', async () => {
    const registry = new UpstreamSessionRegistry({ sessionFactory: new FakeSessionFactory() });
    const result = registry.withSession(request, (client, info) => {
      expectTypeOf(client).toEqualTypeOf<FakeUpstreamClient>();
      expectTypeOf(info).toEqualTypeOf<SessionInfo>();
      return client.callTool({ name: 'increment' });
    });
    expectTypeOf(result).toEqualTypeOf<Promise<FakeCallToolResult>>();
    expect((await result).content[0]?.text).toBe('1');
    const sync = registry.withSession(request, () => 42);
    expectTypeOf(sync).toEqualTypeOf<Promise<number>>();
    expect(await sync).toBe(42);
    const literal = registry.withSession(request, async () => ({ ok: true as const }));
    expectTypeOf(literal).toEqualTypeOf<Promise<{ ok: true }>>();
    await registry.closeAll();
  });

  it('the other registry methods and events are typed as SPEC §3 says', async () => {
    const registry = new UpstreamSessionRegistry({ sessionFactory: new FakeSessionFactory() });
    expectTypeOf(registry.evict).returns.toEqualTypeOf<Promise<boolean>>();
    expectTypeOf(registry.evictSession).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(registry.evictUpstream).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(registry.closeAll).returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf(registry.route).returns.toEqualTypeOf<Promise<core.RouteDecision>>();
    expectTypeOf(registry.snapshot).returns.toEqualTypeOf<RegistrySnapshot>();
    expectTypeOf(registry.size).toEqualTypeOf<number>();
    expectTypeOf(registry.closed).toEqualTypeOf<boolean>();
    expectTypeOf(registry.workerId).toEqualTypeOf<string>();
    expectTypeOf(registry).toExtend<AsyncDisposable>();
    registry.on('session:evicted', (event) => {
      expectTypeOf(event.reason).toEqualTypeOf<EvictReason>();
    });
    // @ts-expect-error: not a registry event
    registry.on('session:exploded', () => undefined);
    await registry.closeAll();
  });
});
