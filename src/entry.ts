import { deferred, type Deferred } from './async.js';
import { NO_TICKET, type CircuitTicket } from './circuit.js';
import { type ConnectionEvents, type UpstreamConnection } from './factory.js';
import { LruNode, type LruList } from './lru.js';
import { defaultFingerprint, type ValidRequest } from './request.js';
import { type ProtocolEra, type SessionInfo, type SessionKey, type SessionState, type TransportKind } from './types.js';

/** Sessions of one upstream and its idle LRU (owned by the session index). */
export interface UpstreamIndex<C> {
  readonly entries: Set<Entry<C>>;
  /** Ready sessions with no open lease, least recently used first (kept only for a finite per-upstream limit). */
  readonly idle: LruList<Entry<C>>;
  pending: number;
  inFlight: number;
}

/** How an entry shows its endpoint: a sanitized URL (HTTP) or a command base name (stdio). */
export interface EntryDisplay {
  readonly url?: string;
  readonly command?: string;
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
  /** A call failed in a way that may mean a wedged upstream: probe before the next reuse. */
  suspect = false;
  /**
   * The connection was made without a round trip and its breaker outcome is not recorded yet: the first
   * released call decides it (a transport error counts as a creation failure).
   */
  unproven = false;
  /** What the circuit breaker let this creation through with. */
  ticket: CircuitTicket = NO_TICKET;
  era: ProtocolEra | undefined = undefined;
  protocolVersion: string | undefined = undefined;
  createdAt: number;
  lastUsedAt: number;
  useCount = 0;
  inFlight = 0;
  /** The per-upstream index this entry is in (set on insert; saves a Map lookup per lease). */
  upstream: UpstreamIndex<C> | undefined = undefined;
  /** `connection.client`, kept here so a lease touches one object fewer. */
  client: C | undefined = undefined;
  /** `key.upstreamId`, on the entry itself so a lookup does not touch the key object. */
  readonly upstreamId: string;
  /** The next entry of the same downstream session (the index chains one session's entries). */
  sibling: Entry<C> | undefined = undefined;
  /** This entry's slot in the registry-wide idle LRU. */
  readonly idleNode = new LruNode<Entry<C>>(this);
  /** This entry's slot in its upstream's idle LRU (used only with a finite `maxSessionsPerUpstream`). */
  readonly upstreamIdleNode = new LruNode<Entry<C>>(this);
  /** This entry's slot in the max-age list (creation order; used only with `maxAgeMs`). */
  readonly ageNode = new LruNode<Entry<C>>(this);

  /** The creation or probe every concurrent acquirer waits on; `undefined` while ready. */
  #pending: Deferred<void> | undefined = undefined;
  /** Aborts the running creation (its `SessionCreateRequest.signal`) or probe. */
  controller: AbortController | undefined = undefined;
  /** Creation timeout timer. */
  timer: unknown = undefined;
  /** Ends a drain early (set while draining with open leases). */
  onDrained: (() => void) | undefined = undefined;
  /** The events object handed to the factory for this entry's connection. */
  readonly events: ConnectionEvents;
  readonly transport: TransportKind;
  /** The host-supplied fingerprint, or `undefined` for the default identity. */
  readonly fingerprint: string | undefined;
  /** The URL exactly as requested (compared on reuse, never logged); `undefined` for stdio. */
  readonly url: string | undefined;
  /** Connection identity when no fingerprint was given: transport + url, or transport + command + args + cwd. */
  readonly identity: string;

  /**
   * @param key - The frozen key.
   * @param request - The validated request this entry is created for.
   * @param display - Sanitized URL or command base name (for snapshots, events and logs).
   * @param secrets - The request's header values, env values and long args: scrubbed from every message and log.
   * @param now - Clock time of the creation's start.
   * @param events - Builds the connection events for this entry.
   */
  constructor(
    readonly key: Readonly<SessionKey>,
    request: ValidRequest,
    readonly display: EntryDisplay,
    readonly secrets: readonly string[],
    now: number,
    events: (entry: Entry<C>) => ConnectionEvents,
  ) {
    this.upstreamId = key.upstreamId;
    this.transport = request.transport;
    this.fingerprint = request.fingerprint;
    this.url = request.transport === 'stdio' ? undefined : request.url;
    this.identity = defaultFingerprint(request);
    this.createdAt = now;
    this.lastUsedAt = now;
    this.events = events(this);
  }

  /** The shared creation or probe, while one runs. */
  get pending(): Promise<void> | undefined {
    return this.#pending?.promise;
  }

  /** Whether a request for this key may reuse (or join) this entry's connection: the same connection identity. */
  matches(request: ValidRequest): boolean {
    if (request.fingerprint !== undefined || this.fingerprint !== undefined) return request.fingerprint === this.fingerprint;
    if (request.transport !== this.transport) return false;
    if (request.transport !== 'stdio') return request.url === this.url;
    return defaultFingerprint(request) === this.identity;
  }

  /** Starts a creation or probe phase that waiters share. */
  beginPending(): void {
    this.#pending = deferred<void>();
  }

  /** Ends the pending phase: waiters re-examine the key, or reject with `error`. */
  settlePending(error?: unknown): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (error === undefined) pending?.resolve();
    else pending?.reject(error);
  }

  /** A fresh, plain description of this session. */
  info(): SessionInfo {
    return this.infoAt(this.useCount, this.inFlight, this.lastUsedAt, this.state, this.suspect);
  }

  /** A description with the mutable facts given (what a lease saw when it was taken). */
  infoAt(useCount: number, inFlight: number, lastUsedAt: number, state: SessionState, suspect: boolean): SessionInfo {
    const key = { downstreamSessionId: this.key.downstreamSessionId, upstreamId: this.key.upstreamId };
    const { transport, createdAt, era, protocolVersion } = this;
    const { url, command } = this.display;
    // One object literal per common shape (HTTP or stdio, era unknown): stable hidden classes on the hot path.
    if (era === undefined && protocolVersion === undefined) {
      return url !== undefined
        ? { key, url, transport, createdAt, lastUsedAt, useCount, inFlight, state, suspect }
        : { key, command: command ?? '', transport, createdAt, lastUsedAt, useCount, inFlight, state, suspect };
    }
    const info: { -readonly [K in keyof SessionInfo]: SessionInfo[K] } = { key, transport, createdAt, lastUsedAt, useCount, inFlight, state, suspect };
    if (url !== undefined) info.url = url;
    if (command !== undefined) info.command = command;
    if (era !== undefined) info.era = era;
    if (protocolVersion !== undefined) info.protocolVersion = protocolVersion;
    return info;
  }
}
