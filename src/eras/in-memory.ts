import { systemClock, type Clock } from '../clock.js';
import { InvalidOptionsError } from '../errors.js';
import { type EraStore, type EraVerdict } from './store.js';
import { assertEraKey, assertEraTtl, assertEraVerdict, copyVerdict } from './verdict.js';

/** Options of {@link InMemoryEraStore}. */
export interface InMemoryEraStoreOptions {
  /** Time source for TTLs. @default systemClock */
  clock?: Clock;
}

interface Stored {
  readonly verdict: EraVerdict;
  readonly expiresAt: number;
}

/** Below this many verdicts the store never sweeps; above it, it sweeps when the map doubles. */
const SWEEP_FLOOR = 1024;

/**
 * An {@link EraStore} in this process's memory, with TTLs measured by a {@link Clock}. The SDK v2 factory
 * makes one per factory when none is given; share one instance between factories of one process, or use
 * `RedisEraStore` (`mcp-upstream-sessions/redis`) to share verdicts between processes. Expiry is checked on
 * read, so the store runs no timers; expired verdicts are swept as the store grows. Values are copied in and
 * out.
 *
 * Every method rejects with `InvalidRequestError` for a key that is not a non-empty string (at most 1024
 * characters), a malformed verdict, or a TTL that is not a positive integer number of milliseconds.
 *
 * @example
 * ```ts
 * const eraStore = new InMemoryEraStore();
 * const sessionFactory = createSdkV2SessionFactory({ eraStore });
 * ```
 */
export class InMemoryEraStore implements EraStore {
  readonly #clock: Clock;
  readonly #verdicts = new Map<string, Stored>();
  #sweepAt = SWEEP_FLOOR;

  /**
   * @param options - `clock` decides when verdicts expire.
   * @throws {@link InvalidOptionsError} for a non-object, an unknown key or a `clock` without `now()`.
   */
  constructor(options?: InMemoryEraStoreOptions) {
    if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
      throw new InvalidOptionsError('options', `Expected options to be an object, got ${options === null ? 'null' : typeof options}`);
    }
    for (const key of Object.keys(options ?? {})) {
      if (key !== 'clock') throw new InvalidOptionsError(key, `Unknown option \`${key}\``);
    }
    const clock = options?.clock;
    if (clock !== undefined && (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function')) {
      throw new InvalidOptionsError('clock', 'Expected `clock` to be an object with a `now` method');
    }
    this.#clock = clock ?? systemClock;
  }

  /** Number of verdicts held, expired ones not yet swept included (for diagnostics and tests). */
  get size(): number {
    return this.#verdicts.size;
  }

  get(key: string): Promise<EraVerdict | undefined> {
    return this.#run(() => {
      assertEraKey(key);
      const stored = this.#verdicts.get(key);
      if (stored === undefined) return undefined;
      if (stored.expiresAt <= this.#clock.now()) {
        this.#verdicts.delete(key);
        return undefined;
      }
      return copyVerdict(stored.verdict);
    });
  }

  set(key: string, verdict: EraVerdict, ttlMs: number): Promise<void> {
    return this.#run(() => {
      assertEraKey(key);
      assertEraVerdict(verdict);
      assertEraTtl(ttlMs);
      this.#verdicts.delete(key);
      this.#verdicts.set(key, { verdict: copyVerdict(verdict), expiresAt: this.#clock.now() + ttlMs });
      if (this.#verdicts.size >= this.#sweepAt) this.#sweep();
    });
  }

  delete(key: string): Promise<void> {
    return this.#run(() => {
      assertEraKey(key);
      this.#verdicts.delete(key);
    });
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const [key, stored] of this.#verdicts) if (stored.expiresAt <= now) this.#verdicts.delete(key);
    this.#sweepAt = Math.max(SWEEP_FLOOR, this.#verdicts.size * 2);
  }

  /** Runs `fn` and turns its result or throw into a promise, so validation errors reject instead of throwing. */
  #run<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
