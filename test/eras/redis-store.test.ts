import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import { RedisEraStore } from '../../src/redis/redis-era-store.js';
import { REDIS_SKIP_REASON, RedisServer, requireRedisServer } from '../affinity/redis-server.js';
import { describeEraStoreContract, HOSTILE_KEYS } from './contract.js';

const SHORT_TTL_MS = 100;
/** Margin on top of a real TTL wait; Redis expires keys on access with millisecond precision. */
const EXPIRY_MARGIN_MS = 25;

let server: RedisServer | undefined;
const clients: Redis[] = [];

async function connected(): Promise<Redis> {
  if (server === undefined) throw new Error('redis-server is not running');
  const client = new Redis(server.port, server.host, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true });
  clients.push(client);
  await client.connect();
  return client;
}

async function disconnectAll(): Promise<void> {
  await Promise.all(clients.splice(0).map((client) => client.quit().catch(() => client.disconnect())));
}

describe.skipIf(REDIS_SKIP_REASON !== undefined)(`RedisEraStore on a real redis-server${REDIS_SKIP_REASON ? ` (${REDIS_SKIP_REASON})` : ''}`, () => {
  beforeAll(async () => {
    requireRedisServer();
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await disconnectAll();
    await server?.dispose();
  });

  describeEraStoreContract('RedisEraStore', async () => {
    const admin = await connected();
    await admin.flushall();
    const store = new RedisEraStore(await connected());
    return {
      store,
      peer: async () => new RedisEraStore(await connected()),
      shortTtlMs: SHORT_TTL_MS,
      elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms + EXPIRY_MARGIN_MS)),
      dispose: disconnectAll,
    };
  });

  it('keeps verdicts under `<prefix>era:` with the TTL in Redis, and every hostile key inside the prefix', async () => {
    const redis = await connected();
    await redis.flushall();
    const store = new RedisEraStore(redis, { keyPrefix: 'gw:' });
    for (const key of HOSTILE_KEYS) await store.set(key, { era: 'legacy', checkedAt: 1 }, 60_000);
    const keys = await redis.keys('*');
    expect(keys).toHaveLength(HOSTILE_KEYS.length);
    for (const key of keys) {
      expect(key.startsWith('gw:era:')).toBe(true);
      expect(key.slice('gw:era:'.length)).toMatch(/^[A-Za-z0-9._~%-]+$/u);
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
  });

  it('uses the affinity store default prefix', async () => {
    const store = new RedisEraStore(await connected());
    expect(store.keyPrefix).toBe('mcp-upstream:');
    expect(store.redisKey('k')).toBe('mcp-upstream:era:k');
  });

  it('reads a value that is not a verdict as a miss', async () => {
    const redis = await connected();
    const store = new RedisEraStore(redis);
    await redis.set(store.redisKey('corrupt'), '{"era":"modern"}', 'PX', 60_000);
    await redis.set(store.redisKey('garbage'), 'not json', 'PX', 60_000);
    expect(await store.get('corrupt')).toBeUndefined();
    expect(await store.get('garbage')).toBeUndefined();
  });

  it('rejects what is not an ioredis client, and bad options', () => {
    expect(() => new RedisEraStore({} as never)).toThrow(InvalidOptionsError);
    expect(() => new RedisEraStore(null as never)).toThrow(InvalidOptionsError);
    const fake = { get: () => undefined, set: () => undefined, del: () => undefined } as never;
    expect(() => new RedisEraStore(fake, { keyPrefix: '' })).toThrow(InvalidOptionsError);
    expect(() => new RedisEraStore(fake, { prefix: 'x' } as never)).toThrow(InvalidOptionsError);
  });
});
