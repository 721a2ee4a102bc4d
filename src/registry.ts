import { type Client } from '@modelcontextprotocol/sdk/client/index.js';
import { EventEmitter } from 'eventemitter3';
import { Ownership } from './affinity/ownership.js';
import { type RouteDecision } from './affinity/store.js';
import { CircuitBreaker } from './circuit.js';
import { classifyError, isTransportError } from './classify/index.js';
import { type UpstreamClient } from './client.js';
import { systemClock, type Clock } from './clock.js';
import { Entry, type UpstreamIndex } from './entry.js';
import {
  RegistryClosedError,
  SessionCreateError,
  SessionCreateTimeoutError,
  SessionEvictedError,
  UpstreamSessionError,
} from './errors.js';
import { type EvictReason, type RegistryEvents } from './events.js';
import { type ConnectionEvents, type SessionFactory, type UpstreamConnection, type UpstreamNotification } from './factory.js';
import { Lease, type LeaseOwner, type SessionLease } from './lease.js';
import { planCapacity } from './limits.js';
import { LruList, type LruNode } from './lru.js';
import { ListChangedDebouncer, listChangedKind } from './list-changed.js';
import { silentLogger, type LogFields, type Logger } from './logger.js';
import { createMcpSessionFactory } from './mcp/v1/factory.js';
import { resolveOptions, type RegistryOptions, type ResolvedOptions } from './options.js';
import { runProbeChain } from './probe.js';
import {
  assertHeaders,
  assertId,
  assertSessionKey,
  assertUrl,
  createSessionCreateRequest,
  readRequest,
  type SessionKey,
  type SessionRequest,
  type TransportKind,
} from './request.js';
import { redactUrlsInText, sanitizeUrl } from './sanitize.js';
import { type SessionInfo } from './session-info.js';
import { zeroCounters, zeroEvictions, type RegistryCounters, type RegistrySnapshot } from './snapshot.js';
import { defaultWorkerId } from './worker-id.js';


/** eventemitter3's listener records (the shape its own `emit` walks). */
interface ListenerRecord {
  fn: (...args: unknown[]) => unknown;
  context: unknown;
  once: boolean;
}
interface EmitterInternals {
  _events: Record<string, ListenerRecord | ListenerRecord[] | undefined>;
}
const EVENT_PREFIX = typeof EventEmitter.prefixed === 'string' ? EventEmitter.prefixed : '';
/** The listener-record key of `session:reused`, checked on every reuse. */
const REUSED_KEY = `${EVENT_PREFIX}session:reused`;

/** How many times one acquire re-examines its key (after a failed probe or a transport that died at once). */
const MAX_ACQUIRE_ROUNDS = 4;

function abortableWait(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as unknown);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** An error's message for logs, with any URL in it sanitized. */
function errorMessage(error: unknown): string {
  return redactUrlsInText(error instanceof Error ? error.message : String(error));
}

/**
 * Owns a gateway's upstream MCP client sessions, one per `(downstreamSessionId, upstreamId)` pair.
 *
 * Sessions are never shared between downstream sessions and are reused within one; they are health-probed on
 * reuse after an idle window, evicted on transport errors, idleness, age, capacity or request, and closed in
 * bounded time. Concurrent acquires for one key share one creation and one probe; leases on one session run
 * concurrently.
 *
 * @typeParam C - The upstream client type: the MCP SDK `Client` by default, or whatever the
 * `sessionFactory` makes.
 * @example
 * ```ts
 * const registry = new UpstreamSessionRegistry();
 * const result = await registry.withSession(
 *   { downstreamSessionId: req.headers['mcp-session-id'], upstreamId: 'counter', url: 'http://127.0.0.1:3001/mcp' },
 *   (client) => client.callTool({ name: 'increment' }),
 * );
 * ```
 */
