import { cuttableDelay, withDeadline } from './async.js';
import { type Clock } from './clock.js';
import { type Entry } from './entry.js';
import { CloseGraceEndedError } from './errors.js';
import { type UpstreamConnection } from './factory.js';

/** What the closer reports back to the registry (counters, events, logs). */
export interface CloserHooks<C> {
  /** A close did not settle within grace + `closeTimeoutMs` and was abandoned. */
  onTimeout(entry: Entry<C>): void;
  /** A close rejected (or threw). */
  onError(entry: Entry<C>, error: unknown): void;
}

/**
 * Closes evicted sessions in bounded time: drain (wait for open leases, at most `closeTimeoutMs`), then
 * `connection.close(signal)` with a grace window after which `signal` fires with {@link CloseGraceEndedError},
 * then at most `closeTimeoutMs` more before the close is abandoned. Also closes orphans (connections that
 * arrived after their creation was abandoned). Every close is tracked until it settles, so `closeAll` can wait
 * for all of them; no close ever rejects.
 *
 * @example
 * ```ts
 * import { type Entry } from './entry.js';
 * declare const entry: Entry<FakeUpstreamClient>;
 * declare const hooks: CloserHooks<FakeUpstreamClient>;
 * const closer = new Closer(clock, 5_000, hooks);
 * await closer.close(entry); // resolves within about 3 × closeTimeoutMs, never rejects
 * ```
 */
export class Closer<C> {
  /** Evicted sessions still draining (their leases open), so `closeAll` can cut their drains short. */
  readonly #draining = new Set<Entry<C>>();
  /** Closes in progress. */
  readonly #closing = new Set<Promise<void>>();

  /**
   * @param clock - Owns every timer.
   * @param closeTimeoutMs - The drain bound, the grace window and the abandon bound.
   * @param hooks - Reports timeouts and errors.
   */
  constructor(
    private readonly clock: Clock,
    private readonly closeTimeoutMs: number,
    private readonly hooks: CloserHooks<C>,
  ) {}

  /** Evicted sessions whose leases are still open. */
  get draining(): ReadonlySet<Entry<C>> {
    return this.#draining;
  }

  /**
   * Drains `entry` then closes its connection; `graceEndsAt` (clock time) shortens the grace window (a
   * `closeAll` deadline). Tracked; never rejects.
   */
  close(entry: Entry<C>, graceEndsAt?: number): Promise<void> {
    return this.#track(this.#drainAndClose(entry, graceEndsAt));
  }

  /** Closes a connection that arrived after the registry gave up on its creation, at once and bounded. */
  orphan(entry: Entry<C>, connection: UpstreamConnection<C>): void {
    void this.#track(this.#closeConnection(entry, connection, this.closeTimeoutMs));
  }

  /** Stops waiting for the leases of every draining session (`closeAll`). */
  cutDrains(): void {
    for (const entry of [...this.#draining]) entry.onDrained?.();
  }

  /** Settles once every close tracked so far has settled. */
  async settled(): Promise<void> {
    await Promise.all([...this.#closing]);
  }

  #track(closing: Promise<void>): Promise<void> {
    this.#closing.add(closing);
    void closing.then(() => this.#closing.delete(closing));
    return closing;
  }

  async #drainAndClose(entry: Entry<C>, graceEndsAt: number | undefined): Promise<void> {
    if (entry.inFlight > 0) {
      this.#draining.add(entry);
      const wait = cuttableDelay(this.clock, this.closeTimeoutMs);
      entry.onDrained = () => {
        entry.onDrained = undefined;
        wait.cut();
      };
      await wait.promise;
      entry.onDrained = undefined;
      this.#draining.delete(entry);
    }
    entry.state = 'closed';
    const graceMs = graceEndsAt !== undefined ? Math.max(0, graceEndsAt - this.clock.now()) : this.closeTimeoutMs;
    await this.#closeConnection(entry, entry.connection as UpstreamConnection<C>, graceMs);
  }

  /**
   * Calls `connection.close(signal)` once: the signal fires after `graceMs`; a close still unsettled
   * `closeTimeoutMs` later is abandoned. Never rejects.
   */
  async #closeConnection(entry: Entry<C>, connection: UpstreamConnection<C>, graceMs: number): Promise<void> {
    const controller = new AbortController();
    const graceTimer = this.clock.setTimeout(() => controller.abort(new CloseGraceEndedError(graceMs)), graceMs);
    const outcome = await withDeadline(this.clock, graceMs + this.closeTimeoutMs, () => connection.close(controller.signal));
    this.clock.clearTimeout(graceTimer);
    if (outcome.status === 'timeout') this.hooks.onTimeout(entry);
    else if (outcome.status === 'error') this.hooks.onError(entry, outcome.error);
  }
}
