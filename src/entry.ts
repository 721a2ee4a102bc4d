import { type CircuitBreaker } from './circuit.js';
import { type ConnectionEvents, type UpstreamConnection } from './factory.js';
import { LruNode, type LruList } from './lru.js';
import { type SessionKey, type TransportKind } from './request.js';
import { type SessionInfo, type SessionState } from './session-info.js';

/** Sessions of one upstream, its idle LRU and its circuit breaker (owned by the registry). */
export interface UpstreamIndex<C> {
  readonly entries: Set<Entry<C>>;
  /** Ready sessions with no open lease, least recently used first (kept only for a finite per-upstream limit). */
  readonly idle: LruList<Entry<C>>;
  breaker: CircuitBreaker | undefined;
  pending: number;
  inFlight: number;
}

/**
 * One key's upstream session and its state machine: `creating → ready ⇄ probing → draining → closed`.
 *
 * An entry is owned by the registry, which moves it between states; the entry only holds the state and the
 * small derived facts (idle, fingerprint match). `pending` is the one promise every concurrent acquirer of a
 * creating or probing entry waits on, so N callers share one creation and one probe.
 */
export class Entry<C> {
  state: SessionState = 'creating';
  connection: UpstreamConnection<C> | undefined = undefined;
  /** Set when the factory reported the transport closed; the entry is never handed out again. */
  dead = false;
  createdAt: number;
  lastUsedAt: number;
  useCount = 0;
  inFlight = 0;
  /** The registry's per-upstream index this entry is in (set on insert; saves a Map lookup per lease). */
  upstream: UpstreamIndex<C> | undefined = undefined;
  /** `connection.client`, kept here so a lease touches one object fewer. */
  client: C | undefined = undefined;
  /** `key.upstreamId`, on the entry itself so a lookup does not touch the key object. */
  readonly upstreamId: string;
  /** The next entry of the same downstream session (the registry chains one session's entries). */
  sibling: Entry<C> | undefined = undefined;
  /** This entry's slot in the registry-wide idle LRU. */
  readonly idleNode = new LruNode<Entry<C>>(this);
  /** This entry's slot in its upstream's idle LRU (used only with a finite `maxSessionsPerUpstream`). */
  readonly upstreamIdleNode = new LruNode<Entry<C>>(this);

  /** Settles when the current creation or probe ends; `undefined` while ready. */
  pending: Promise<void> | undefined = undefined;
  resolvePending: (() => void) | undefined = undefined;
  rejectPending: ((error: unknown) => void) | undefined = undefined;
  /** Aborts the running creation (its `SessionCreateRequest.signal`) or probe. */
  controller: AbortController | undefined = undefined;
  /** Creation timeout timer. */
  timer: unknown = undefined;
  /** Ends a drain early (set while draining with open leases). */
  onDrained: (() => void) | undefined = undefined;
  /** The events object handed to the factory for this entry's connection. */
  readonly events: ConnectionEvents;

  constructor(
    readonly key: Readonly<SessionKey>,
    /** The URL exactly as requested (compared on reuse, never logged). */
    readonly url: string,
    /** The URL with credentials and query values redacted (for snapshots, events and logs). */
    readonly safeUrl: string,
    readonly transport: TransportKind,
    /** The host-supplied fingerprint, or `undefined` for the default (transport + url). */
    readonly fingerprint: string | undefined,
    now: number,
    events: (entry: Entry<C>) => ConnectionEvents,
  ) {
    this.upstreamId = key.upstreamId;
    this.createdAt = now;
    this.lastUsedAt = now;
    this.events = events(this);
  }

  /** Whether a request for this key may reuse this entry's connection (same connection identity). */
  matches(url: string, transport: TransportKind, fingerprint: string | undefined): boolean {
    if (fingerprint !== undefined || this.fingerprint !== undefined) return fingerprint === this.fingerprint;
    return url === this.url && transport === this.transport;
  }

  /** Starts a creation or probe phase that waiters share. */
  beginPending(): void {
    this.pending = new Promise<void>((resolve, reject) => {
      this.resolvePending = resolve;
      this.rejectPending = reject;
    });
    // Waiters may all have given up (aborted signals); a rejection nobody awaits is not an error.
    this.pending.catch(() => undefined);
  }

  /** Ends the pending phase successfully (waiters re-examine the key). */
  settlePending(error?: unknown): void {
    const { resolvePending, rejectPending } = this;
    this.pending = undefined;
    this.resolvePending = undefined;
    this.rejectPending = undefined;
    if (error === undefined) resolvePending?.();
    else rejectPending?.(error);
  }

  /** A fresh, plain description of this session. */
  info(): SessionInfo {
    return {
      key: { downstreamSessionId: this.key.downstreamSessionId, upstreamId: this.key.upstreamId },
      url: this.safeUrl,
      transport: this.transport,
      createdAt: this.createdAt,
      lastUsedAt: this.lastUsedAt,
      useCount: this.useCount,
      inFlight: this.inFlight,
      state: this.state,
    };
  }
}
