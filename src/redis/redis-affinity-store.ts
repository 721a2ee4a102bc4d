import { createHash } from 'node:crypto';
import { type Cluster, type Redis } from 'ioredis';
import { type AffinityStore } from '../affinity/store.js';
import { assertStoreId, assertStoreOptions, assertTtl } from '../affinity/validate.js';
import { InvalidOptionsError } from '../errors.js';

/** Options of {@link RedisAffinityStore}. */
export interface RedisAffinityStoreOptions {
  /**
   * Prepended to every key the store writes: `<keyPrefix>owner:<session id>` for claims and
   * `<keyPrefix>hb:<worker id>` for heartbeats. Include `{…}` in it only if you want every key in one Redis
   * Cluster slot; ids never add hash tags. @default 'mcp-upstream:'
   */
  keyPrefix?: string;
}

/** Default {@link RedisAffinityStoreOptions.keyPrefix}. */
export const DEFAULT_KEY_PREFIX = 'mcp-upstream:';

/** The commands the store uses; both `Redis` and `Cluster` from ioredis have them. */
interface ScriptClient {
  evalsha(sha1: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, px: 'PX', milliseconds: number): Promise<unknown>;
  exists(key: string): Promise<number>;
}

interface Script {
  readonly lua: string;
  readonly sha: string;
}

function script(lua: string): Script {
  return Object.freeze({ lua, sha: createHash('sha1').update(lua).digest('hex') });
}

/** KEYS[1] = claim; ARGV = workerId, ttlMs. Sets the claim when vacant (or extends our own); returns the owner. */
const CLAIM = script(`
local owner = redis.call('GET', KEYS[1])
if owner == false or owner == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return owner
`);

/** KEYS[1] = claim; ARGV = workerId, ttlMs. Extends iff owner; returns 1 or 0. */
const REFRESH = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`);

/** KEYS[1] = claim; ARGV = workerId. Deletes iff owner; returns 1 or 0. */
const RELEASE = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`);

