import { type Clock } from '../../clock.js';
import { type SessionFetchFunction } from '../fetch-function.js';

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
  private readonly settled = new Set<() => void>();

  constructor(private readonly base: SessionFetchFunction) {}

  readonly fetch: SessionFetchFunction = (url, init) => {
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

  /** Resolves once no POST is in flight, or after `timeoutMs` on `clock`, whichever comes first. */
  postsSettled(timeoutMs: number, clock: Clock): Promise<void> {
    if (this.postsInFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clock.clearTimeout(timer);
        this.settled.delete(check);
        resolve();
      };
      const check = (): void => {
        if (this.postsInFlight === 0) done();
      };
      const timer: unknown = clock.setTimeout(done, timeoutMs);
      this.settled.add(check);
    });
  }
}
