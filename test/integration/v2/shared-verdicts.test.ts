import { type Client } from '@modelcontextprotocol/client';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EraStore, type EraVerdict } from '../../../src/eras/store.js';
import { createSdkV2SessionFactory, InMemoryEraStore } from '../../../src/mcp/v2/index.js';
import { RedisEraStore } from '../../../src/redis/redis-era-store.js';
import { UpstreamSessionRegistry } from '../../../src/registry.js';
import { REDIS_SKIP_REASON, RedisServer, requireRedisServer } from '../../affinity/redis-server.js';
import { useCleanup } from './fixtures/harness.js';
import { startLegacyUpstream } from './fixtures/legacy-upstream.js';
import { startModernUpstream } from './fixtures/modern-upstream.js';

const cleanup = useCleanup();

/** Records every key and value an EraStore is given. */
class RecordingStore implements EraStore {
  readonly written: { key: string; value: string }[] = [];
  readonly read: string[] = [];
  constructor(private readonly inner: EraStore) {}
  get(key: string): Promise<EraVerdict | undefined> {
    this.read.push(key);
    return this.inner.get(key);
  }
  set(key: string, verdict: EraVerdict, ttlMs: number): Promise<void> {
    this.written.push({ key, value: JSON.stringify(verdict) });
    return this.inner.set(key, verdict, ttlMs);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}

describe.skipIf(REDIS_SKIP_REASON !== undefined)(`two registries sharing a RedisEraStore${REDIS_SKIP_REASON ? ` (${REDIS_SKIP_REASON})` : ''}`, () => {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    requireRedisServer();
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('the second probes nothing for a key the first stored', async () => {
    if (server === undefined) throw new Error('redis-server is not running');
    const modern = await startModernUpstream();
    const legacy = await startLegacyUpstream();
    cleanup(() => modern.close());
    cleanup(() => legacy.close());
    const connections = [new Redis(server.port, server.host, { enableOfflineQueue: true }), new Redis(server.port, server.host)];
    cleanup(() => Promise.all(connections.map((redis) => redis.quit())));
    const [first, second] = connections.map(
      (redis) => new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory({ eraStore: new RedisEraStore(redis), listen: false }) }),
    );
    if (first === undefined || second === undefined) throw new Error('unreachable');
    cleanup(() => first.closeAll());
    cleanup(() => second.closeAll());

    for (const registry of [first, second]) {
      await registry.withSession({ downstreamSessionId: 'tab', upstreamId: 'modern', url: modern.url }, (client) => client.callTool({ name: 'count', arguments: {} }));
      await registry.withSession({ downstreamSessionId: 'tab', upstreamId: 'legacy', url: legacy.url }, (client) => client.callTool({ name: 'count', arguments: {} }));
    }
    expect(modern.traffic.count('server/discover')).toBe(1);
    expect(legacy.traffic.count('server/discover')).toBe(1);
    expect(legacy.traffic.count('initialize')).toBe(2);
    expect(modern.traffic.count('tools/call')).toBe(2);
    const keys = await connections[0]?.keys('*');
    expect(keys).toHaveLength(2);
    for (const key of keys ?? []) expect(key).toMatch(/^mcp-upstream:era:[0-9a-f]{64}$/u);
  });
});

describe('principals partition verdicts', () => {
  it('probes once per principal, and no raw credential or url is ever part of a store key or value', async () => {
    const upstream = await startModernUpstream();
    cleanup(() => upstream.close());
    const store = new RecordingStore(new InMemoryEraStore());
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory({ eraStore: store, listen: false }) });
    cleanup(() => registry.closeAll());
    const url = `${upstream.url}?api_key=query-secret-1`;
    const secrets = ['query-secret-1', 'header-secret-2', 'header-secret-3', '127.0.0.1', 'api_key', 'alice', 'bob'];

    const call = (downstreamSessionId: string, extra: { principal?: string; headers?: Record<string, string> }) =>
      registry.withSession({ downstreamSessionId, upstreamId: 'modern', url, ...extra }, (client) => client.callTool({ name: 'count', arguments: {} }));
    await call('a1', { principal: 'alice', headers: { authorization: 'Bearer header-secret-2' } });
    await call('a2', { principal: 'alice', headers: { authorization: 'Bearer header-secret-3' } });
    await call('b1', { principal: 'bob' });
    await call('t1', { headers: { authorization: 'Bearer header-secret-2' } });
    await call('t2', { headers: { authorization: 'Bearer header-secret-2' } });
    await call('t3', { headers: { authorization: 'Bearer header-secret-3' } });

    // alice (one verdict across token rotations), bob, and two anonymous tokens.
    expect(upstream.traffic.count('server/discover')).toBe(4);
    expect(new Set(store.written.map((write) => write.key)).size).toBe(4);
    for (const key of [...store.read, ...store.written.map((write) => write.key)]) expect(key).toMatch(/^[0-9a-f]{64}$/u);
    for (const { key, value } of store.written) {
      for (const secret of secrets) {
        expect(key).not.toContain(secret);
        expect(value).not.toContain(secret);
      }
    }
  });
});
