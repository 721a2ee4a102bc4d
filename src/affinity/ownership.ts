import pLimit from 'p-limit';
import { type Clock } from '../clock.js';
import { NotOwnerError } from '../errors.js';
import { type AffinityErrorEvent } from '../events.js';
import { type Logger } from '../logger.js';
import { type AffinityStore, type RouteDecision } from './store.js';
import { MAX_TTL_MS } from './validate.js';

/** Settings of {@link Ownership}. */
export interface OwnershipOptions {
  store: AffinityStore;
  workerId: string;
  /** TTL of ownership claims; tracked claims are refreshed every `ttlMs / 3`. */
  ttlMs: number;
  /** Interval of worker heartbeats; each heartbeat lives `3 × heartbeatMs`. */
  heartbeatMs: number;
  clock: Clock;
  logger: Logger;
  /** Called for every store failure (the registry emits `affinity:error`). Must not throw. */
  onError(event: AffinityErrorEvent): void;
  /**
   * Longest wait for one store call (and for the releases in {@link Ownership.close}); a call that takes
   * longer counts as a store failure. @default 5000
   */
  storeTimeoutMs?: number;
  /** Most store calls in flight during a refresh batch or {@link Ownership.close}. @default 16 */
  concurrency?: number;
}

/** Default of {@link OwnershipOptions.storeTimeoutMs}. */
export const DEFAULT_STORE_TIMEOUT_MS = 5_000;
/** Default of {@link OwnershipOptions.concurrency}. */
export const DEFAULT_STORE_CONCURRENCY = 16;

/** Claim/alive/reclaim rounds `route` tries before it settles for the owner it last saw. */
const MAX_ROUTE_ROUNDS = 3;

/** A store call that did not settle within `storeTimeoutMs`. */
class StoreTimeoutError extends Error {
  constructor(operation: string, timeoutMs: number) {
    super(`Affinity store ${operation} did not settle within ${timeoutMs} ms`);
    this.name = 'StoreTimeoutError';
  }
}

const noop = (): void => undefined;

/** Runs `fn` over `items` with at most `limit` calls in flight (p-limit); skips the rest once `stopped()`. */
async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
  stopped: () => boolean = () => false,
): Promise<void> {
  const run = pLimit(limit);
  await Promise.all(items.map((item) => run(() => (stopped() ? undefined : fn(item)))));
}

function errorFields(error: unknown): { errorName: string; errorMessage: string } {
  if (error instanceof Error) return { errorName: error.name, errorMessage: error.message };
  return { errorName: typeof error, errorMessage: String(error) };
}

/**
 * The registry's side of multi-worker affinity (SPEC §6): worker heartbeats, claims, batched refreshes of
 * the claims of live local sessions, and releases.
 *
 * Nothing about ownership is cached: every {@link Ownership.route} and {@link Ownership.ensureLocal} asks
 * the store, so two workers never both believe they own one downstream session because of stale local
 * state. Store failures (rejections and calls slower than `storeTimeoutMs`) fail open: the session is
 * treated as local, `onError` is called and a warning is logged. Timers go through the {@link Clock}
 * (`systemClock` unrefs them), so heartbeats never keep the process alive.
 *
 * @example
 * ```ts
 * const ownership = new Ownership({ store, workerId: 'w1', ttlMs: 300_000, heartbeatMs: 10_000,
 *   clock: systemClock, logger: silentLogger, onError: (event) => registry.emit('affinity:error', event) });
 * const decision = await ownership.route('session-1'); // { local: true, owner: 'w1' }
 * ```
 */
export class Ownership {
  readonly #store: AffinityStore;
  readonly #workerId: string;
  readonly #ttlMs: number;
  readonly #heartbeatMs: number;
  readonly #heartbeatTtlMs: number;
  readonly #refreshMs: number;
  readonly #storeTimeoutMs: number;
  readonly #concurrency: number;
  readonly #clock: Clock;
  readonly #logger: Logger;

  /** Downstream sessions with a live local session: their claims are refreshed in batches. */
  readonly #tracked = new Set<string>();
  /** Releases in flight, so a new claim for the same id waits until the old one is gone. */
  readonly #releasing = new Map<string, Promise<void>>();
  /** A heartbeat succeeded and no store call failed since: claims may go ahead without a new heartbeat. */
  #heartbeatFresh = false;
  #heartbeatInFlight: Promise<void> | undefined;
  #heartbeatTimer: unknown;
  #refreshTimer: unknown;
  #closed = false;
  #closing: Promise<void> | undefined;

  /**
   * @param options - The store, this worker's id, TTLs, clock, logger and the `onError` hook. The registry
   *   validates them; this class trusts them.
   */
  constructor(readonly options: OwnershipOptions) {
    this.#store = options.store;
    this.#workerId = options.workerId;
    this.#ttlMs = options.ttlMs;
    this.#heartbeatMs = options.heartbeatMs;
    this.#heartbeatTtlMs = Math.min(3 * options.heartbeatMs, MAX_TTL_MS);
    this.#refreshMs = Math.max(1, Math.floor(options.ttlMs / 3));
    this.#storeTimeoutMs = options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
    this.#concurrency = options.concurrency ?? DEFAULT_STORE_CONCURRENCY;
    this.#clock = options.clock;
    this.#logger = options.logger;
  }

