import { type Clock, systemClock } from '../clock.js';
import { InvalidOptionsError } from '../errors.js';
import { type AffinityStore } from './store.js';
import { assertStoreId, assertStoreOptions, assertTtl } from './validate.js';

/** Options of {@link InMemoryAffinityStore}. */
export interface InMemoryAffinityStoreOptions {
  /** Time source for TTLs. @default systemClock */
  clock?: Clock;
}

interface Expiring {
  readonly value: string;
  readonly expiresAt: number;
}

/** Below this many records the store never sweeps; above it, it sweeps when the map doubles. */
const SWEEP_FLOOR = 1024;

/**
 * An {@link AffinityStore} held in this process's memory, with TTLs measured by a {@link Clock}.
 *
 * Every worker that shares one instance sees the same ownership, so it suits tests (with `ManualClock`)
 * and several registries inside one process. It cannot coordinate separate processes: use
 * `RedisAffinityStore` from `mcp-upstream-sessions/redis` for that. Expiry is checked when a record is
 * read, so the store runs no timers; expired records are swept as the store grows.
 *
 * Every method rejects with `InvalidRequestError` for an id that is not a non-empty string (at most
 * 1024 characters) or a TTL that is not a positive integer number of milliseconds.
 *
 * @example
 * ```ts
 * const affinity = new InMemoryAffinityStore();
 * const a = new UpstreamSessionRegistry({ affinity, workerId: 'a' });
 * const b = new UpstreamSessionRegistry({ affinity, workerId: 'b' });
 * await a.route('session-1'); // { local: true, owner: 'a' }
 * await b.route('session-1'); // { local: false, owner: 'a' }
 * ```
 */
export class InMemoryAffinityStore implements AffinityStore {
  readonly #clock: Clock;
  readonly #claims = new Map<string, Expiring>();
  readonly #heartbeats = new Map<string, Expiring>();
  #sweepAt = SWEEP_FLOOR;

  /**
   * @param options - `clock` decides when claims and heartbeats expire.
   * @throws {@link InvalidOptionsError} for a non-object, an unknown key or a `clock` without `now()`.
   */
  constructor(options?: InMemoryAffinityStoreOptions) {
    const { clock } = assertStoreOptions(options, ['clock']);
    if (clock !== undefined && (typeof clock !== 'object' || clock === null || typeof (clock as Clock).now !== 'function')) {
      throw new InvalidOptionsError('clock', 'Expected `clock` to be an object with a `now` method');
    }
    this.#clock = (clock as Clock | undefined) ?? systemClock;
  }

  /** Claims `sessionId` for `workerId` unless another worker holds an unexpired claim; returns the owner. */
  claim(sessionId: string, workerId: string, ttlMs: number): Promise<string> {
    return this.#run(() => {
      assertStoreId('sessionId', sessionId);
      assertStoreId('workerId', workerId);
      assertTtl(ttlMs);
      const current = this.#live(this.#claims, sessionId);
      if (current !== undefined && current !== workerId) return current;
      this.#set(this.#claims, sessionId, workerId, ttlMs);
      return workerId;
    });
  }

  /** Extends the claim by `ttlMs` from now iff `workerId` owns it. */
  refresh(sessionId: string, workerId: string, ttlMs: number): Promise<boolean> {
    return this.#run(() => {
      assertStoreId('sessionId', sessionId);
      assertStoreId('workerId', workerId);
      assertTtl(ttlMs);
      if (this.#live(this.#claims, sessionId) !== workerId) return false;
      this.#set(this.#claims, sessionId, workerId, ttlMs);
      return true;
    });
  }

  /** Deletes the claim iff `workerId` owns it. */
  release(sessionId: string, workerId: string): Promise<boolean> {
    return this.#run(() => {
      assertStoreId('sessionId', sessionId);
      assertStoreId('workerId', workerId);
      if (this.#live(this.#claims, sessionId) !== workerId) return false;
      this.#claims.delete(sessionId);
      return true;
    });
  }

  /** The worker holding an unexpired claim on `sessionId`, or `null`. */
  owner(sessionId: string): Promise<string | null> {
    return this.#run(() => {
      assertStoreId('sessionId', sessionId);
      return this.#live(this.#claims, sessionId) ?? null;
    });
  }

  /** Moves the claim from `deadWorkerId` to `workerId` (TTL `ttlMs`) iff `deadWorkerId` still owns it. */
  reclaim(sessionId: string, deadWorkerId: string, workerId: string, ttlMs: number): Promise<boolean> {
    return this.#run(() => {
      assertStoreId('sessionId', sessionId);
      assertStoreId('deadWorkerId', deadWorkerId);
      assertStoreId('workerId', workerId);
      assertTtl(ttlMs);
      if (this.#live(this.#claims, sessionId) !== deadWorkerId) return false;
      this.#set(this.#claims, sessionId, workerId, ttlMs);
      return true;
    });
  }

  /** Records that `workerId` is alive for the next `ttlMs`. */
  heartbeat(workerId: string, ttlMs: number): Promise<void> {
    return this.#run(() => {
      assertStoreId('workerId', workerId);
      assertTtl(ttlMs);
      this.#set(this.#heartbeats, workerId, workerId, ttlMs);
    });
  }

  /** Whether `workerId` has an unexpired heartbeat. */
  isAlive(workerId: string): Promise<boolean> {
    return this.#run(() => {
      assertStoreId('workerId', workerId);
      return this.#live(this.#heartbeats, workerId) !== undefined;
    });
  }

  /**
   * Forgets every claim and heartbeat at once, as a store that lost its data does (a Redis restarted without
   * persistence, `FLUSHALL`, maxmemory eviction). For tests of what workers do after such a loss.
   *
   * @example
   * ```ts
   * await registry.route('session-1');
   * store.clear(); // the claim and this worker's heartbeat are gone; the worker must not be seen as dead
   * ```
   */
  clear(): void {
    this.#claims.clear();
    this.#heartbeats.clear();
    this.#sweepAt = SWEEP_FLOOR;
  }

  /** Runs a synchronous (hence atomic) operation; validation errors become rejections, as in any store. */
  #run<T>(operation: () => T): Promise<T> {
    return new Promise<T>((resolve) => {
      resolve(operation());
    });
  }

  #live(map: Map<string, Expiring>, key: string): string | undefined {
    const record = map.get(key);
    if (record === undefined) return undefined;
    if (record.expiresAt <= this.#clock.now()) {
      map.delete(key);
      return undefined;
    }
    return record.value;
  }

  #set(map: Map<string, Expiring>, key: string, value: string, ttlMs: number): void {
    map.set(key, { value, expiresAt: this.#clock.now() + ttlMs });
    if (this.#claims.size + this.#heartbeats.size >= this.#sweepAt) this.#sweep();
  }

  /** Drops expired records; runs when the store has doubled since the last sweep, so its cost is amortized. */
  #sweep(): void {
    const now = this.#clock.now();
    for (const map of [this.#claims, this.#heartbeats]) {
      for (const [key, record] of map) if (record.expiresAt <= now) map.delete(key);
    }
    this.#sweepAt = Math.max(SWEEP_FLOOR, 2 * (this.#claims.size + this.#heartbeats.size));
  }
}