export class UpstreamSessionRegistry<C extends UpstreamClient = Client>
  extends EventEmitter<RegistryEvents>
  implements AsyncDisposable, LeaseOwner<C>
{
  /** This worker's id in the affinity store (also reported by `route` and `snapshot`). */
  readonly workerId: string;

  readonly #options: ResolvedOptions;
  readonly #factory: SessionFactory<C>;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #ownership: Ownership | undefined;
  readonly #debouncer: ListChangedDebouncer;

  /** downstreamSessionId → upstreamId → entry (creating, ready or probing). */
  /** downstreamSessionId → its first entry; the session's other entries follow through `entry.sibling`. */
  readonly #bySession = new Map<string, Entry<C>>();
  readonly #byUpstream = new Map<string, UpstreamIndex<C>>();
  /** Ready sessions with no open lease, least recently used first. */
  readonly #idle = new LruList<Entry<C>>();
  /** Live sessions in creation order (only kept when `maxAgeMs` is on). */
  readonly #byAge = new Set<Entry<C>>();
  /** Closes in progress (evicted sessions draining or closing, orphaned late connections). */
  readonly #closing = new Set<Promise<void>>();
  /** Evicted sessions still draining, so `closeAll` can cut their drains short. */
  readonly #draining = new Set<Entry<C>>();

  /** Per-upstream idle LRUs are kept only to enforce a finite `maxSessionsPerUpstream`. */
  readonly #upstreamLru: boolean;
  #entryCount = 0;
  #live = 0;
  #pending = 0;
  #inFlight = 0;
  readonly #counters: RegistryCounters = zeroCounters();
  readonly #evictionsByReason = zeroEvictions();

  /** Ready idle sessions last used before this clock time need a probe before reuse. */
  #staleBefore = -Infinity;
  /** The first idle session (in LRU order) not yet stale; every later one is fresher. */
  #freshFrontier: LruNode<Entry<C>> | undefined = undefined;
  #staleTimer: unknown = undefined;
  #sweepTimer: unknown = undefined;
  #sweepAt = Infinity;
  #closed = false;
  #closeAllPromise: Promise<void> | undefined;

  /**
   * @param options - See {@link RegistryOptions}; every field is optional. Without a `sessionFactory` the
   * registry uses `createMcpSessionFactory()` and the MCP SDK `Client`.
   * @throws {@link InvalidOptionsError} for unknown options and invalid values, naming the option and value.
   */
  constructor(options: RegistryOptions<C> = {}) {
    super();
    this.#options = resolveOptions(options);
    this.#upstreamLru = this.#options.maxSessionsPerUpstream !== Infinity;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    this.#factory = options.sessionFactory ?? (createMcpSessionFactory() as unknown as SessionFactory<C>);
    this.workerId = options.workerId ?? defaultWorkerId();
    this.#debouncer = new ListChangedDebouncer(this.#clock, this.#options.notificationDebounceMs, (upstreamId, kinds) =>
      this.#emit('upstream:list-changed', { upstreamId, kinds }),
    );
    this.#ownership =
      options.affinity === undefined
        ? undefined
        : new Ownership({
            store: options.affinity,
            workerId: this.workerId,
            ttlMs: this.#options.affinityTtlMs,
            heartbeatMs: this.#options.heartbeatMs,
            clock: this.#clock,
            logger: this.#logger,
            onError: (event) => this.#emit('affinity:error', event),
          });
  }

  /** Live upstream sessions (ready or probing; not creations in progress, not sessions being closed). */
  get size(): number {
    return this.#live;
  }

  /** True once `closeAll()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Returns a lease on the upstream session for `(request.downstreamSessionId, request.upstreamId)`, creating
   * the session if there is none, probing it first if it has been idle longer than `idleValidationMs`, and
   * replacing it if its fingerprint changed or its transport died.
   *
   * @throws {@link InvalidRequestError} for bad ids, url or headers (nothing is created).
   * @throws {@link RegistryClosedError} after `closeAll()`.
   * @throws {@link SessionCreateError}, {@link SessionCreateTimeoutError}, {@link CircuitOpenError},
   * {@link CapacityError}, {@link NotOwnerError}, {@link SessionEvictedError}; `request.signal.reason` when the
   * caller's signal aborts.
   */
  acquire(input: SessionRequest): Promise<SessionLease<C>> {
    let hit: SessionLease<C> | undefined;
    try {
      hit = this.#reuse(input);
    } catch (error) {
      return Promise.reject(error);
    }
    return hit !== undefined ? Promise.resolve(hit) : this.#acquire(input);
  }

  async #acquire(input: SessionRequest): Promise<SessionLease<C>> {
    const request = readRequest(input);
    if (this.#closed) throw new RegistryClosedError();
    const { signal } = request;
    signal?.throwIfAborted();
    const transport: TransportKind = request.transport ?? 'streamable-http';
    for (let round = 1; ; round++) {
      let entry = this.#lookup(request.downstreamSessionId, request.upstreamId);
      if (entry !== undefined && entry.state !== 'creating') {
        if (request.url !== entry.url) assertUrl(request.url);
        if (!entry.matches(request.url, transport, request.fingerprint)) {
          void this.#evictEntry(entry, 'fingerprint-changed');
          entry = undefined;
        } else if (entry.dead) {
          void this.#evictEntry(entry, 'transport-closed');
          entry = undefined;
        } else if (entry.state === 'ready') {
          if (this.#tooOld(entry)) {
            // Too old to hand out again: open leases drain, new callers get a fresh session.
            void this.#evictEntry(entry, 'max-age');
            entry = undefined;
          } else if (this.#needsProbe(entry)) {
            this.#startProbe(entry);
          } else {
            return this.#lease(entry);
          }
        }
      }
      entry ??= this.#startCreate(request, transport);
      if (entry.pending === undefined) return this.#lease(entry);
      await abortableWait(entry.pending, signal);
      if (this.#closed) throw new RegistryClosedError();
      if (round >= MAX_ACQUIRE_ROUNDS) {
        const current = this.#lookup(request.downstreamSessionId, request.upstreamId);
        if (current?.state === 'ready' && !current.dead && current.matches(request.url, transport, request.fingerprint)) {
          return this.#lease(current);
        }
        throw new SessionEvictedError('transport-closed');
      }
    }
  }

  /**
   * Acquires a session, runs `fn` with its client, and always releases the lease. If `fn` throws a transport
   * error the session is evicted (the error is rethrown either way).
   *
   * @throws whatever {@link UpstreamSessionRegistry.acquire} or `fn` throws.
   * @example
   * ```ts
   * const tools = await registry.withSession(request, (client) => client.listTools());
   * ```
   */
  async withSession<T>(request: SessionRequest, fn: (client: C, info: SessionInfo) => Promise<T> | T): Promise<T> {
    const lease = this.#reuse(request) ?? (await this.#acquire(request));
    let result: T;
    try {
      result = await fn(lease.client, lease.info);
    } catch (error) {
      lease.release(error);
      throw error;
    }
    lease.release();
    return result;
  }

  /**
   * Evicts the session for one key (reason `evict`), or aborts its creation. New acquires create a fresh
   * session at once; the old one is drained and closed in the background of the returned promise.
   *
   * @returns `true` if there was a session or creation for the key. Resolves once the close has settled
   * (bounded by `closeTimeoutMs`); never rejects for close errors.
   * @throws {@link InvalidRequestError} for an invalid key.
   */
  async evict(key: SessionKey): Promise<boolean> {
    assertSessionKey(key);
    const entry = this.#lookup(key.downstreamSessionId, key.upstreamId);
    if (entry === undefined) return false;
    await this.#evictEntry(entry, 'evict');
    return true;
  }

  /**
   * Evicts every upstream session of one downstream session (reason `session`), e.g. when the downstream
   * client sends DELETE. Closes them in parallel.
   *
   * @returns how many sessions (or creations) were removed.
   * @throws {@link InvalidRequestError} for an invalid id.
   */
  async evictSession(downstreamSessionId: string): Promise<number> {
    assertId('downstreamSessionId', downstreamSessionId);
    const victims = this.#sessionEntries(downstreamSessionId);
    if (victims.length === 0) return 0;
    await Promise.all(victims.map((entry) => this.#evictEntry(entry, 'session')));
    return victims.length;
  }

  /**
   * Evicts every downstream session's session with one upstream (reason `upstream`), e.g. after its
   * configuration changed. Closes them in parallel.
   *
   * @returns how many sessions (or creations) were removed.
   * @throws {@link InvalidRequestError} for an invalid id.
   */
  async evictUpstream(upstreamId: string): Promise<number> {
    assertId('upstreamId', upstreamId);
    const index = this.#byUpstream.get(upstreamId);
    if (index === undefined) return 0;
    const victims = [...index.entries];
    await Promise.all(victims.map((entry) => this.#evictEntry(entry, 'upstream')));
    return victims.length;
  }

  /**
   * Shuts the registry down: sets `closed`, rejects new acquires, aborts pending creations, evicts every
   * session in parallel (reason `close-all`) and releases affinity claims. Resolves within about
   * `2 × closeTimeoutMs` however many closes hang. Idempotent: every call returns the same promise.
   */
  closeAll(): Promise<void> {
    this.#closeAllPromise ??= this.#shutdown();
    return this.#closeAllPromise;
  }

  /** Same as {@link UpstreamSessionRegistry.closeAll}, for `await using registry = new UpstreamSessionRegistry()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.closeAll();
  }

  /**
   * Decides which worker should serve a downstream session (multi-worker gateways). Without an `affinity`
   * store every session is local. Store failures fail open (local) with an `affinity:error` event.
   *
   * @throws {@link InvalidRequestError} for an invalid id.
   */
  async route(downstreamSessionId: string): Promise<RouteDecision> {
    assertId('downstreamSessionId', downstreamSessionId);
    if (this.#ownership === undefined) return { local: true, owner: this.workerId };
    return this.#ownership.route(downstreamSessionId);
  }

  /** A fresh, plain, JSON-serializable picture of the registry. */
  snapshot(): RegistrySnapshot {
    const entries: SessionInfo[] = [];
    for (const first of this.#bySession.values()) {
      for (let entry: Entry<C> | undefined = first; entry !== undefined; entry = entry.sibling) entries.push(entry.info());
    }
    for (const entry of this.#draining) entries.push(entry.info());
    const upstreams = [...this.#byUpstream].map(([upstreamId, index]) => ({
      upstreamId,
      sessions: index.entries.size - index.pending,
      pending: index.pending,
      inFlight: index.inFlight,
      circuit: index.breaker?.state ?? 'closed',
      consecutiveFailures: index.breaker?.consecutiveFailures ?? 0,
    }));
    return {
      workerId: this.workerId,
      closed: this.#closed,
      sessions: this.#live,
      pending: this.#pending,
      inFlight: this.#inFlight,
      draining: this.#draining.size,
      counters: { ...this.#counters },
      evictionsByReason: { ...this.#evictionsByReason },
      upstreams,
      entries,
    };
  }

  // ---------------------------------------------------------------------------------------------------------
  // Leases

  /**
   * The reuse fast path. A ready entry exists only for ids that passed validation, so a request whose url,
   * transport and fingerprint equal the entry's needs no regex or URL work. Anything else (no entry, creating,
   * probing, dead, due for a probe or max-age, changed identity, bad or aborted signal) returns `undefined`
   * and takes the full path, which validates and throws as before.
   */
  #reuse(input: SessionRequest): SessionLease<C> | undefined {
    if (typeof input !== 'object' || input === null || this.#closed) return undefined;
    // Each field is read once (a getter cannot answer differently between check and use).
    const { downstreamSessionId, upstreamId, url, transport, fingerprint, signal, headers } = input;
    let entry = this.#bySession.get(downstreamSessionId);
    while (entry !== undefined && entry.upstreamId !== upstreamId) entry = entry.sibling;
    if (entry === undefined || entry.state !== 'ready' || entry.dead) return undefined;
    if (url !== entry.url || fingerprint !== entry.fingerprint || (transport ?? 'streamable-http') !== entry.transport) {
      return undefined;
    }
    if (signal !== undefined && (!(signal instanceof AbortSignal) || signal.aborted)) return undefined;
    if (headers !== undefined) assertHeaders(headers);
    if (this.#needsProbe(entry) || this.#tooOld(entry)) return undefined;
    return this.#lease(entry);
  }

  /**
   * Whether a ready session must be probed before it is handed out: it has no open lease and has been idle
   * longer than `idleValidationMs`. Reads no clock: the staleness timer keeps `#staleBefore` current.
   */
  #needsProbe(entry: Entry<C>): boolean {
    return entry.inFlight === 0 && entry.lastUsedAt < this.#staleBefore;
  }

  /** Whether a session is older than `maxAgeMs` (reads the clock only when `maxAgeMs` is on). */
  #tooOld(entry: Entry<C>): boolean {
    return this.#options.maxAgeMs > 0 && this.#clock.now() - entry.createdAt >= this.#options.maxAgeMs;
  }

  #lease(entry: Entry<C>): SessionLease<C> {
    const index = entry.upstream as UpstreamIndex<C>;
    if (entry.inFlight === 0) this.#unidle(entry);
    entry.inFlight += 1;
    entry.useCount += 1;
    this.#inFlight += 1;
    index.inFlight += 1;
    if (entry.useCount > 1) {
      this.#counters.reuses += 1;
      if ((this as unknown as EmitterInternals)._events[REUSED_KEY] !== undefined) {
        this.#emit('session:reused', { key: entry.key, info: entry.info() });
      }
    }
    return new Lease(this, entry, entry.client as C);
  }

  /** @internal Called by {@link Lease.release}. */
  releaseLease(entry: Entry<C>, error: unknown): void {
    entry.inFlight -= 1;
    this.#inFlight -= 1;
    entry.lastUsedAt = this.#clock.now();
    // Ready and probing entries are exactly the indexed ones: eviction unindexes before it changes the state.
    if (entry.state !== 'ready' && entry.state !== 'probing') {
      if (entry.state === 'draining' && entry.inFlight === 0) entry.onDrained?.();
      return;
    }
    (entry.upstream as UpstreamIndex<C>).inFlight -= 1;
    if (error !== undefined && isTransportError(error)) {
      void this.#evictEntry(entry, 'transport-error');
      return;
    }
    if (entry.inFlight === 0 && entry.state === 'ready') this.#becameIdle(entry);
  }

  /** A ready session's last lease (or probe) ended at `lastUsedAt`: close it if too old, else mark it idle. */
  #becameIdle(entry: Entry<C>): void {
    if (this.#options.maxAgeMs > 0 && entry.lastUsedAt - entry.createdAt >= this.#options.maxAgeMs) {
      void this.#evictEntry(entry, 'max-age');
      return;
    }
    this.#markIdle(entry);
  }

  /** Takes a session out of the idle lists (it got a lease, started a probe, or is being evicted). */
  #unidle(entry: Entry<C>): void {
    if (this.#freshFrontier === entry.idleNode) this.#freshFrontier = entry.idleNode.next;
    this.#idle.remove(entry.idleNode);
    if (this.#upstreamLru) (entry.upstream as UpstreamIndex<C>).idle.remove(entry.upstreamIdleNode);
  }

  #armStaleness(at: number): void {
    if (this.#closed || this.#staleTimer !== undefined) return;
    this.#staleTimer = this.#clock.setTimeout(() => this.#markStale(), Math.max(0, at - this.#clock.now()));
  }

  /**
   * Staleness timer: sessions idle since before `now - idleValidationMs` need a probe. The idle list is
   * ordered by `lastUsedAt`, so the fresh ones are a suffix starting at `#freshFrontier`; moving the frontier
   * costs O(sessions that just went stale), and the timer is re-armed for the next one.
   */
  #markStale(): void {
    this.#staleTimer = undefined;
    const { idleValidationMs } = this.#options;
    this.#staleBefore = this.#clock.now() - idleValidationMs;
    let frontier = this.#freshFrontier;
    while (frontier !== undefined && frontier.value.lastUsedAt < this.#staleBefore) frontier = frontier.next;
    this.#freshFrontier = frontier;
    if (frontier !== undefined) this.#armStaleness(frontier.value.lastUsedAt + idleValidationMs + 1);
  }

  #markIdle(entry: Entry<C>): void {
    this.#idle.append(entry.idleNode);
    if (this.#freshFrontier === undefined) {
      this.#freshFrontier = entry.idleNode;
      this.#armStaleness(entry.lastUsedAt + this.#options.idleValidationMs + 1);
    }
    if (this.#upstreamLru) (entry.upstream as UpstreamIndex<C>).idle.append(entry.upstreamIdleNode);
    if (this.#options.idleTtlMs > 0) this.#armSweep(entry.lastUsedAt + this.#options.idleTtlMs);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Creation

  #startCreate(request: SessionRequest, transport: TransportKind): Entry<C> {
    assertUrl(request.url);
    // Copy and check the headers before anything changes, so bad input leaves no trace.
    const controller = new AbortController();
    const createRequest = createSessionCreateRequest(request, transport, controller.signal);
    const { downstreamSessionId, upstreamId } = request;
    let index = this.#index(upstreamId);
    const now = this.#clock.now();
    let victims: Entry<C>[];
    try {
      victims = planCapacity({
        total: this.#entryCount,
        maxSessions: this.#options.maxSessions,
        totalIdle: this.#idle,
        upstreamId,
        upstreamTotal: index.entries.size,
        maxSessionsPerUpstream: this.#options.maxSessionsPerUpstream,
        upstreamIdle: index.idle,
      });
      index.breaker?.beforeCreate(now);
    } catch (error) {
      this.#dropIndexIfUnused(upstreamId, index);
      throw error;
    }
    for (const victim of victims) void this.#evictEntry(victim, 'capacity');
    // Evicting the upstream's last session may have dropped its index: insert into the live one.
    if (victims.length > 0) index = this.#index(upstreamId);

    const entry = new Entry<C>(
      Object.freeze({ downstreamSessionId, upstreamId }),
      request.url,
      sanitizeUrl(request.url),
      transport,
      request.fingerprint,
      now,
      (e) => this.#connectionEvents(e),
    );
    entry.controller = controller;
    entry.beginPending();
    this.#insert(entry, index);
    this.#pending += 1;
    index.pending += 1;
    const timeoutMs = this.#options.createTimeoutMs;
    entry.timer = this.#clock.setTimeout(
      () => this.#abandonCreate(entry, new SessionCreateTimeoutError(upstreamId, timeoutMs)),
      timeoutMs,
    );
    void this.#connect(entry, createRequest);
    return entry;
  }

  async #connect(entry: Entry<C>, createRequest: Parameters<SessionFactory<C>['create']>[0]): Promise<void> {
    const startedAt = entry.createdAt;
    let connection: UpstreamConnection<C>;
    try {
      const { downstreamSessionId } = entry.key;
      if (this.#ownership !== undefined && !this.#hasLiveSibling(entry)) {
        await this.#ownership.ensureLocal(downstreamSessionId);
        if (entry.state !== 'creating') return;
      }
      connection = await this.#factory.create(createRequest, entry.events);
      if (typeof connection !== 'object' || connection === null || typeof connection.close !== 'function') {
        throw new TypeError('SessionFactory.create resolved without a connection ({ client, close })');
      }
    } catch (error) {
      if (entry.state === 'creating') this.#createFailed(entry, error, Object.values(createRequest.headers));
      return;
    }
    if (entry.state !== 'creating') {
      this.#closeOrphan(entry, connection);
      return;
    }
    this.#createSucceeded(entry, connection, startedAt);
  }

  #createSucceeded(entry: Entry<C>, connection: UpstreamConnection<C>, startedAt: number): void {
    this.#endCreation(entry);
    entry.controller = undefined;
    const index = entry.upstream as UpstreamIndex<C>;
    const now = this.#clock.now();
    entry.connection = connection;
    entry.client = connection.client;
    entry.state = 'ready';
    entry.createdAt = now;
    entry.lastUsedAt = now;
    this.#live += 1;
    this.#counters.creates += 1;
    if (this.#options.maxAgeMs > 0) {
      this.#byAge.add(entry);
      this.#armSweep(now + this.#options.maxAgeMs);
    }
    this.#markIdle(entry);
    if (index.breaker?.onSuccess() === 'closed') this.#emit('circuit:close', { upstreamId: entry.key.upstreamId });
    this.#ownership?.track(entry.key.downstreamSessionId);
    this.#log('debug', 'upstream session created', entry, { durationMs: now - startedAt });
    this.#emit('session:created', { key: entry.key, info: entry.info(), durationMs: now - startedAt });
    entry.settlePending();
    if (entry.dead) void this.#evictEntry(entry, 'transport-closed');
  }

  #createFailed(entry: Entry<C>, error: unknown, secrets: readonly string[]): void {
    this.#endCreation(entry);
    this.#remove(entry);
    entry.state = 'closed';
    if (error instanceof UpstreamSessionError) {
      // The factory or the affinity layer rejected the request itself (bad input, not the owner): not an
      // upstream failure, so the circuit breaker does not count it.
      this.#breaker(entry.key.upstreamId)?.onAbandon();
      this.#dropIndexIfUnused(entry.key.upstreamId);
      entry.settlePending(error);
      return;
    }
    const category = classifyError(error);
    const failure = new SessionCreateError(entry.key.upstreamId, category, error, secrets);
    this.#recordCreateFailure(entry, category, error, failure.message);
    entry.settlePending(failure);
  }

  #recordCreateFailure(entry: Entry<C>, category: ReturnType<typeof classifyError>, error: unknown, message: string): void {
    const { upstreamId } = entry.key;
    this.#counters.createFailures += 1;
    this.#log('warn', 'upstream session creation failed', entry, { category, error: message });
    this.#emit('session:create-failed', { key: entry.key, category, error });
    // The index may have been dropped with the entry; a pristine breaker is recreated equal to the old one.
    const { breaker } = this.#index(upstreamId);
    if (breaker?.onFailure(this.#clock.now()) === 'opened') {
      const retryAfterMs = breaker.retryAfterMs(this.#clock.now());
      this.#log('warn', 'circuit opened', entry, { failures: breaker.consecutiveFailures, retryAfterMs });
      this.#emit('circuit:open', { upstreamId, failures: breaker.consecutiveFailures, retryAfterMs });
    }
    this.#dropIndexIfUnused(upstreamId);
  }

  /** Gives up on a creation (timeout, eviction, closeAll): aborts it, rejects its waiters with `error`. */
  #abandonCreate(entry: Entry<C>, error: UpstreamSessionError): void {
    if (entry.state !== 'creating') return;
    this.#endCreation(entry);
    this.#remove(entry);
    entry.state = 'closed';
    entry.controller?.abort(error);
    if (error instanceof SessionCreateTimeoutError) {
      this.#recordCreateFailure(entry, 'timeout', error, error.message);
    } else {
      this.#breaker(entry.key.upstreamId)?.onAbandon();
      this.#dropIndexIfUnused(entry.key.upstreamId);
    }
    entry.settlePending(error);
  }

  #endCreation(entry: Entry<C>): void {
    this.#clock.clearTimeout(entry.timer);
    entry.timer = undefined;
    this.#pending -= 1;
    const index = this.#byUpstream.get(entry.key.upstreamId);
    if (index !== undefined) index.pending -= 1;
  }

  /** A connection that arrived after the registry gave up on it: close it at once, bounded. */
  #closeOrphan(entry: Entry<C>, connection: UpstreamConnection<C>): void {
    this.#log('debug', 'closing a connection that arrived after its creation was abandoned', entry);
    this.#track(this.#closeConnection(entry, connection, this.#options.closeTimeoutMs));
  }

  #connectionEvents(entry: Entry<C>): ConnectionEvents {
    return {
      closed: (reason?: unknown) => this.#onTransportClosed(entry, reason),
      notification: (notification: UpstreamNotification) => this.#onNotification(entry, notification),
    };
  }

  #onTransportClosed(entry: Entry<C>, reason: unknown): void {
    if (entry.dead) return;
    entry.dead = true;
    if (entry.state !== 'ready' && entry.state !== 'probing') return;
    this.#log('debug', 'upstream transport closed', entry, { reason: reason === undefined ? undefined : errorMessage(reason) });
    if (this.#isCurrent(entry)) void this.#evictEntry(entry, 'transport-closed');
  }

  #onNotification(entry: Entry<C>, notification: UpstreamNotification): void {
    if (entry.state === 'closed' || typeof notification?.method !== 'string') return;
    this.#counters.notifications += 1;
    const payload: UpstreamNotification =
      notification.params === undefined
        ? { method: notification.method }
        : { method: notification.method, params: notification.params };
    this.#emit('notification', { key: entry.key, notification: payload });
    const kind = listChangedKind(notification.method);
    if (kind !== undefined && !this.#closed) this.#debouncer.add(entry.key.upstreamId, kind);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Probing

  #startProbe(entry: Entry<C>): void {
    entry.state = 'probing';
    this.#unidle(entry);
    const controller = new AbortController();
    entry.controller = controller;
    entry.beginPending();
    void this.#probe(entry, controller);
  }

  async #probe(entry: Entry<C>, controller: AbortController): Promise<void> {
    const startedAt = this.#clock.now();
    const client = (entry.connection as UpstreamConnection<C>).client;
    this.#counters.probes += 1;
    let result: Awaited<ReturnType<typeof runProbeChain>>;
    try {
      result = await runProbeChain(client, {
        probes: this.#options.probes,
        timeoutMs: this.#options.probeTimeoutMs,
        signal: controller.signal,
        clock: this.#clock,
      });
    } catch (error) {
      if (entry.state !== 'probing') return; // evicted meanwhile: waiters were already released
      // A programming error: surface it instead of reconnecting in a loop. The session stays; the probe counts
      // as a use (which also keeps the idle list ordered by lastUsedAt).
      entry.state = 'ready';
      entry.lastUsedAt = this.#clock.now();
      if (entry.inFlight === 0) this.#becameIdle(entry);
      this.#log('error', 'health probe threw a non-transport error', entry, { error: errorMessage(error) });
      entry.settlePending(error);
      return;
    }
    if (entry.state !== 'probing') return;
    entry.controller = undefined;
    const durationMs = this.#clock.now() - startedAt;
    this.#emit(
      'probe',
      result.healthy
        ? { key: entry.key, healthy: true, method: result.method, durationMs }
        : { key: entry.key, healthy: false, method: result.method, durationMs, error: result.error },
    );
    if (result.healthy) {
      entry.state = 'ready';
      entry.lastUsedAt = this.#clock.now();
      if (entry.inFlight === 0) this.#becameIdle(entry);
      entry.settlePending();
      return;
    }
    this.#counters.probeFailures += 1;
    this.#log('info', 'health probe failed; replacing the session', entry, {
      method: result.method,
      error: errorMessage(result.error),
    });
    void this.#evictEntry(entry, 'probe-failed');
  }

  // ---------------------------------------------------------------------------------------------------------
  // Eviction and closing

  /**
   * Removes `entry` from the registry at once and closes it in the background (after draining its leases).
   * Returns the close's promise (bounded; never rejects).
   */
  #evictEntry(entry: Entry<C>, reason: EvictReason, graceEndsAt?: number): Promise<void> {
    if (entry.state === 'creating') {
      this.#abandonCreate(entry, reason === 'close-all' ? new RegistryClosedError() : new SessionEvictedError(reason));
      return Promise.resolve();
    }
    if (entry.state !== 'ready' && entry.state !== 'probing') return Promise.resolve();
    const wasProbing = entry.state === 'probing';
    this.#remove(entry);
    this.#live -= 1;
    this.#unidle(entry);
    this.#byAge.delete(entry);
    entry.state = 'draining';
    this.#counters.evictions += 1;
    this.#evictionsByReason[reason] += 1;
    this.#log('debug', 'upstream session evicted', entry, { reason });
    this.#emit('session:evicted', { key: entry.key, reason, info: entry.info() });
    if (wasProbing) {
      entry.controller?.abort(new SessionEvictedError(reason));
      entry.settlePending(); // waiters re-examine the key and create a fresh session
    }
    const closing = this.#drainAndClose(entry, graceEndsAt);
    this.#track(closing);
    return closing;
  }

  async #drainAndClose(entry: Entry<C>, graceEndsAt: number | undefined): Promise<void> {
    const { closeTimeoutMs } = this.#options;
    if (entry.inFlight > 0) {
      this.#draining.add(entry);
      await new Promise<void>((resolve) => {
        const timer = this.#clock.setTimeout(() => entry.onDrained?.(), closeTimeoutMs);
        entry.onDrained = () => {
          entry.onDrained = undefined;
          this.#clock.clearTimeout(timer);
          resolve();
        };
      });
    }
    this.#draining.delete(entry);
    entry.state = 'closed';
    const graceMs = graceEndsAt !== undefined ? Math.max(0, graceEndsAt - this.#clock.now()) : closeTimeoutMs;
    await this.#closeConnection(entry, entry.connection as UpstreamConnection<C>, graceMs);
  }

  /**
   * Calls `connection.close(signal)` once: the signal fires after `graceMs`; a close still unsettled
   * `closeTimeoutMs` later is abandoned (`close:timeout`). Never rejects.
   */
  #closeConnection(entry: Entry<C>, connection: UpstreamConnection<C>, graceMs: number): Promise<void> {
    const { closeTimeoutMs } = this.#options;
    const controller = new AbortController();
    const abandonAt = this.#clock.now() + graceMs + closeTimeoutMs;
    return new Promise<void>((resolve) => {
      let done = false;
      let hardTimer: unknown;
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        this.#clock.clearTimeout(graceTimer);
        this.#clock.clearTimeout(hardTimer);
        resolve();
        return true;
      };
      const graceTimer = this.#clock.setTimeout(() => {
        controller.abort(new Error(`Close grace window of ${graceMs} ms ended`));
        hardTimer = this.#clock.setTimeout(() => {
          if (!finish()) return;
          this.#counters.closeTimeouts += 1;
          this.#log('warn', 'upstream session close timed out; abandoned', entry, { closeTimeoutMs });
          this.#emit('close:timeout', { key: entry.key, closeTimeoutMs });
        }, Math.max(0, abandonAt - this.#clock.now()));
      }, graceMs);
      let closing: Promise<void>;
      try {
        closing = Promise.resolve(connection.close(controller.signal));
      } catch (error) {
        closing = Promise.reject(error);
      }
      closing.then(
        () => finish(),
        (error: unknown) => {
          if (!finish()) return;
          this.#counters.closeErrors += 1;
          this.#log('warn', 'upstream session close failed', entry, { error: errorMessage(error) });
        },
      );
    });
  }

  #track(closing: Promise<void>): void {
    this.#closing.add(closing);
    void closing.then(() => this.#closing.delete(closing));
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    this.#clock.clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    this.#clock.clearTimeout(this.#staleTimer);
    this.#staleTimer = undefined;
    this.#sweepAt = Infinity;
    this.#debouncer.clear();
    const earlierDrains = [...this.#draining];
    const closings: Promise<void>[] = [];
    const graceEndsAt = this.#clock.now() + this.#options.closeTimeoutMs;
    for (const downstreamSessionId of [...this.#bySession.keys()]) {
      for (const entry of this.#sessionEntries(downstreamSessionId)) closings.push(this.#evictEntry(entry, 'close-all', graceEndsAt));
    }
    // Sessions evicted earlier and still draining: stop waiting for their leases.
    for (const entry of earlierDrains) entry.onDrained?.();
    const ownership = this.#ownership?.close(this.#options.closeTimeoutMs) ?? Promise.resolve();
    // systemClock timers are unref'd; while someone awaits shutdown, keep the process alive until it is done
    // (otherwise `await registry.closeAll()` at the end of a script could exit before the closes settle).
    const keepAlive = this.#clock === systemClock ? setInterval(() => undefined, 60_000) : undefined;
    try {
      await Promise.all([...closings, ...this.#closing, ownership]);
    } finally {
      clearInterval(keepAlive);
    }
    this.#log('info', 'upstream session registry closed');
  }

  // ---------------------------------------------------------------------------------------------------------
  // Idle and age sweeps

  #armSweep(at: number): void {
    if (this.#closed || at >= this.#sweepAt) return;
    this.#clock.clearTimeout(this.#sweepTimer);
    this.#sweepAt = at;
    this.#sweepTimer = this.#clock.setTimeout(() => this.#sweep(), Math.max(0, at - this.#clock.now()));
  }

  #sweep(): void {
    this.#sweepTimer = undefined;
    this.#sweepAt = Infinity;
    const now = this.#clock.now();
    const { idleTtlMs, maxAgeMs } = this.#options;
    let next = Infinity;
    if (idleTtlMs > 0) {
      for (const entry of this.#idle) {
        if (now - entry.lastUsedAt < idleTtlMs) {
          next = entry.lastUsedAt + idleTtlMs;
          break;
        }
        void this.#evictEntry(entry, 'idle');
      }
    }
    if (maxAgeMs > 0) {
      for (const entry of this.#byAge) {
        if (now - entry.createdAt < maxAgeMs) {
          next = Math.min(next, entry.createdAt + maxAgeMs);
          break;
        }
        // Busy sessions are closed when their last lease is released.
        if (entry.inFlight === 0 && entry.state === 'ready') void this.#evictEntry(entry, 'max-age');
      }
    }
    if (next !== Infinity) this.#armSweep(next);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Indexes

  #lookup(downstreamSessionId: string, upstreamId: string): Entry<C> | undefined {
    let entry = this.#bySession.get(downstreamSessionId);
    while (entry !== undefined && entry.upstreamId !== upstreamId) entry = entry.sibling;
    return entry;
  }

  /** A copy of one downstream session's entries (safe to evict while iterating). */
  #sessionEntries(downstreamSessionId: string): Entry<C>[] {
    const out: Entry<C>[] = [];
    for (let entry = this.#bySession.get(downstreamSessionId); entry !== undefined; entry = entry.sibling) out.push(entry);
    return out;
  }

  #isCurrent(entry: Entry<C>): boolean {
    return this.#lookup(entry.key.downstreamSessionId, entry.key.upstreamId) === entry;
  }

  /** Whether the entry's downstream session already has a live session with another upstream (so it is ours). */
  #hasLiveSibling(entry: Entry<C>): boolean {
    for (let other = this.#bySession.get(entry.key.downstreamSessionId); other !== undefined; other = other.sibling) {
      if (other !== entry && (other.state === 'ready' || other.state === 'probing')) return true;
    }
    return false;
  }

  /** The upstream's index, created on first use. */
  #index(upstreamId: string): UpstreamIndex<C> {
    let index = this.#byUpstream.get(upstreamId);
    if (index === undefined) {
      const { circuitBreaker, createTimeoutMs } = this.#options;
      index = {
        entries: new Set(),
        idle: new LruList(),
        breaker:
          circuitBreaker === false
            ? undefined
            : new CircuitBreaker(upstreamId, circuitBreaker.failureThreshold, circuitBreaker.resetMs, createTimeoutMs),
        pending: 0,
        inFlight: 0,
      };
      this.#byUpstream.set(upstreamId, index);
    }
    return index;
  }

  #breaker(upstreamId: string): CircuitBreaker | undefined {
    return this.#byUpstream.get(upstreamId)?.breaker;
  }

  #insert(entry: Entry<C>, index: UpstreamIndex<C>): void {
    const { downstreamSessionId, upstreamId } = entry.key;
    const previous = this.#lookup(downstreamSessionId, upstreamId);
    if (previous !== undefined) this.#unlink(previous);
    entry.sibling = this.#bySession.get(downstreamSessionId);
    this.#bySession.set(downstreamSessionId, entry);
    index.entries.add(entry);
    entry.upstream = index;
    this.#entryCount += 1;
  }

  /** Removes `entry` from every index if it is still the current entry for its key (undici's same-entry check). */
  #remove(entry: Entry<C>): void {
    const { downstreamSessionId, upstreamId } = entry.key;
    if (this.#lookup(downstreamSessionId, upstreamId) !== entry) return;
    this.#unlink(entry);
    this.#entryCount -= 1;
    const index = this.#byUpstream.get(upstreamId);
    if (index !== undefined) {
      index.entries.delete(entry);
      index.idle.remove(entry.upstreamIdleNode);
      index.inFlight -= entry.inFlight;
      this.#dropIndexIfUnused(upstreamId, index);
    }
    if (!this.#bySession.has(downstreamSessionId)) this.#ownership?.release(downstreamSessionId);
  }

  /** Takes `entry` out of its downstream session's chain, dropping the session's key when it was the last. */
  #unlink(entry: Entry<C>): void {
    const { downstreamSessionId } = entry.key;
    const first = this.#bySession.get(downstreamSessionId);
    if (first === entry) {
      if (entry.sibling === undefined) this.#bySession.delete(downstreamSessionId);
      else this.#bySession.set(downstreamSessionId, entry.sibling);
    } else {
      let previous = first;
      while (previous !== undefined && previous.sibling !== entry) previous = previous.sibling;
      if (previous !== undefined) previous.sibling = entry.sibling;
    }
    entry.sibling = undefined;
  }

  #dropIndexIfUnused(upstreamId: string, index = this.#byUpstream.get(upstreamId)): void {
    if (index === undefined || index.entries.size > 0) return;
    if (index.breaker !== undefined && !index.breaker.pristine) return;
    this.#byUpstream.delete(upstreamId);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Events and logs

  /**
   * Emits to each listener in isolation: a throwing (or rejecting) listener is logged, never propagated, and the
   * other listeners still run. Walks eventemitter3's listener records (as its own `emit` does) so `once` and
   * listener contexts keep their meaning; costs one property read when nobody listens.
   */
  #emit<E extends keyof RegistryEvents>(event: E, payload: Parameters<RegistryEvents[E]>[0]): void {
    const slot = (this as unknown as EmitterInternals)._events[EVENT_PREFIX + event];
    if (slot === undefined) return;
    const records = Array.isArray(slot) ? slot.slice() : [slot];
    for (const record of records) {
      if (record.once) this.removeListener(event, record.fn, record.context, true);
      try {
        const result = record.fn.call(record.context, payload);
        if (result instanceof Promise) result.catch((error: unknown) => this.#listenerFailed(event, error));
      } catch (error) {
        this.#listenerFailed(event, error);
      }
    }
  }

  #listenerFailed(event: string, error: unknown): void {
    try {
      this.#logger.error('registry event listener threw', { event, error: errorMessage(error) });
    } catch {
      // A logger that throws must not break the registry either.
    }
  }

  #log(level: keyof Logger, message: string, entry?: Entry<C>, fields?: LogFields): void {
    try {
      this.#logger[level](
        message,
        entry === undefined
          ? fields
          : {
              downstreamSessionId: entry.key.downstreamSessionId,
              upstreamId: entry.key.upstreamId,
              url: entry.safeUrl,
              ...fields,
            },
      );
    } catch {
      // Logging is best-effort.
    }
  }
}
