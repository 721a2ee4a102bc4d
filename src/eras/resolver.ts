import { type Clock } from '../clock.js';
import { type EraStore, type EraVerdict } from './store.js';

/** Verdict lifetimes of an {@link EraResolver}, in milliseconds. */
export interface EraLifetimes {
  readonly legacyVerdictTtlMs: number;
  readonly modernVerdictTtlMs: number;
}

/** A probe in flight for one key: settle it once with the verdict, or with the failure. */
export interface EraProbe {
  /** What waiters await. Never rejects unhandled (a no-op handler is attached). */
  readonly verdict: Promise<EraVerdict>;
  resolve(verdict: EraVerdict): void;
  reject(error: unknown): void;
}

/**
 * Raised to the waiters of a shared probe whose prober gave up before it learnt the era (its creation was
 * abandoned and the connect cut short). Not an upstream failure: a waiter starts a probe of its own.
 */
export class EraProbeAbandonedError extends Error {
  override readonly name = 'EraProbeAbandonedError';
  constructor() {
    super('The shared era probe was abandoned before it finished');
  }
}

/**
 * The era cache policy of one factory over an {@link EraStore}: verdict ages by the factory's clock, at most
 * one probe per key in flight in this process, and store failures that never fail a creation (a store that
 * cannot answer is a miss; a write that fails is dropped — the next creation probes again).
 *
 * @example
 * ```ts
 * const resolver = new EraResolver(new InMemoryEraStore(), systemClock, { legacyVerdictTtlMs: 600_000, modernVerdictTtlMs: 3_600_000 });
 * const key = 'c0ffee…'; // the SHA-256 era key of (upstream, principal)
 * const verdict = (await resolver.lookup(key)) ?? (await resolver.inflight(key)?.verdict);
 * ```
 */
export class EraResolver {
  readonly #probes = new Map<string, EraProbe>();

  constructor(
    readonly store: EraStore,
    private readonly clock: Clock,
    private readonly lifetimes: EraLifetimes,
  ) {}

  /**
   * The usable cached verdict of `key`, or `undefined`: none stored, the store failed, or the verdict is
   * older (by `checkedAt` and the factory's clock) than its era's TTL — a store that keeps it longer does not
   * keep a legacy verdict alive past `legacyVerdictTtlMs`.
   */
  async lookup(key: string): Promise<EraVerdict | undefined> {
    let verdict: EraVerdict | undefined;
    try {
      verdict = await this.store.get(key);
    } catch {
      return undefined;
    }
    if (verdict === undefined) return undefined;
    const ttl = verdict.era === 'legacy' ? this.lifetimes.legacyVerdictTtlMs : this.lifetimes.modernVerdictTtlMs;
    return this.clock.now() - verdict.checkedAt < ttl ? verdict : undefined;
  }

  /** Stores a verdict just learnt (dated now) with its era's TTL; a failing store is ignored. */
  async record(key: string, verdict: { era: 'legacy' } | { era: 'modern'; discover: Record<string, unknown> }): Promise<EraVerdict> {
    const dated: EraVerdict =
      verdict.era === 'modern'
        ? { era: 'modern', discover: verdict.discover, checkedAt: this.clock.now() }
        : { era: 'legacy', checkedAt: this.clock.now() };
    const ttl = dated.era === 'legacy' ? this.lifetimes.legacyVerdictTtlMs : this.lifetimes.modernVerdictTtlMs;
    try {
      await this.store.set(key, dated, ttl);
    } catch {
      // The verdict still serves this creation and its waiters; the next miss probes again.
    }
    return dated;
  }

  /** Deletes the verdict of `key` (it no longer matches the server); a failing store is ignored. */
  async forget(key: string): Promise<void> {
    try {
      await this.store.delete(key);
    } catch {
      // Nothing better to do: the stale verdict fails loudly again and is retried.
    }
  }

  /** The probe in flight for `key` in this process, if any. */
  inflight(key: string): EraProbe | undefined {
    return this.#probes.get(key);
  }

  /**
   * Registers the probe the caller is about to run for `key` (there must be none in flight). It is removed
   * when settled — only if it is still the one registered, so a late settle never removes a successor.
   */
  begin(key: string): EraProbe {
    let resolve!: (verdict: EraVerdict) => void;
    let reject!: (error: unknown) => void;
    const verdict = new Promise<EraVerdict>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    verdict.catch(() => undefined);
    const remove = (): void => {
      if (this.#probes.get(key) === probe) this.#probes.delete(key);
    };
    const probe: EraProbe = {
      verdict,
      resolve: (value) => {
        remove();
        resolve(value);
      },
      reject: (error) => {
        remove();
        reject(error);
      },
    };
    this.#probes.set(key, probe);
    return probe;
  }
}
