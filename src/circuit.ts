import { CircuitOpenError } from './errors.js';

/** State of one upstream's circuit breaker. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** What a recorded outcome changed, so the caller can emit `circuit:open` / `circuit:close`. */
export type CircuitTransition = 'opened' | 'closed' | undefined;

/**
 * Per-upstream circuit breaker over session creations (pure policy: time is passed in).
 *
 * `failureThreshold` consecutive failures open it; while open, creations fail fast with
 * {@link CircuitOpenError}; after `resetMs` one trial creation is let through (half-open). The trial's
 * success closes the circuit, its failure opens it again for another `resetMs`.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private trialRunning = false;
  state: CircuitState = 'closed';

  constructor(
    private readonly upstreamId: string,
    private readonly failureThreshold: number,
    private readonly resetMs: number,
    /** Reported as `retryAfterMs` while a half-open trial is running (the longest the trial can take). */
    private readonly trialMs: number,
  ) {}

  /** Consecutive failures so far. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** True when nothing distinguishes this breaker from a fresh one (it can be dropped). */
  get pristine(): boolean {
    return this.state === 'closed' && this.failures === 0;
  }

  /**
   * Asks to start a creation at time `now`.
   * @throws {@link CircuitOpenError} when the circuit is open, or half-open with its trial running.
   */
  beforeCreate(now: number): void {
    if (this.state === 'closed') return;
    if (this.state === 'open') {
      const remaining = this.openedAt + this.resetMs - now;
      if (remaining > 0) throw new CircuitOpenError(this.upstreamId, remaining);
      this.state = 'half-open';
    }
    if (this.trialRunning) throw new CircuitOpenError(this.upstreamId, this.trialMs);
    this.trialRunning = true;
  }

  /** Records a successful creation. */
  onSuccess(): CircuitTransition {
    const wasOpen = this.state !== 'closed';
    this.failures = 0;
    this.trialRunning = false;
    this.state = 'closed';
    return wasOpen ? 'closed' : undefined;
  }

  /** Records a failed creation at time `now`. */
  onFailure(now: number): CircuitTransition {
    this.failures += 1;
    this.trialRunning = false;
    if (this.state === 'half-open' || (this.state === 'closed' && this.failures >= this.failureThreshold)) {
      this.state = 'open';
      this.openedAt = now;
      return 'opened';
    }
    return undefined;
  }

  /** A creation that was let through ended without an outcome (aborted, evicted): free the trial slot. */
  onAbandon(): void {
    this.trialRunning = false;
  }

  /** Milliseconds until a trial is let through (0 unless open). */
  retryAfterMs(now: number): number {
    return this.state === 'open' ? Math.max(0, this.openedAt + this.resetMs - now) : 0;
  }
}
