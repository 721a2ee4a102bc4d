import { setMaxListeners } from 'node:events';
import { type FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';

/** Listener limit set on the SDK's long-lived fetch signal, high enough that Node never warns about it. */
const QUIET_LISTENER_LIMIT = 1_000_000;

/**
 * Wraps the `fetch` a transport uses, to know two things the SDK does not expose reliably while a
 * connection is being abandoned: whether a POST (the `initialize` one, typically) is still in flight, and
 * the last `mcp-session-id` an upstream assigned, even if the SDK never got to read it.
 */
export class FetchTracker {
  /** The last `mcp-session-id` response header seen. */
  sessionId: string | undefined;
  private postsInFlight = 0;
  private tracking = true;
  private quietSignal: AbortSignal | undefined;
  private readonly settled = new Set<() => void>();

  constructor(private readonly base: FetchLike) {}

  readonly fetch: FetchLike = (url, init) => {
    const signal = init?.signal;
    if (signal != null && signal !== this.quietSignal) {
      // The SDK passes one long-lived signal to every fetch; undici holds a listener on it per request until
      // the request is garbage-collected, so Node would warn (MaxListenersExceededWarning) on busy sessions.
      // (A finite limit: `0`, "unlimited", makes Node's EventTarget slower on every add.)
      setMaxListeners(QUIET_LISTENER_LIMIT, signal);
      this.quietSignal = signal;
    }
    // Once connected nothing needs tracking: hand the request straight to the base fetch.
    if (!this.tracking) return this.base(url, init);
    return this.track(url, init);
  };

  private async track(url: string | URL, init: RequestInit | undefined): Promise<Response> {
    const post = init?.method === 'POST';
    if (post) this.postsInFlight += 1;
    try {
      const response = await this.base(url, init);
      this.sessionId = response.headers.get('mcp-session-id') ?? this.sessionId;
      return response;
    } finally {
      if (post) {
        this.postsInFlight -= 1;
        for (const notify of [...this.settled]) notify();
      }
    }
  }

  /** Stops tracking (after a successful connect): later requests pay nothing for the wrapper but a branch. */
  stopTracking(): void {
    this.tracking = false;
  }

  /** Resolves once no POST is in flight, or after `timeoutMs` (an unref'd timer), whichever comes first. */
  postsSettled(timeoutMs: number): Promise<void> {
    if (this.postsInFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.settled.delete(check);
        resolve();
      };
      const check = (): void => {
        if (this.postsInFlight === 0) done();
      };
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      this.settled.add(check);
    });
  }
}