/** KEYS[1] = claim; ARGV = deadWorkerId, workerId, ttlMs. Moves the claim iff the dead worker holds it. */
const RECLAIM = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
`);

/** Characters kept as they are in keys; everything else is percent-encoded. */
const UNSAFE_KEY_CHARS = /[^A-Za-z0-9._~-]/gu;

/**
 * Encodes an id as a key segment: injective, and free of `:`, glob characters (`*`, `?`, `[`), whitespace
 * and hash-tag braces: every character outside `A-Z a-z 0-9 . _ ~ -` becomes its UTF-8 bytes as `%XX`, and
 * a lone surrogate (not valid UTF-8) becomes `%uXXXX`.
 *
 * @example
 * ```ts
 * encodeKeySegment('a:b {c}'); // 'a%3Ab%20%7Bc%7D'
 * ```
 */
export function encodeKeySegment(id: string): string {
  return id.replace(UNSAFE_KEY_CHARS, (char) => {
    const code = char.codePointAt(0) ?? 0;
    if (code >= 0xd800 && code <= 0xdfff) return `%u${code.toString(16).toUpperCase()}`;
    let encoded = '';
    for (const byte of Buffer.from(char, 'utf8')) encoded += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    return encoded;
  });
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

function unexpected(command: string, reply: unknown): Error {
  return new Error(`Unexpected Redis reply to ${command}: ${typeof reply}`);
}

/**
 * An {@link AffinityStore} on Redis (ioredis), shared by every worker of a gateway.
 *
 * `claim` is one atomic Lua call that sets the claim with `PX` when it is vacant and returns the owner;
 * `refresh`, `release` and `reclaim` are Lua compare-and-set scripts (run with `EVALSHA`, falling back to
 * `EVAL` after a script-cache flush or a server restart); heartbeats are keys with a TTL. Ids are
 * percent-encoded, so any id stays a single segment inside the key prefix. Every key touches one slot, so
 * Redis Cluster works too.
 *
 * Every method rejects with `InvalidRequestError` for an id that is not a non-empty string (at most 1024
 * characters) or a TTL that is not a positive integer number of milliseconds, and with the client's error
 * when Redis fails.
 *
 * The client belongs to the host: the store never connects, quits or disconnects it. Create it with
 * `enableOfflineQueue: false` (or a small `maxRetriesPerRequest`) so calls fail fast while Redis is down;
 * the registry then fails open and emits `affinity:error`.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisAffinityStore } from 'mcp-upstream-sessions/redis';
 *
 * const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { enableOfflineQueue: false });
 * const registry = new UpstreamSessionRegistry({ affinity: new RedisAffinityStore(redis) });
 * ```
 */
export class RedisAffinityStore implements AffinityStore {
  /** The prefix of every key this store writes. */
  readonly keyPrefix: string;
  readonly #redis: ScriptClient;

  /**
   * @param redis - An ioredis `Redis` or `Cluster` client, owned (connected and closed) by the host.
   * @param options - See {@link RedisAffinityStoreOptions}.
   * @throws {@link InvalidOptionsError} when `redis` is not an ioredis client, `keyPrefix` is not a
   *   non-empty string, or an option is unknown.
   */
  constructor(redis: Redis | Cluster, options?: RedisAffinityStoreOptions) {
    if (typeof redis !== 'object' || redis === null) {
      throw new InvalidOptionsError('redis', 'Expected `redis` to be an ioredis client');
    }
    for (const method of ['evalsha', 'eval', 'get', 'set', 'exists'] as const) {
      if (typeof (redis as unknown as Record<string, unknown>)[method] !== 'function') {
        throw new InvalidOptionsError('redis', `Expected \`redis\` to be an ioredis client with a \`${method}\` method`);
      }
    }
    const { keyPrefix } = assertStoreOptions(options, ['keyPrefix']);
    if (keyPrefix !== undefined && (typeof keyPrefix !== 'string' || keyPrefix.length === 0)) {
      throw new InvalidOptionsError('keyPrefix', 'Expected `keyPrefix` to be a non-empty string');
    }
    this.keyPrefix = keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.#redis = redis;
  }

  /** The key holding the claim on `sessionId`. */
  claimKey(sessionId: string): string {
    return `${this.keyPrefix}owner:${encodeKeySegment(sessionId)}`;
  }

  /** The key holding `workerId`'s heartbeat. */
  heartbeatKey(workerId: string): string {
    return `${this.keyPrefix}hb:${encodeKeySegment(workerId)}`;
  }

  /** Claims `sessionId` for `workerId` unless another worker holds it (one atomic call); returns the owner. */
  async claim(sessionId: string, workerId: string, ttlMs: number): Promise<string> {
    assertStoreId('sessionId', sessionId);
    assertStoreId('workerId', workerId);
    assertTtl(ttlMs);
    const owner = await this.#eval(CLAIM, this.claimKey(sessionId), workerId, ttlMs);
    if (typeof owner !== 'string') throw unexpected('claim', owner);
    return owner;
  }

  /** Extends the claim to `ttlMs` from now iff `workerId` owns it. */
  async refresh(sessionId: string, workerId: string, ttlMs: number): Promise<boolean> {
    assertStoreId('sessionId', sessionId);
    assertStoreId('workerId', workerId);
    assertTtl(ttlMs);
    return this.#flag('refresh', await this.#eval(REFRESH, this.claimKey(sessionId), workerId, ttlMs));
  }

  /** Deletes the claim iff `workerId` owns it. */
  async release(sessionId: string, workerId: string): Promise<boolean> {
    assertStoreId('sessionId', sessionId);
    assertStoreId('workerId', workerId);
    return this.#flag('release', await this.#eval(RELEASE, this.claimKey(sessionId), workerId));
  }

  /** The worker holding the claim on `sessionId`, or `null`. */
  async owner(sessionId: string): Promise<string | null> {
    assertStoreId('sessionId', sessionId);
    return this.#redis.get(this.claimKey(sessionId));
  }

  /** Moves the claim from `deadWorkerId` to `workerId` (TTL `ttlMs`) iff `deadWorkerId` still owns it. */
  async reclaim(sessionId: string, deadWorkerId: string, workerId: string, ttlMs: number): Promise<boolean> {
    assertStoreId('sessionId', sessionId);
    assertStoreId('deadWorkerId', deadWorkerId);
    assertStoreId('workerId', workerId);
    assertTtl(ttlMs);
    return this.#flag('reclaim', await this.#eval(RECLAIM, this.claimKey(sessionId), deadWorkerId, workerId, ttlMs));
  }

  /** Records that `workerId` is alive for the next `ttlMs` (`SET <hb key> 1 PX ttlMs`). */
  async heartbeat(workerId: string, ttlMs: number): Promise<void> {
    assertStoreId('workerId', workerId);
    assertTtl(ttlMs);
    await this.#redis.set(this.heartbeatKey(workerId), '1', 'PX', ttlMs);
  }

  /** Whether `workerId`'s heartbeat key exists. */
  async isAlive(workerId: string): Promise<boolean> {
    assertStoreId('workerId', workerId);
    return (await this.#redis.exists(this.heartbeatKey(workerId))) === 1;
  }

  async #eval(lua: Script, key: string, ...args: (string | number)[]): Promise<unknown> {
    try {
      return await this.#redis.evalsha(lua.sha, 1, key, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return this.#redis.eval(lua.lua, 1, key, ...args);
    }
  }

  #flag(command: string, reply: unknown): boolean {
    if (reply === 1) return true;
    if (reply === 0) return false;
    throw unexpected(command, reply);
  }
}
