import { CircuitOpenError } from './errors.js';

/** State of one upstream's circuit breaker. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** What a recorded outcome changed, so the caller can emit `circuit:open` / `circuit:close`. */
export type CircuitTransition = 'opened' | 'closed' | undefined;

/** Settings shared by every upstream's breaker. */
export interface CircuitPolicy {
  /** Consecutive creation failures that open the circuit. */
  readonly failureThreshold: number;
  /** First open period; doubles on each consecutive re-open. */
  readonly resetMs: number;
  /** Longest open period. */
  readonly maxResetMs: number;
  /** The longest a trial creation can take (`createTimeoutMs`): reported as `retryAfterMs` while it runs. */
  readonly trialMs: number;
}

/**
 * What `beforeCreate` lets through: a ticket the creation hands back with its outcome, so only the half-open
 * trial's own outcome frees the trial slot.
 */
export interface CircuitTicket {
  readonly trial: boolean;
}

const ORDINARY: CircuitTicket = Object.freeze({ trial: false });

/**
 * One upstream's circuit breaker over session creations (pure policy: time is passed in).
 *
 * `failureThreshold` consecutive failures open it; while open, creations fail fast with
 * {@link CircuitOpenError}. After the open period exactly one trial creation is let through (half-open). A
 * success closes the circuit and resets the backoff; the trial's failure re-opens it for twice as long (up to
 * `maxResetMs`), while failures of creations started before the circuit opened do not. A trial that ends without an outcome (evicted, aborted, rejected as
 * invalid) frees the slot for the next trial; a trial slot is also freed once `trialMs` has passed.
 */
export class CircuitBreaker {
  #failures = 0;
  #openedAt = 0;
  /** Consecutive re-opens since the circuit was last closed (0 = first open). */
  #reopens = 0;
  #trialStartedAt: number | undefined = undefined;
  /** Clock time of the last recorded event (for dropping breakers nobody uses). */
  #lastEventAt = 0;
  #state: CircuitState = 'closed';

  /**
   * @param upstreamId - The upstream this breaker guards (named in {@link CircuitOpenError}).
   * @param policy - Threshold and periods.
   */
  constructor(
    readonly upstreamId: string,
    private readonly policy: CircuitPolicy,
  ) {}

  /** The current state. */
  get state(): CircuitState {
    return this.#state;
  }

  /** Consecutive failures so far. */
  get consecutiveFailures(): number {
    return this.#failures;
  }

