// Bounded, honest closes of upstream sessions (no SDK import; shared by both MCP factories).
import pLimit, { type LimitFunction } from 'p-limit';
import { systemClock, type Clock } from '../clock.js';
import { onAbort } from './abort.js';

/** How many upstream session terminations (HTTP DELETE) one factory runs at once by default. */
export const DEFAULT_CLOSE_CONCURRENCY = 64;

/**
 * Share of a close's grace window that its termination may still use after the grace signal fired. The
 * registry waits `closeTimeoutMs` (at least the grace window) after the signal before it abandons a close,
 * so finishing within 0.8 × the grace window after it keeps every close settled before that bound.
 */
const LINGER_SHARE = 0.8;

/** A close's own deadline, derived from its grace signal (see {@link CloseQueue.linger}). */
export interface CloseDeadline {
  /** Fires {@link LINGER_SHARE} × the grace window after the grace signal, with the grace signal's reason. */
  readonly signal: AbortSignal;
  /** Removes the listener and the timer (call when the close is over). */
  dispose(): void;
}

/**
 * A concurrency limit for the network part of closing sessions (the HTTP DELETE that ends an upstream
 * session), inside the registry's close bound.
 *
 * `closeAll` over thousands of sessions otherwise fires every DELETE at once: each needs a socket while the
 * session's event stream still pins another, the burst cannot finish within `closeTimeoutMs`, and the
 * aborted DELETEs leave the sessions alive on the upstream. Through this queue at most `concurrency`
 * terminations run at a time; one still queued when its close signal fires never starts (a DELETE after
 * the grace window would outlive the bound) and its promise rejects with the signal's reason, so the
 * registry counts a close error instead of a silent success. Connections pass the close's
 * {@link CloseQueue.linger} deadline, so the queue keeps draining a little past the grace window.
 *
 * @example
 * ```ts
 * const queue = new CloseQueue(64);
 * declare const transport: { terminateSession(): Promise<void> }; // the session's Streamable HTTP transport
 * await queue.run(signal, () => transport.terminateSession()); // rejects with signal.reason if never started
 * ```
 */
export class CloseQueue {
  readonly #limit: LimitFunction;
  readonly #clock: Clock;

  /**
   * @param concurrency - Terminations run at once, an integer >= 1 (validated by the factory).
   * @param clock - Times each close's deadline (see {@link CloseQueue.linger}).
   */
  constructor(concurrency: number = DEFAULT_CLOSE_CONCURRENCY, clock: Clock = systemClock) {
    this.#limit = pLimit(concurrency);
    this.#clock = clock;
  }

  /**
   * The deadline of one close whose grace signal is `grace`, taken when the close starts. When `grace` fires
   * after a window of W ms, the deadline fires 0.8 × W later: terminations still queued or in flight then
   * keep going until it (closing 10,000 sessions takes several seconds of DELETEs, more than one grace
   * window on a busy machine), and the close still settles before the registry gives up on it. A `grace`
   * that is already aborted gives a deadline that is too.
   */
  linger(grace: AbortSignal): CloseDeadline {
    const controller = new AbortController();
    const startedAt = this.#clock.now();
    let timer: unknown;
    const stop = onAbort(grace, () => {
      const window = Math.max(0, this.#clock.now() - startedAt) * LINGER_SHARE;
      if (window === 0) controller.abort(grace.reason);
      else timer = this.#clock.setTimeout(() => controller.abort(grace.reason), window);
    });
    return {
      signal: controller.signal,
      dispose: () => {
        stop();
        if (timer !== undefined) this.#clock.clearTimeout(timer);
      },
    };
  }

  /** Terminations running now. */
  get active(): number {
    return this.#limit.activeCount;
  }

  /** Terminations waiting for a slot. */
  get pending(): number {
    return this.#limit.pendingCount;
  }

  /**
   * Runs `work(signal)` when a slot is free.
   *
   * @param signal - The close's deadline (or grace signal). If it aborts while `work` waits for a slot, the returned
   *   promise rejects with `signal.reason` at once and `work` never runs; once running, `work` owns it.
   * @param work - The termination (for example the DELETE); it should settle promptly once `signal` aborts.
   * @returns What `work` returns.
   * @throws `signal.reason` when the signal aborted before `work` started; otherwise whatever `work` throws.
   */
  run<T>(signal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<T>((resolve, reject) => {
      let started = false;
      const stop = onAbort(signal, () => {
        if (!started) reject(signal.reason as Error);
      });
      void this.#limit(async () => {
        if (signal.aborted) return; // rejected already: free the slot at once
        started = true;
        stop();
        try {
          resolve(await work(signal));
        } catch (error) {
          reject(error);
        }
      });
    });
  }
}