  /** Downstream sessions whose claims are being kept alive. */
  get trackedCount(): number {
    return this.#tracked.size;
  }

  /** Whether {@link Ownership.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * SPEC §6 `route()`: claims `downstreamSessionId`; owned by this worker → local; owned by a live worker
   * → remote; owned by a dead worker → compare-and-set reclaim → local if won, else the winner. Store
   * failures → local (reported through `onError`). After {@link Ownership.close}: local, without store calls.
   * Never rejects.
   */
  async route(downstreamSessionId: string): Promise<RouteDecision> {
    if (this.#closed) return { local: true, owner: this.#workerId };
    await this.#releasing.get(downstreamSessionId);
    return this.#decide(downstreamSessionId);
  }

  /**
   * Called by the registry before it creates the first local session for `downstreamSessionId`: claims it
   * exactly as {@link Ownership.route} does. Store failures fail open (resolve).
   * @throws {@link NotOwnerError} (with `owner`) when another live worker owns the session.
   */
  async ensureLocal(downstreamSessionId: string): Promise<void> {
    if (this.#closed) return;
    await this.#releasing.get(downstreamSessionId);
    const decision = await this.#decide(downstreamSessionId);
    if (!decision.local) throw new NotOwnerError(downstreamSessionId, decision.owner);
  }

  /** The registry now holds a live session for `downstreamSessionId`: keep its claim refreshed. */
  track(downstreamSessionId: string): void {
    if (this.#closed) return;
    this.#tracked.add(downstreamSessionId);
    this.#scheduleRefresh();
  }

  /**
   * The last local session of `downstreamSessionId` is gone: stop refreshing and release the claim (in the
   * background; failures go to `onError`). Never throws.
   */
  release(downstreamSessionId: string): void {
    if (this.#closed) return;
    this.#tracked.delete(downstreamSessionId);
    const previous = this.#releasing.get(downstreamSessionId) ?? Promise.resolve();
    const releasing: Promise<void> = previous
      .then(() => this.#bounded('release', () => this.#store.release(downstreamSessionId, this.#workerId)))
      .then(noop, (error: unknown) => this.#report('release', error, downstreamSessionId))
      .finally(() => {
        if (this.#releasing.get(downstreamSessionId) === releasing) this.#releasing.delete(downstreamSessionId);
      });
    this.#releasing.set(downstreamSessionId, releasing);
  }

  /**
   * Stops heartbeats and refreshes and releases every tracked claim. Bounded by `storeTimeoutMs` even when
   * the store hangs; idempotent (concurrent calls share one promise); never rejects. The heartbeat key is
   * left to expire (within `3 × heartbeatMs`).
   *
   * @param timeoutMs - Longest wait for the releases; claims not released by then expire by TTL.
   *   @default storeTimeoutMs
   */
  close(timeoutMs: number = this.#storeTimeoutMs): Promise<void> {
    this.#closing ??= this.#close(timeoutMs);
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    this.#clock.clearTimeout(this.#heartbeatTimer);
    this.#clock.clearTimeout(this.#refreshTimer);
    this.#heartbeatTimer = undefined;
    this.#refreshTimer = undefined;
    const ids = [...this.#tracked];
    this.#tracked.clear();
    let timedOut = false;
    const work = Promise.all([
      ...this.#releasing.values(),
      forEachLimit(
        ids,
        this.#concurrency,
        (id) =>
          this.#bounded('release', () => this.#store.release(id, this.#workerId)).then(noop, (error: unknown) =>
            this.#report('release', error, id),
          ),
        () => timedOut,
      ),
    ]);
    let timer: unknown;
    const deadline = new Promise<void>((resolve) => {
      timer = this.#clock.setTimeout(() => {
        timedOut = true;
        resolve();
      }, timeoutMs);
    });
    await Promise.race([work, deadline]);
    this.#clock.clearTimeout(timer);
    if (timedOut) {
      this.#logger.warn('Affinity claims not all released before the close deadline; they expire by TTL', {
        workerId: this.#workerId,
        claims: ids.length,
        timeoutMs,
      });
    }
  }

  /** The decision procedure shared by `route`, `ensureLocal` and lost-claim recovery. Never rejects. */
  async #decide(id: string): Promise<RouteDecision> {
    const local: RouteDecision = { local: true, owner: this.#workerId };
    let operation = 'heartbeat';
    try {
      await this.#ensureHeartbeat();
      operation = 'claim';
      let owner = await this.#bounded(operation, () => this.#store.claim(id, this.#workerId, this.#ttlMs));
      for (let round = 1; ; round += 1) {
        if (owner === this.#workerId) return local;
        const seen = owner;
        operation = 'isAlive';
        if (await this.#bounded(operation, () => this.#store.isAlive(seen))) return { local: false, owner: seen };
        operation = 'reclaim';
        if (await this.#bounded(operation, () => this.#store.reclaim(id, seen, this.#workerId, this.#ttlMs))) {
          this.#logger.info('Reclaimed a downstream session from a dead worker', {
            workerId: this.#workerId,
            deadWorkerId: seen,
          });
          return local;
        }
        // Another worker won the reclaim (or the claim expired): claiming again reads the winner.
        if (round >= MAX_ROUTE_ROUNDS) return { local: false, owner: seen };
        operation = 'claim';
        owner = await this.#bounded(operation, () => this.#store.claim(id, this.#workerId, this.#ttlMs));
      }
    } catch (error) {
      this.#report(operation, error, id);
      return local;
    }
  }

  /** Writes a heartbeat first if none succeeded since the last store failure; starts the periodic beat. */
  async #ensureHeartbeat(): Promise<void> {
    if (!this.#heartbeatFresh) await this.#beat();
    this.#scheduleHeartbeat();
  }

  /** One heartbeat (shared by concurrent callers). Rejects on failure; the caller reports it. */
  #beat(): Promise<void> {
    this.#heartbeatInFlight ??= this.#bounded('heartbeat', () =>
      this.#store.heartbeat(this.#workerId, this.#heartbeatTtlMs),
    )
      .then(() => {
        this.#heartbeatFresh = true;
      })
      .finally(() => {
        this.#heartbeatInFlight = undefined;
      });
    return this.#heartbeatInFlight;
  }

  #scheduleHeartbeat(): void {
    if (this.#closed || this.#heartbeatTimer !== undefined) return;
    this.#heartbeatTimer = this.#clock.setTimeout(() => {
      this.#heartbeatTimer = undefined;
      void this.#beat()
        .catch((error: unknown) => this.#report('heartbeat', error))
        .finally(() => this.#scheduleHeartbeat());
    }, this.#heartbeatMs);
  }

  #scheduleRefresh(): void {
    if (this.#closed || this.#refreshTimer !== undefined || this.#tracked.size === 0) return;
    this.#refreshTimer = this.#clock.setTimeout(() => {
      void this.#refreshAll();
    }, this.#refreshMs);
  }

  /** One batch: refreshes every tracked claim with bounded concurrency, then schedules the next batch. */
  async #refreshAll(): Promise<void> {
    await forEachLimit([...this.#tracked], this.#concurrency, (id) => this.#refreshOne(id), () => this.#closed);
    this.#refreshTimer = undefined;
    this.#scheduleRefresh();
  }

  async #refreshOne(id: string): Promise<void> {
    if (!this.#tracked.has(id)) return;
    let refreshed: boolean;
    try {
      refreshed = await this.#bounded('refresh', () => this.#store.refresh(id, this.#workerId, this.#ttlMs));
    } catch (error) {
      this.#report('refresh', error, id);
      return;
    }
    if (refreshed || !this.#tracked.has(id) || this.#closed) return;
    // The claim expired (a stall, or the store lost its data) or another worker took it: claim it back.
    const decision = await this.#decide(id);
    if (!this.#tracked.has(id)) {
      if (decision.local) this.release(id);
      return;
    }
    if (!decision.local) {
      this.#report('refresh', new NotOwnerError(id, decision.owner), id, 'Another worker took over a downstream session this worker serves');
    }
  }

  /** Runs one store call, failing it when it does not settle within `storeTimeoutMs`. */
  #bounded<T>(operation: string, call: () => Promise<T>): Promise<T> {
    let timer: unknown;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = this.#clock.setTimeout(() => {
        reject(new StoreTimeoutError(operation, this.#storeTimeoutMs));
      }, this.#storeTimeoutMs);
    });
    // A store that throws synchronously fails like one that rejects.
    const pending = new Promise<T>((resolve) => {
      resolve(call());
    });
    return Promise.race([pending, timeout]).finally(() => {
      this.#clock.clearTimeout(timer);
    });
  }

  /** A store failure: the next claim re-heartbeats first; a warning is logged and `onError` called. */
  #report(
    operation: string,
    error: unknown,
    downstreamSessionId?: string,
    message = 'Affinity store call failed; treating the downstream session as local',
  ): void {
    this.#heartbeatFresh = false;
    this.#logger.warn(message, {
      workerId: this.#workerId,
      operation,
      ...errorFields(error),
    });
    const event: AffinityErrorEvent =
      downstreamSessionId === undefined ? { operation, error } : { operation, downstreamSessionId, error };
    try {
      this.options.onError(event);
    } catch (listenerError) {
      this.#logger.error('affinity onError hook threw', { operation, ...errorFields(listenerError) });
    }
  }
}
