import { type Entry } from './entry.js';
import { type SessionInfo } from './types.js';

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
  // The entry's mutable facts as they were when the lease was taken (so `info` is that moment's picture,
  // built lazily: most callers never read it). A lease is only taken on a ready, unsuspected session.
  private readonly useCount: number;
  private readonly inFlight: number;
  private readonly lastUsedAt: number;

  /**
   * @param owner - Where the release is reported.
   * @param entry - The session leased.
   * @param client - The entry's client.
   */
  constructor(
    private readonly owner: LeaseOwner<C>,
    private readonly entry: Entry<C>,
    readonly client: C,
  ) {
    this.useCount = entry.useCount;
    this.inFlight = entry.inFlight;
    this.lastUsedAt = entry.lastUsedAt;
  }

  /** The session as it was when this lease was taken. */
  get info(): SessionInfo {
    return (this.cachedInfo ??= this.entry.infoAt(this.useCount, this.inFlight, this.lastUsedAt, 'ready', false));
  }

  /** Returns the lease (idempotent). */
  release(error?: unknown): void {
    if (this.released) return;
    this.released = true;
    this.owner.releaseLease(this.entry, error);
  }

  /** Releases the lease (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    this.release();
    return Promise.resolve();
  }
}
