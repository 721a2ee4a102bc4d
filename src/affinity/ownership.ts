import pLimit from 'p-limit';
import { withDeadline } from '../async.js';
import { type Clock } from '../clock.js';
import { NotOwnerError, StoreTimeoutError } from '../errors.js';
import { type AffinityErrorEvent } from '../events.js';
import { type LogFields, type Logger } from '../logger.js';
import { redactText } from '../sanitize.js';
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

/** Log fields of a store error, with URLs (a `redis://user:pass@…` in an ioredis message) and credentials redacted. */
function errorFields(error: unknown): { errorName: string; errorMessage: string } {
  try {
    if (error instanceof Error) return { errorName: String(error.name), errorMessage: redactText(String(error.message)) };
    return { errorName: typeof error, errorMessage: typeof error === 'string' ? redactText(error) : typeof error };
  } catch {
    return { errorName: 'unknown', errorMessage: 'unreadable error' };
  }
}

/**
 * The error as `affinity:error` emits it: itself when its message is already safe, else a copy with the message
 * redacted (same `name` and `code`), the original as `cause` — raw causes are the host's to redact.
 */
function redactedError(error: unknown): unknown {
  try {
    if (!(error instanceof Error)) return typeof error === 'string' ? redactText(error) : error;
    const message = String(error.message);
    const safe = redactText(message);
    if (safe === message) return error;
    const copy = new Error(safe, { cause: error });
    copy.name = String(error.name);
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') Object.assign(copy, { code });
    return copy;
  } catch {
    return error;
  }
}

/**
 * The registry's side of multi-worker affinity (SPEC §6): worker heartbeats, claims, batched refreshes of
 * the claims of live local sessions, and releases.
 *
 * Nothing about ownership is cached: every {@link Ownership.route} and {@link Ownership.ensureLocal} asks
 * the store, so two workers never both believe they own one downstream session because of stale local
 * state. Store failures (rejections and calls slower than `storeTimeoutMs`) fail open: the session is
 * treated as local, `onError` is called and a warning is logged (URLs and credentials in the store's error
 * message redacted). A logger or `onError` hook that throws never changes a decision and never causes an
 * unhandled rejection. Timers go through the {@link Clock} (`systemClock` unrefs them), so heartbeats never
 * keep the process alive.
 *
 * The worker never assumes its heartbeat key survived: every claim round writes the heartbeat first (a store
 * restart without persistence, `FLUSHALL` or an eviction can drop it silently, and a fresh claim without a
 * heartbeat would look like a dead worker's claim to every other worker). Concurrent claims share one
 * heartbeat write. A failed heartbeat is retried on the next `heartbeatMs` tick.
 *
 * @example
 * ```ts
 * const ownership = new Ownership({ store, workerId: 'w1', ttlMs: 300_000, heartbeatMs: 10_000,
 *   clock: systemClock, logger: log, onError: (event) => registry.emit('affinity:error', event) });
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
    const outcome = await withDeadline(this.#clock, timeoutMs, () => work);
    if (outcome.status === 'timeout') {
      timedOut = true;
      this.#log('warn', 'Affinity claims not all released before the close deadline; they expire by TTL', {
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
          this.#log('info', 'Reclaimed a downstream session from a dead worker', {
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

  /**
   * Starts the periodic beat (also when this first write fails: it is retried on the next tick), then writes a
   * heartbeat before the claim — never assuming the last one survived a store restart.
   */
  async #ensureHeartbeat(): Promise<void> {
    this.#scheduleHeartbeat();
    await this.#beat();
  }

  /**
   * One heartbeat write. Callers that arrive while one is in flight share it: it completes before their claim
   * is sent, which is all a claim needs. Rejects on failure; the caller reports it.
   */
  #beat(): Promise<void> {
    this.#heartbeatInFlight ??= this.#bounded('heartbeat', () =>
      this.#store.heartbeat(this.#workerId, this.#heartbeatTtlMs),
    ).finally(() => {
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

  /**
   * Runs one store call, failing it with {@link StoreTimeoutError} when it does not settle within
   * `storeTimeoutMs`. A store that throws synchronously fails like one that rejects.
   */
  async #bounded<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const outcome = await withDeadline(this.#clock, this.#storeTimeoutMs, call);
    if (outcome.status === 'ok') return outcome.value;
    throw outcome.status === 'error' ? outcome.error : new StoreTimeoutError(operation, this.#storeTimeoutMs);
  }

  /** Logs without ever throwing: a broken logger must not change a routing decision. */
  #log(level: keyof Logger, message: string, fields: LogFields): void {
    try {
      this.#logger[level](message, fields);
    } catch {
      // The logger is broken; there is nowhere left to report it.
    }
  }

  /**
   * A store failure: a warning is logged and `onError` called, both with URLs and credentials in the error's
   * message redacted (the original stays reachable as the emitted error's `cause`).
   */
  #report(
    operation: string,
    error: unknown,
    downstreamSessionId?: string,
    message = 'Affinity store call failed; treating the downstream session as local',
  ): void {
    this.#log('warn', message, {
      workerId: this.#workerId,
      operation,
      ...errorFields(error),
    });
    const safe = redactedError(error);
    const event: AffinityErrorEvent =
      downstreamSessionId === undefined ? { operation, error: safe } : { operation, downstreamSessionId, error: safe };
    try {
      this.options.onError(event);
    } catch (listenerError) {
      this.#log('error', 'affinity onError hook threw', { operation, ...errorFields(listenerError) });
    }
  }
}
