/**
 * Time source for everything the registry schedules or measures.
 *
 * The registry never reads `Date.now()` or calls the global timer functions directly: it goes through a
 * `Clock`, so tests can pass {@link ManualClock} from `mcp-upstream-sessions/testing` and drive time by hand.
 *
 * @example
 * ```ts
 * const registry = new UpstreamSessionRegistry({ clock: systemClock });
 * ```
 */
export interface Clock {
  /** Current time in milliseconds. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds; returns an opaque handle for {@link Clock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer created by {@link Clock.setTimeout}; unknown or already-fired handles are ignored. */
  clearTimeout(handle: unknown): void;
}

/**
 * The default {@link Clock}: `Date.now()` and Node timers that are `unref`'d, so background work scheduled
 * by the registry (sweeps, heartbeats, close deadlines) never keeps the process alive.
 */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout(fn: () => void, ms: number): unknown {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return handle;
  },
  clearTimeout(handle: unknown): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
});
