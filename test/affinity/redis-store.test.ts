import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Ownership } from '../../src/affinity/ownership.js';
import { InvalidOptionsError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { RedisAffinityStore } from '../../src/redis/index.js';
import { DEFAULT_KEY_PREFIX, encodeKeySegment } from '../../src/redis/redis-affinity-store.js';
import { describeAffinityStoreContract } from './contract.js';
import { REDIS_SKIP_REASON, RedisServer, requireRedisServer } from './redis-server.js';

const SHORT_TTL_MS = 100;
/** Margin on top of a real TTL wait; Redis expires keys on access with millisecond precision. */
const EXPIRY_MARGIN_MS = 25;

let server: RedisServer | undefined;
const clients: Redis[] = [];

function connect(): Redis {
  if (server === undefined) throw new Error('redis-server is not running');
  const client = new Redis(server.port, server.host, { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true });
  clients.push(client);
  return client;
}

async function connected(): Promise<Redis> {
  const client = connect();
  await client.connect();
  return client;
}

async function disconnectAll(): Promise<void> {
  const open = clients.splice(0);
  await Promise.all(open.map((client) => client.quit().catch(() => client.disconnect())));
}

async function allKeys(client: Redis): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  for (let round = 0; round < 10_000; round += 1) {
    const [next, batch] = await client.scan(cursor, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
    if (cursor === '0') break;
  }
  return keys;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(REDIS_SKIP_REASON !== undefined)(`RedisAffinityStore on a real redis-server${REDIS_SKIP_REASON ? ` (${REDIS_SKIP_REASON})` : ''}`, () => {
  beforeAll(async () => {
    requireRedisServer();
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await disconnectAll();
    await server?.dispose();
  });

  describeAffinityStoreContract('RedisAffinityStore', async () => {
    const admin = await connected();
    await admin.flushall();
    const prefix = 'contract:';
    const store = new RedisAffinityStore(await connected(), { keyPrefix: prefix });
    return {
      store,
      prefix,
      peers: async (n) =>
        Promise.all(Array.from({ length: n }, async () => new RedisAffinityStore(await connected(), { keyPrefix: prefix }))),
      shortTtlMs: SHORT_TTL_MS,
      elapse: (ms) => sleep(ms + EXPIRY_MARGIN_MS),
      keys: () => allKeys(admin),
      dispose: disconnectAll,
    };
  });

  describe('keys', () => {
    afterEach(disconnectAll);

    it(`uses the default prefix ${DEFAULT_KEY_PREFIX} with owner: and hb: segments`, async () => {
      const admin = await connected();
      await admin.flushall();
      const store = new RedisAffinityStore(await connected());
      expect(store.keyPrefix).toBe('mcp-upstream:');
      await store.claim('a:b {c}', 'w1', 60_000);
      await store.heartbeat('w1', 60_000);
      expect((await allKeys(admin)).sort()).toEqual(['mcp-upstream:hb:w1', 'mcp-upstream:owner:a%3Ab%20%7Bc%7D']);
      await expect(admin.get('mcp-upstream:owner:a%3Ab%20%7Bc%7D')).resolves.toBe('w1');
      const ttl = await admin.pttl('mcp-upstream:owner:a%3Ab%20%7Bc%7D');
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    });

    it('keeps stores with different prefixes apart on one server', async () => {
      const redis = await connected();
      const a = new RedisAffinityStore(redis, { keyPrefix: 'gw-a:' });
      const b = new RedisAffinityStore(redis, { keyPrefix: 'gw-b:' });
      await a.claim('s1', 'w1', 60_000);
      await a.heartbeat('w1', 60_000);
      await expect(b.owner('s1')).resolves.toBeNull();
      await expect(b.isAlive('w1')).resolves.toBe(false);
      await expect(b.claim('s1', 'w2', 60_000)).resolves.toBe('w2');
      await expect(a.owner('s1')).resolves.toBe('w1');
    });
  });

  describe('scripts', () => {
    afterEach(disconnectAll);

    it('falls back to EVAL when the script cache was flushed (e.g. after a restart)', async () => {
      const redis = await connected();
      const store = new RedisAffinityStore(redis, { keyPrefix: 'flush:' });
      await store.claim('s1', 'w1', 60_000);
      await redis.script('FLUSH');
      await expect(store.refresh('s1', 'w1', 60_000)).resolves.toBe(true);
      await redis.script('FLUSH');
      await expect(store.claim('s2', 'w1', 60_000)).resolves.toBe('w1');
      await redis.script('FLUSH');
      await expect(store.reclaim('s2', 'w1', 'w2', 60_000)).resolves.toBe(true);
      await redis.script('FLUSH');
      await expect(store.release('s2', 'w2')).resolves.toBe(true);
    });

    it('rejects with the Redis error for anything but NOSCRIPT', async () => {
      const redis = await connected();
      const store = new RedisAffinityStore(redis, { keyPrefix: 'wrongtype:' });
      await redis.lpush(store.claimKey('s1'), 'not-a-string');
      await expect(store.claim('s1', 'w1', 60_000)).rejects.toThrow(/WRONGTYPE/);
    });

    it('rejects when Redis is unreachable, and leaves the host-owned client open', async () => {
      const redis = connect(); // never connected, offline queue off: commands fail at once
      const store = new RedisAffinityStore(redis);
      await expect(store.claim('s1', 'w1', 60_000)).rejects.toThrow();
      await expect(store.isAlive('w1')).rejects.toThrow();
      const live = await connected();
      const liveStore = new RedisAffinityStore(live);
      await liveStore.claim('s1', 'w1', 60_000);
      expect(live.status).toBe('ready');
    });
  });

  describe('workers after Redis lost its data (FLUSHALL, a restart without persistence)', () => {
    afterEach(disconnectAll);

    it('a fresh claim is never reclaimed at once by another worker: its heartbeat is written first', async () => {
      const admin = await connected();
      await admin.flushall();
      const clock = new ManualClock();
      const owner = (workerId: string, store: RedisAffinityStore): Ownership =>
        new Ownership({ store, workerId, ttlMs: 60_000, heartbeatMs: 10_000, clock, logger: silentLogger, onError: () => undefined });
      const a = owner('w1', new RedisAffinityStore(await connected(), { keyPrefix: 'lost:' }));
      const b = owner('w2', new RedisAffinityStore(await connected(), { keyPrefix: 'lost:' }));
      try {
        await expect(a.route('s1')).resolves.toEqual({ local: true, owner: 'w1' });
        await admin.flushall();
        await expect(a.route('s2')).resolves.toEqual({ local: true, owner: 'w1' });
        await expect(b.route('s2')).resolves.toEqual({ local: false, owner: 'w1' });
        await expect(a.route('s1')).resolves.toEqual({ local: true, owner: 'w1' });
        await expect(b.route('s1')).resolves.toEqual({ local: false, owner: 'w1' });
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });

  describe('constructor', () => {
    it('rejects something that is not an ioredis client', () => {
      expect(() => new RedisAffinityStore(undefined as never)).toThrow(InvalidOptionsError);
      expect(() => new RedisAffinityStore({ get() {} } as never)).toThrow(/`redis`/);
    });

    it('rejects a bad keyPrefix and unknown options', () => {
      const redis = connect();
      expect(() => new RedisAffinityStore(redis, { keyPrefix: '' })).toThrow(/`keyPrefix`/);
      expect(() => new RedisAffinityStore(redis, { keyPrefix: 7 as never })).toThrow(InvalidOptionsError);
      expect(() => new RedisAffinityStore(redis, { prefix: 'x' } as never)).toThrow(/Unknown option `prefix`/);
      expect(() => new RedisAffinityStore(redis, 'x' as never)).toThrow(InvalidOptionsError);
    });
  });
});

describe('encodeKeySegment', () => {
  it('maps distinct ids to distinct segments made only of key-safe characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), fc.string({ unit: 'binary', maxLength: 64 }), (a, b) => {
        const ea = encodeKeySegment(a);
        expect(ea).toMatch(/^[A-Za-z0-9._~%-]*$/);
        if (a !== b) expect(ea).not.toBe(encodeKeySegment(b));
      }),
    );
  });

  it('encodes lone surrogates instead of throwing', () => {
    expect(encodeKeySegment('a\uD800b')).toBe('a%uD800b');
    expect(encodeKeySegment('\uDFFF')).not.toBe(encodeKeySegment('\uD800'));
  });

  it('leaves plain ids readable', () => {
    expect(encodeKeySegment('abc-123_x.y~z')).toBe('abc-123_x.y~z');
    expect(encodeKeySegment('a:b*c{d}')).toBe('a%3Ab%2Ac%7Bd%7D');
  });
});
