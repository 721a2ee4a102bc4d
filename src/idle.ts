import { type Clock } from './clock.js';
import { type Entry, type UpstreamIndex } from './entry.js';
import { LruList } from './lru.js';
import { type EvictReason } from './types.js';

/** What {@link IdleTracker.verdict} says about handing out a ready session now. */
export type ReuseVerdict = 'reuse' | 'probe' | 'idle' | 'max-age';

/** Settings of an {@link IdleTracker}. */
export interface IdleSettings {
  readonly idleValidationMs: number;
  /** 0 = off. */
  readonly idleTtlMs: number;
  /** 0 = off. */
  readonly maxAgeMs: number;
  /** Keep per-upstream idle LRUs (only needed for a finite `maxSessionsPerUpstream`). */
  readonly perUpstream: boolean;
}

const noop = (): void => undefined;

/**
 * Idle and age bookkeeping of ready sessions: the idle LRU (registry-wide, and per upstream when a per-upstream
 * limit is set), staleness by the clock, and the idle-TTL and max-age sweeps. Features that are off get no-op
 * methods installed once (lru-cache's `#initializeTTLTracking` pattern), so the hit path pays nothing for them.
 *
 * Staleness is decided by `clock.now()` on each acquire ({@link IdleTracker.verdict}), not only by timers: after
 * a VM pause timers run late, but a session idle past `idleValidationMs` is still probed and one past
 * `idleTtlMs` or `maxAgeMs` is never handed out. The sweeps only close what nobody asks for.
 *
 * @example
 * ```ts
 * import { type Entry } from './entry.js';
 * declare const entry: Entry<FakeUpstreamClient>;
 * declare const settings: IdleSettings;
 * declare function evictEntry(entry: Entry<FakeUpstreamClient>, reason: EvictReason): void;
 * const idle = new IdleTracker(clock, settings, evictEntry);
 * idle.markIdle(entry);
 * idle.verdict(entry, clock.now()); // 'reuse' | 'probe' | 'idle' | 'max-age'
 * ```
 */
export class IdleTracker<C> {
  /** Ready sessions with no open lease, least recently used first. */
  readonly idle = new LruList<Entry<C>>();
  /** Live sessions in creation order (only kept when `maxAgeMs` is on). */
  readonly #byAge = new LruList<Entry<C>>();
  #sweepTimer: unknown = undefined;
  #sweepAt = Infinity;
  #stopped = false;

  /** Adds a new live session (to the age list when `maxAgeMs` is on). */
  readonly addLive: (entry: Entry<C>, now: number) => void;
  /** Forgets a session that left the registry. */
  readonly removeLive: (entry: Entry<C>) => void;
  /** Arms the TTL sweep for a session that just became idle. */
  readonly #armTtl: (lastUsedAt: number) => void;

  /**
   * @param clock - Owns the sweep timer.
   * @param settings - Which features are on.
   * @param evict - Evicts a session the sweep found expired (reason `idle` or `max-age`).
   * @param batch - Runs a whole sweep as one transition (the registry holds events until it ends).
   */
  constructor(
    private readonly clock: Clock,
    private readonly settings: IdleSettings,
    private readonly evict: (entry: Entry<C>, reason: EvictReason) => void,
    private readonly batch: (fn: () => void) => void = (fn) => fn(),
  ) {
    const { idleTtlMs, maxAgeMs } = settings;
    this.#armTtl = idleTtlMs > 0 ? (lastUsedAt) => this.#armSweep(lastUsedAt + idleTtlMs) : noop;
    if (maxAgeMs > 0) {
      this.addLive = (entry, now) => {
        this.#byAge.append(entry.ageNode);
        this.#armSweep(now + maxAgeMs);
      };
      this.removeLive = (entry) => {
        this.unidle(entry);
        this.#byAge.remove(entry.ageNode);
      };
    } else {
      this.addLive = noop;
      this.removeLive = (entry) => this.unidle(entry);
    }
  }