  /** The current open period (ms): `resetMs` doubled per consecutive re-open, capped at `maxResetMs`. */
  get openPeriodMs(): number {
    return Math.min(this.policy.maxResetMs, this.policy.resetMs * 2 ** Math.min(this.#reopens, 40));
  }

  /**
   * Whether this breaker can be dropped at `now`: closed with no failures, or quiet for `maxResetMs` past its
   * last event (closed) or the end of its open period (open) — the state of an upstream nobody asked for in that
   * long is forgotten. Never while a trial runs.
   */
  forgettable(now: number): boolean {
    if (this.#trialStartedAt !== undefined) return false;
    if (this.#state === 'closed' && this.#failures === 0) return true;
    const quietSince = this.#state === 'open' ? this.#openedAt + this.openPeriodMs : this.#lastEventAt;
    return now - quietSince >= this.policy.maxResetMs;
  }

  /**
   * Asks to start a creation at time `now`.
   * @returns the ticket to hand back with the creation's outcome.
   * @throws {@link CircuitOpenError} when the circuit is open, or half-open with its trial running.
   */
  beforeCreate(now: number): CircuitTicket {
    if (this.#state === 'closed') return ORDINARY;
    if (this.#state === 'open') {
      const remaining = this.#openedAt + this.openPeriodMs - now;
      if (remaining > 0) throw new CircuitOpenError(this.upstreamId, remaining);
      this.#state = 'half-open';
    }
    if (this.#trialStartedAt !== undefined) {
      const remaining = this.#trialStartedAt + this.policy.trialMs - now;
      if (remaining > 0) throw new CircuitOpenError(this.upstreamId, remaining);
    }
    this.#trialStartedAt = now;
    this.#lastEventAt = now;
    return { trial: true };
  }

  /** Records a successful creation (any success proves the upstream is up: it closes the circuit). */
  onSuccess(now: number): CircuitTransition {
    this.#lastEventAt = now;
    const wasOpen = this.#state !== 'closed';
    this.#failures = 0;
    this.#reopens = 0;
    this.#trialStartedAt = undefined;
    this.#state = 'closed';
    return wasOpen ? 'closed' : undefined;
  }

  /** Records a failed creation at time `now`. */
  onFailure(ticket: CircuitTicket, now: number): CircuitTransition {
    this.#lastEventAt = now;
    this.#failures += 1;
    if (this.#state === 'closed') {
      if (this.#failures < this.policy.failureThreshold) return undefined;
      this.#reopens = 0;
    } else {
      // Open or half-open: only the trial's own failure re-opens (and doubles the period).
      if (!ticket.trial) return undefined;
      this.#trialStartedAt = undefined;
      this.#reopens += 1;
    }
    this.#state = 'open';
    this.#openedAt = now;
    return 'opened';
  }

  /** A creation ended without an outcome (evicted, aborted, invalid, not the owner): only a trial frees its slot. */
  onAbandon(ticket: CircuitTicket): void {
    if (ticket.trial && this.#state === 'half-open') this.#trialStartedAt = undefined;
  }

  /** Milliseconds until a trial is let through (0 unless open). */
  retryAfterMs(now: number): number {
    return this.#state === 'open' ? Math.max(0, this.#openedAt + this.openPeriodMs - now) : 0;
  }
}

/**
 * Every upstream's breaker, created on its first failure and dropped once forgettable (closed with no failures,
 * or quiet for `maxResetMs`). Breakers live here, not in the upstream index, so an upstream's circuit outlives
 * its last session, and a gateway with dynamic upstream ids does not grow without bound.
 */
export class Circuits {
  readonly #breakers = new Map<string, CircuitBreaker>();

  /** @param policy - Shared settings, or `false` when the breaker is off (every method is then a no-op). */
  constructor(private readonly policy: CircuitPolicy | false) {}

  /** The upstream's breaker, if it has one. */
  get(upstreamId: string): CircuitBreaker | undefined {
    return this.#breakers.get(upstreamId);
  }

  /** The upstream's breaker, created when missing (`undefined` when the breaker is off). */
  ensure(upstreamId: string): CircuitBreaker | undefined {
    if (this.policy === false) return undefined;
    let breaker = this.#breakers.get(upstreamId);
    if (breaker === undefined) {
      breaker = new CircuitBreaker(upstreamId, this.policy);
      this.#breakers.set(upstreamId, breaker);
    }
    return breaker;
  }

  /**
   * Asks to start a creation for `upstreamId` at `now`.
   * @throws {@link CircuitOpenError}
   */
  beforeCreate(upstreamId: string, now: number): CircuitTicket {
    return this.#breakers.get(upstreamId)?.beforeCreate(now) ?? ORDINARY;
  }

  /** Drops the upstream's breaker if it is forgettable at `now`. */
  prune(upstreamId: string, now: number): void {
    if (this.#breakers.get(upstreamId)?.forgettable(now) === true) this.#breakers.delete(upstreamId);
  }

  /** Drops every forgettable breaker. */
  pruneAll(now: number): void {
    for (const [upstreamId, breaker] of this.#breakers) if (breaker.forgettable(now)) this.#breakers.delete(upstreamId);
  }

  /** Upstream ids with a breaker, in insertion order. */
  keys(): IterableIterator<string> {
    return this.#breakers.keys();
  }
}

/** The ticket of a creation the breaker never saw (breaker off). */
export const NO_TICKET: CircuitTicket = ORDINARY;
