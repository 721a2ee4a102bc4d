import { type Entry } from './entry.js';
import { type SessionInfo } from './session-info.js';

/**
 * A claim on one upstream session, returned by `acquire`. Release it when done (or use `await using`);
 * `withSession` does this for you. Many leases on one session may be open at once.
 *
 * @example
 * ```ts
 * await using lease = await registry.acquire({ downstreamSessionId, upstreamId: 'github', url });
 * const tools = await lease.client.listTools();
 * ```
 */
export interface SessionLease<C> extends AsyncDisposable {
  /** The upstream client. Do not use it after `release`. */
  readonly client: C;
  /** The session as it was when this lease was taken. */
  readonly info: SessionInfo;
  /**
   * Returns the lease. Idempotent. Pass the error the call failed with: a transport-level error
   * (`isTransportError`) evicts the session so the next acquire builds a new one; other errors leave it in place.
   */
  release(error?: unknown): void;
}

/** Where a lease reports its release (the registry). */
export interface LeaseOwner<C> {
  releaseLease(entry: Entry<C>, error: unknown): void;
}

/** The registry's {@link SessionLease} implementation. */
export class Lease<C> implements SessionLease<C> {
  private released = false;
  private cachedInfo: SessionInfo | undefined;

  constructor(
    private readonly owner: LeaseOwner<C>,
    private readonly entry: Entry<C>,
    readonly client: C,
  ) {}

  get info(): SessionInfo {
    return (this.cachedInfo ??= this.entry.info());
  }

  release(error?: unknown): void {
    if (this.released) return;
    this.released = true;
    this.owner.releaseLease(this.entry, error);
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.release();
    return Promise.resolve();
  }
}