  /**
   * Whether a ready session may be handed out at `now`: past `maxAgeMs` → `max-age`; idle (no open lease) past
   * `idleTtlMs` → `idle`; idle longer than `idleValidationMs`, or suspect → `probe`; else `reuse`.
   */
  verdict(entry: Entry<C>, now: number): ReuseVerdict {
    const { maxAgeMs, idleTtlMs, idleValidationMs } = this.settings;
    if (maxAgeMs > 0 && now - entry.createdAt >= maxAgeMs) return 'max-age';
    if (entry.inFlight === 0) {
      const idleFor = now - entry.lastUsedAt;
      if (idleTtlMs > 0 && idleFor >= idleTtlMs) return 'idle';
      if (idleFor > idleValidationMs) return 'probe';
    }
    return entry.suspect ? 'probe' : 'reuse';
  }

  /**
   * {@link IdleTracker.verdict} at the clock's current time, reading the clock only when the answer depends on
   * it: a session with open leases is not idle, so without `maxAgeMs` it needs no clock read.
   */
  verdictNow(entry: Entry<C>): ReuseVerdict {
    if (entry.inFlight > 0 && this.settings.maxAgeMs === 0) return entry.suspect ? 'probe' : 'reuse';
    return this.verdict(entry, this.clock.now());
  }

  /** Whether a session whose last lease just ended (at `lastUsedAt`) is past `maxAgeMs`. */
  expiredAtRelease(entry: Entry<C>): boolean {
    return this.settings.maxAgeMs > 0 && entry.lastUsedAt - entry.createdAt >= this.settings.maxAgeMs;
  }

  /** A ready session's last lease (or probe) ended at `entry.lastUsedAt`: it is idle now. */
  markIdle(entry: Entry<C>): void {
    this.idle.append(entry.idleNode);
    if (this.settings.perUpstream) (entry.upstream as UpstreamIndex<C>).idle.append(entry.upstreamIdleNode);
    this.#armTtl(entry.lastUsedAt);
  }

  /** Takes a session out of the idle lists (it got a lease, started a probe, or is leaving). */
  unidle(entry: Entry<C>): void {
    this.idle.remove(entry.idleNode);
    if (this.settings.perUpstream) entry.upstream?.idle.remove(entry.upstreamIdleNode);
  }

  /** Cancels the sweep for good (`closeAll`). */
  stop(): void {
    this.#stopped = true;
    this.clock.clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    this.#sweepAt = Infinity;
  }

  #armSweep(at: number): void {
    if (this.#stopped || at >= this.#sweepAt) return;
    this.clock.clearTimeout(this.#sweepTimer);
    this.#sweepAt = at;
    this.#sweepTimer = this.clock.setTimeout(() => this.batch(() => this.sweep()), Math.max(0, at - this.clock.now()));
  }

  /** Evicts every idle session past `idleTtlMs` and every idle one past `maxAgeMs`; re-arms for the next. */
  sweep(): void {
    this.#sweepTimer = undefined;
    this.#sweepAt = Infinity;
    const now = this.clock.now();
    const { idleTtlMs, maxAgeMs } = this.settings;
    let next = Infinity;
    if (idleTtlMs > 0) {
      for (const entry of this.idle) {
        if (now - entry.lastUsedAt < idleTtlMs) {
          next = entry.lastUsedAt + idleTtlMs;
          break;
        }
        this.evict(entry, 'idle');
      }
    }
    if (maxAgeMs > 0) {
      for (const entry of this.#byAge) {
        if (now - entry.createdAt < maxAgeMs) {
          next = Math.min(next, entry.createdAt + maxAgeMs);
          break;
        }
        // Busy sessions are closed when their last lease is released.
        if (entry.inFlight === 0 && entry.state === 'ready') this.evict(entry, 'max-age');
      }
    }
    if (next !== Infinity) this.#armSweep(next);
  }
}
