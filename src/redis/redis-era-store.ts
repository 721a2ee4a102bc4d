import { type Cluster, type Redis } from 'ioredis';
import { InvalidOptionsError } from '../errors.js';
import { type EraStore, type EraVerdict } from '../eras/store.js';
import { assertEraKey, assertEraTtl, assertEraVerdict, copyVerdict, parseVerdict } from '../eras/verdict.js';
import { DEFAULT_KEY_PREFIX, encodeKeySegment } from './redis-affinity-store.js';

/** Options of {@link RedisEraStore}. */
export interface RedisEraStoreOptions {
  /**
   * Prepended to every key the store writes: `<keyPrefix>era:<key>`. The same default as
   * `RedisAffinityStore`, so one prefix names everything the library keeps in a Redis.
   * @default 'mcp-upstream:'
   */
  keyPrefix?: string;
}

/** The commands the store uses; both `Redis` and `Cluster` from ioredis have them. */
interface EraClient {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, px: 'PX', milliseconds: number): Promise<unknown>;
  del(key: string): Promise<number>;
}

/**
 * An {@link EraStore} on Redis (ioredis), shared by every worker of a gateway: with it a fleet probes each
 * (upstream, principal) once per verdict TTL instead of once per worker. Verdicts are JSON values under
 * `<keyPrefix>era:<key>` written with `SET … PX ttlMs`, so Redis does the expiry; keys are encoded like the
 * affinity store's ids (any key stays one segment inside the prefix). A value that does not parse as a
 * verdict reads as a miss (the factory then probes and overwrites it).
 *
 * The keys the SDK v2 factory passes are SHA-256 hex digests: Redis never sees an upstream URL or a
 * credential. The client belongs to the host: the store never connects, quits or disconnects it.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisEraStore } from 'mcp-upstream-sessions/redis';
 * import { createSdkV2SessionFactory } from 'mcp-upstream-sessions/sdk-v2';
 *
 * const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { enableOfflineQueue: false });
 * const sessionFactory = createSdkV2SessionFactory({ eraStore: new RedisEraStore(redis) });
 * ```
 */
export class RedisEraStore implements EraStore {
  /** The prefix of every key this store writes. */
  readonly keyPrefix: string;
  readonly #redis: EraClient;

  /**
   * @param redis - An ioredis `Redis` or `Cluster` client, owned (connected and closed) by the host.
   * @param options - See {@link RedisEraStoreOptions}.
   * @throws {@link InvalidOptionsError} when `redis` is not an ioredis client, `keyPrefix` is not a
   *   non-empty string, or an option is unknown.
   */
  constructor(redis: Redis | Cluster, options?: RedisEraStoreOptions) {
    if (typeof redis !== 'object' || redis === null) {
      throw new InvalidOptionsError('redis', 'Expected `redis` to be an ioredis client');
    }
    for (const method of ['get', 'set', 'del'] as const) {
      if (typeof (redis as unknown as Record<string, unknown>)[method] !== 'function') {
        throw new InvalidOptionsError('redis', `Expected \`redis\` to be an ioredis client with a \`${method}\` method`);
      }
    }
    if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
      throw new InvalidOptionsError('options', `Expected options to be an object, got ${options === null ? 'null' : typeof options}`);
    }
    for (const key of Object.keys(options ?? {})) {
      if (key !== 'keyPrefix') throw new InvalidOptionsError(key, `Unknown option \`${key}\``);
    }
    const keyPrefix = options?.keyPrefix;
    if (keyPrefix !== undefined && (typeof keyPrefix !== 'string' || keyPrefix.length === 0)) {
      throw new InvalidOptionsError('keyPrefix', 'Expected `keyPrefix` to be a non-empty string');
    }
    this.keyPrefix = keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.#redis = redis;
  }

  /** The Redis key holding the verdict stored under `key`. */
  redisKey(key: string): string {
    return `${this.keyPrefix}era:${encodeKeySegment(key)}`;
  }

  async get(key: string): Promise<EraVerdict | undefined> {
    assertEraKey(key);
    const text = await this.#redis.get(this.redisKey(key));
    return text === null ? undefined : parseVerdict(text);
  }

  async set(key: string, verdict: EraVerdict, ttlMs: number): Promise<void> {
    assertEraKey(key);
    assertEraVerdict(verdict);
    assertEraTtl(ttlMs);
    await this.#redis.set(this.redisKey(key), JSON.stringify(copyVerdict(verdict)), 'PX', ttlMs);
  }

  async delete(key: string): Promise<void> {
    assertEraKey(key);
    await this.#redis.del(this.redisKey(key));
  }
}
