// Bounded, honest closes of upstream sessions (no SDK import; shared by both MCP factories).
import pLimit, { type LimitFunction } from 'p-limit';
import { onAbort } from './abort.js';

/** How many upstream session terminations (HTTP DELETE) one factory runs at once by default. */
export const DEFAULT_CLOSE_CONCURRENCY = 64;

/**
 * A concurrency limit for the network part of closing sessions (the HTTP DELETE that ends an upstream
 * session), inside the registry's close bound.
 *
 * `closeAll` over thousands of sessions otherwise fires every DELETE at once: each needs a socket while the
 * session's event stream still pins another, the burst cannot finish within `closeTimeoutMs`, and the
 * aborted DELETEs leave the sessions alive on the upstream. Through this queue at most `concurrency`
 * terminations run at a time; one still queued when its close signal fires never starts (a DELETE after
 * the grace window would outlive the bound) and its promise rejects with the signal's reason, so the
 * registry counts a close error instead of a silent success.
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

  /**
   * @param concurrency - Terminations run at once, an integer >= 1 (validated by the factory).
   */
  constructor(concurrency: number = DEFAULT_CLOSE_CONCURRENCY) {
    this.#limit = pLimit(concurrency);
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
   * @param signal - The close's grace signal. If it aborts while `work` waits for a slot, the returned
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
