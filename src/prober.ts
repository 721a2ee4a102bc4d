import { type Clock } from './clock.js';
import { publishProbeEnd, publishProbeError, publishProbeResult, publishProbeStart } from './diagnostics.js';
import { type IsolatedEmitter } from './emitter.js';
import { type Entry } from './entry.js';
import { type RegistryEvents } from './events.js';
import { type UpstreamConnection } from './factory.js';
import { type IdleTracker } from './idle.js';
import { errorText, logEntry, type SafeLog } from './log.js';
import { runSessionProbe } from './probe-step.js';
import { type RegistryStats } from './stats.js';
import { type ProbeStep } from './types.js';

/** The parts a {@link Prober} works with (owned by the registry). */
export interface ProberParts<C> {
  /** The registry (published as the diagnostics contexts' `registry`). */
  readonly owner: object;
  readonly clock: Clock;
  readonly log: SafeLog;
  readonly events: IsolatedEmitter<RegistryEvents>;
  readonly idle: IdleTracker<C>;
  readonly stats: RegistryStats;
  readonly probes: readonly ProbeStep[];
  readonly probeTimeoutMs: number;
  /** A ready session's last use ended: mark it idle (or close it when too old). */
  readonly becameIdle: (entry: Entry<C>) => void;
  /** Replaces an unhealthy session (reason `probe-failed`). */
  readonly evict: (entry: Entry<C>, reason: 'probe-failed') => void;
}

/**
 * Health probes before reuse (SPEC §4.3): one probe per session at a time, shared by every acquirer through the
 * entry's `pending` promise. Healthy → ready again (a suspect mark is cleared); unhealthy → evicted
 * `probe-failed`, and waiters create a fresh session; a programming error is surfaced to the waiters and the
 * session stays.
 *
 * @example
 * ```ts
 * import { type Entry } from './entry.js';
 * declare const entry: Entry<FakeUpstreamClient>;
 * declare const prober: Prober<FakeUpstreamClient>;
 * prober.start(entry);  // state 'probing'
 * await entry.pending;  // the probe's outcome is decided
 * ```
 */
export class Prober<C> {
  /** @param parts - The registry's parts. */
  constructor(private readonly parts: ProberParts<C>) {}

  /** Starts probing a ready session. */
  start(entry: Entry<C>): void {
    entry.state = 'probing';
    this.parts.idle.unidle(entry);
    const controller = new AbortController();
    entry.controller = controller;
    entry.beginPending();
    publishProbeStart(this.parts.owner, entry, this.parts.clock);
    void this.#run(entry, controller);
    publishProbeEnd(entry);
  }

  async #run(entry: Entry<C>, controller: AbortController): Promise<void> {
    const { clock, events, stats } = this.parts;
    const startedAt = clock.now();
    stats.counters.probes += 1;
    let result: Awaited<ReturnType<typeof runSessionProbe>>;
    try {
      result = await runSessionProbe(entry.connection as UpstreamConnection<C>, {
        probes: this.parts.probes,
        timeoutMs: this.parts.probeTimeoutMs,
        signal: controller.signal,
        clock,
      });
    } catch (error) {
      if (entry.state !== 'probing') {
        publishProbeError(entry, controller.signal.reason, clock); // evicted meanwhile: waiters were already released
        return;
      }
      publishProbeError(entry, error, clock);
      // A programming error: surface it instead of reconnecting in a loop. The session stays; the probe counts
      // as a use (which also keeps the idle list ordered by lastUsedAt).
      events.batch(() => {
        this.#ready(entry, clock.now());
        logEntry(this.parts.log, 'error', 'health probe threw a non-transport error', entry, { error: errorText(error, entry.secrets) });
        entry.settlePending(error);
      });
      return;
    }
    if (entry.state !== 'probing') {
      publishProbeError(entry, controller.signal.reason, clock); // evicted meanwhile (the eviction's error)
      return;
    }
    publishProbeResult(entry, result, clock);
    events.batch(() => {
      entry.controller = undefined;
      const now = clock.now();
      const durationMs = now - startedAt;
      events.emit(
        'probe',
        result.healthy
          ? { key: entry.key, healthy: true, method: result.method, durationMs }
          : { key: entry.key, healthy: false, method: result.method, durationMs, error: result.error },
      );
      if (result.healthy) {
        entry.suspect = false;
        this.#ready(entry, now);
        entry.settlePending();
        return;
      }
      stats.counters.probeFailures += 1;
      logEntry(this.parts.log, 'info', 'health probe failed; replacing the session', entry, {
        method: result.method,
        error: errorText(result.error, entry.secrets),
      });
      this.parts.evict(entry, 'probe-failed');
    });
  }

  #ready(entry: Entry<C>, now: number): void {
    entry.state = 'ready';
    entry.controller = undefined;
    entry.lastUsedAt = now;
    if (entry.inFlight === 0) this.parts.becameIdle(entry);
  }
}
