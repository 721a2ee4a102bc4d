import { type Client } from '@modelcontextprotocol/sdk/client/index.js';
import { EventEmitter } from 'eventemitter3';
import { type RouteDecision } from './affinity/store.js';
import { deferred, raceSignal } from './async.js';
import { isSuspectError, isTransportError } from './classify/index.js';
import { type UpstreamClient } from './client.js';
import { systemClock, type Clock } from './clock.js';
import { composeRegistry, type RegistryParts } from './composition.js';
import { publishCloseEnd, publishCloseResult, publishCloseStart, publishEvict } from './diagnostics.js';
import { type IsolatedEmitter } from './emitter.js';
import { type Entry } from './entry.js';
import { InvalidRequestError, RegistryClosedError, SessionEvictedError } from './errors.js';
import { type RegistryEvents } from './events.js';
import { type IdleTracker } from './idle.js';
import { Lease, type LeaseOwner, type SessionLease } from './lease.js';
import { logEntry } from './log.js';
import { type RegistryOptions } from './options.js';
import { assertHeaders, assertId, assertSessionKey, assertUrl, readRequest, type ValidRequest } from './request.js';
import { type SessionIndex } from './session-index.js';
import { buildSnapshot, type RegistrySnapshot } from './snapshot.js';
import { type RegistryStats } from './stats.js';
import { type EvictReason, type HttpSessionRequest, type SessionInfo, type SessionKey, type SessionRequest } from './types.js';

/** How many times one acquire re-examines its key (after a failed probe or a transport that died at once). */
const MAX_ACQUIRE_ROUNDS = 4;
const settled = Promise.resolve();

/**
 * Owns a gateway's upstream MCP client sessions, one per `(downstreamSessionId, upstreamId)` pair.
 *
 * Sessions are never shared between downstream sessions and are reused within one; they are health-probed on
 * reuse after an idle window (or after a suspect failure), evicted on transport errors, idleness, age,
 * capacity or request, and closed in bounded time. Concurrent acquires for one key share one creation and one
 * probe; leases on one session run concurrently. Listeners may call back into the registry: events are
 * delivered once a transition is complete.
 *
 * @typeParam C - The upstream client type: the MCP SDK `Client` by default, or whatever the
 * `sessionFactory` makes.
 * @example
 * ```ts
 * import { downstreamSessionIdFromHeaders, UpstreamSessionRegistry } from 'mcp-upstream-sessions';
 *
 * await using registry = new UpstreamSessionRegistry();
 * const downstreamSessionId = downstreamSessionIdFromHeaders(req.headers) ?? 'anonymous';
 * const result = await registry.withSession(
 *   { downstreamSessionId, upstreamId: 'counter', url: 'http://127.0.0.1:3001/mcp' },
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

  readonly #clock: Clock;
  readonly #events: IsolatedEmitter<RegistryEvents>;
  readonly #index: SessionIndex<C>;
  /** The rest of the parts (the hot ones above are fields of their own: one load fewer on the hit path). */
  readonly #parts: RegistryParts<C>;
  readonly #stats: RegistryStats;
  readonly #idle: IdleTracker<C>;
  #closed = false;
  #closeAllPromise: Promise<void> | undefined;

  /**
   * @param options - See {@link RegistryOptions}; every field is optional. Without a `sessionFactory` the
   * registry uses `createMcpSessionFactory()` and the MCP SDK `Client`.
   * @throws {@link InvalidOptionsError} for unknown options and invalid values, naming the option and value.
   */
  constructor(options: RegistryOptions<C> = {}) {
    super();
    const parts = composeRegistry<C>(this, options, {
      evict: (entry, reason) => void this.#evictEntry(entry, reason),
      unindex: (entry) => this.#unindex(entry),
      becameIdle: (entry) => this.#becameIdle(entry),
      closed: () => this.#closed,
    });
    this.workerId = parts.workerId;
    this.#parts = parts;
    this.#clock = parts.clock;
    this.#events = parts.events;
    this.#index = parts.index;
    this.#stats = parts.stats;
    this.#idle = parts.idle;
  }

  /** Live upstream sessions (ready or probing; not creations in progress, not sessions being closed). */
  get size(): number {
    return this.#stats.live;
  }

  /** True once `closeAll()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Returns a lease on the upstream session for `(request.downstreamSessionId, request.upstreamId)`, creating
   * the session if there is none, probing it first if it has been idle longer than `idleValidationMs` (by the
   * clock) or is suspect, and replacing it if its fingerprint changed, its transport died, or it is past
   * `idleTtlMs` / `maxAgeMs`.
   *
   * @throws {@link InvalidRequestError} for bad ids, url, headers, stdio fields, capabilities or principal
   * (nothing is created).
   * @throws {@link RegistryClosedError} after `closeAll()`.
   * @throws {@link SessionCreateError}, {@link SessionCreateTimeoutError}, {@link CircuitOpenError},
   * {@link CapacityError}, {@link NotOwnerError}, {@link SessionEvictedError}; `request.signal.reason` when the
   * caller's signal aborts.
   * @example
   * ```ts
   * await using lease = await registry.acquire({ downstreamSessionId: 'd-1', upstreamId: 'github', url });
   * await lease.client.listTools();
   * ```
   */
  acquire(request: SessionRequest): Promise<SessionLease<C>> {
    let hit: SessionLease<C> | undefined;
    try {
      hit = this.#reuse(request);
    } catch (error) {
      return Promise.reject(error);
    }
    return hit !== undefined ? Promise.resolve(hit) : this.#acquire(request);
  }

  async #acquire(input: SessionRequest): Promise<SessionLease<C>> {
    const request = readRequest(input);
    if (this.#closed) throw new RegistryClosedError();
    const { signal } = request;
    signal?.throwIfAborted();
    for (let round = 1; ; round++) {
      const step = this.#events.batch(() => this.#examine(request));
      if (step instanceof Lease) return step;
      await raceSignal(step.pending ?? settled, signal);
      if (this.#closed) throw new RegistryClosedError();
      if (round >= MAX_ACQUIRE_ROUNDS) {
        const current = this.#index.lookup(request.downstreamSessionId, request.upstreamId);
        if (current?.state === 'ready' && !current.dead && current.matches(request)) return this.#lease(current);
        throw new SessionEvictedError('transport-closed');
      }
    }
  }

  /**
   * One synchronous look at the key: a lease on a usable session, or the entry whose creation or probe to wait
   * for (started here when needed). Runs as one transition: listeners run after it.
   */
  #examine(request: ValidRequest): Lease<C> | Entry<C> {
    const entry = this.#index.lookup(request.downstreamSessionId, request.upstreamId);
    if (entry !== undefined) {
      if (!entry.matches(request)) {
        if (request.transport !== 'stdio' && request.url !== entry.url) assertUrl(request.url);
        void this.#evictEntry(entry, 'fingerprint-changed');
      } else if (entry.state === 'creating' || entry.state === 'probing') {
        return entry;
      } else if (entry.dead) {
        void this.#evictEntry(entry, 'transport-closed');
      } else {
        const verdict = this.#idle.verdictNow(entry);
        if (verdict === 'reuse') return this.#lease(entry);
        if (verdict === 'probe') {
          this.#parts.prober.start(entry);
          return entry;
        }
        // Too old to hand out again: open leases drain, new callers get a fresh session.
        void this.#evictEntry(entry, verdict);
      }
    }
    return this.#parts.creations.start(request);
  }

  /**
   * Acquires a session, runs `fn` with its client and the session's info, and always releases the lease. If
   * `fn` throws a transport error the session is evicted; a timeout or 5xx marks it suspect (the error is
   * rethrown either way).
   *
   * @throws {@link InvalidRequestError} when `fn` is not a function (before anything is created); whatever
   * {@link UpstreamSessionRegistry.acquire} or `fn` throws.
   * @example
   * ```ts
   * const tools = await registry.withSession(request, (client, info) => client.listTools());
   * ```
   */
  async withSession<T>(request: SessionRequest, fn: (client: C, info: SessionInfo) => Promise<T> | T): Promise<T> {
    if (typeof fn !== 'function') {
      throw new InvalidRequestError('fn', `Expected \`fn\` to be a function, got ${fn === null ? 'null' : typeof fn}`);
    }
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
   * @example
   * ```ts
   * await registry.evict({ downstreamSessionId: 'd-1', upstreamId: 'github' });
   * ```
   */
  async evict(key: SessionKey): Promise<boolean> {
    assertSessionKey(key);
    const entry = this.#index.lookup(key.downstreamSessionId, key.upstreamId);
    if (entry === undefined) return false;
    await this.#evictEntry(entry, 'evict');
    return true;
  }

  /**
   * Evicts every upstream session of one downstream session (reason `session`), e.g. when the downstream
   * client sends DELETE (do not make the DELETE response wait for it). Closes them in parallel.
   *
   * @returns how many sessions (or creations) were removed.
   * @throws {@link InvalidRequestError} for an invalid id.
   * @example
   * ```ts
   * void registry.evictSession(downstreamSessionId); // in the DELETE handler, in the background
   * ```
   */
  async evictSession(downstreamSessionId: string): Promise<number> {
    assertId('downstreamSessionId', downstreamSessionId);
    return this.#evictAll(this.#index.sessionEntries(downstreamSessionId), 'session');
  }

  /**
   * Evicts every downstream session's session with one upstream (reason `upstream`), e.g. after its
   * configuration changed. Closes them in parallel.
   *
   * @returns how many sessions (or creations) were removed.
   * @throws {@link InvalidRequestError} for an invalid id.
   * @example
   * ```ts
   * await registry.evictUpstream('github');
   * ```
   */
  async evictUpstream(upstreamId: string): Promise<number> {
    assertId('upstreamId', upstreamId);
    return this.#evictAll(this.#index.upstreamEntries(upstreamId), 'upstream');
  }

  async #evictAll(victims: Entry<C>[], reason: EvictReason): Promise<number> {
    if (victims.length === 0) return 0;
    await Promise.all(this.#events.batch(() => victims.map((entry) => this.#evictEntry(entry, reason))));
    return victims.length;
  }

  /**
   * Shuts the registry down: sets `closed`, rejects new acquires, aborts pending creations, evicts every
   * session in parallel (reason `close-all`) and releases affinity claims. Resolves within about
   * `2 × closeTimeoutMs` however many closes hang. Idempotent: every call returns the same promise, also one
   * made from an event listener while the shutdown runs.
   * @example
   * ```ts
   * process.once('SIGTERM', () => void registry.closeAll());
   * ```
   */
  closeAll(): Promise<void> {
    if (this.#closeAllPromise === undefined) {
      const done = deferred<void>();
      this.#closeAllPromise = done.promise;
      this.#shutdown().then(
        () => done.resolve(),
        (error: unknown) => done.reject(error),
      );
    }
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
   * @example
   * ```ts
   * const { local, owner } = await registry.route(downstreamSessionId);
   * if (!local) await forwardTo(owner); // your transport to the owning worker
   * ```
   */
  async route(downstreamSessionId: string): Promise<RouteDecision> {
    assertId('downstreamSessionId', downstreamSessionId);
    return this.#parts.ownership.route(downstreamSessionId);
  }

  /**
   * A fresh, plain, JSON-serializable picture of the registry.
   * @example
   * ```ts
   * const { sessions, counters } = registry.snapshot();
   * ```
   */
  snapshot(): RegistrySnapshot {
    const { closer, circuits } = this.#parts;
    circuits.pruneAll(this.#clock.now());
    const state = { closed: this.#closed, entries: this.#index.all(), draining: closer.draining, upstreams: this.#index.upstreams() };
    return buildSnapshot({ ...this.#parts, ...this.#stats, ...state });
  }

  /**
   * The reuse fast path. A ready entry exists only for ids that passed validation, so a request whose url,
   * transport and fingerprint equal the entry's needs no regex or URL work; one `clock.now()` decides
   * staleness. Anything else (no entry, creating, probing, dead, stale, suspect, changed identity, stdio, bad
   * or aborted signal) returns `undefined` and takes the full path, which validates and throws as before.
   */
  #reuse(input: SessionRequest): SessionLease<C> | undefined {
    if (typeof input !== 'object' || input === null || this.#closed) return undefined;
    // Each field is read once (a getter cannot answer differently between check and use).
    const { downstreamSessionId, upstreamId, url, transport, fingerprint, signal, headers, command } = input as HttpSessionRequest & {
      command?: unknown;
    };
    if (command !== undefined) return undefined;
    const entry = this.#index.lookup(downstreamSessionId, upstreamId);
    if (entry === undefined || entry.state !== 'ready' || entry.dead) return undefined;
    if (url !== entry.url || fingerprint !== entry.fingerprint || (transport ?? 'streamable-http') !== entry.transport) {
      return undefined;
    }
    if (signal !== undefined && (!(signal instanceof AbortSignal) || signal.aborted)) return undefined;
    if (headers !== undefined) assertHeaders(headers);
    if (this.#idle.verdictNow(entry) !== 'reuse') return undefined;
    return this.#lease(entry);
  }

  #lease(entry: Entry<C>): Lease<C> {
    if (entry.inFlight === 0) this.#idle.unidle(entry);
    entry.inFlight += 1;
    entry.useCount += 1;
    this.#stats.inFlight += 1;
    (entry.upstream as NonNullable<Entry<C>['upstream']>).inFlight += 1;
    if (entry.useCount > 1) {
      this.#stats.counters.reuses += 1;
      if (this.#events.listening('session:reused')) this.#events.emit('session:reused', { key: entry.key, info: entry.info() });
    }
    return new Lease(this, entry, entry.client as C);
  }

  /** @internal Called by {@link Lease.release}. */
  releaseLease(entry: Entry<C>, error: unknown): void {
    entry.inFlight -= 1;
    this.#stats.inFlight -= 1;
    const now = this.#clock.now();
    entry.lastUsedAt = now;
    // Ready and probing entries are exactly the indexed ones: eviction unindexes before it changes the state.
    if (entry.state !== 'ready' && entry.state !== 'probing') {
      if (entry.state === 'draining' && entry.inFlight === 0) entry.onDrained?.();
      return;
    }
    (entry.upstream as NonNullable<Entry<C>['upstream']>).inFlight -= 1;
    const transportError = error !== undefined && isTransportError(error);
    // The first call on a zero-round-trip connection is what proves (or disproves) the upstream.
    if (entry.unproven) this.#parts.creations.firstCall(entry, transportError, now);
    if (transportError) {
      void this.#evictEntry(entry, 'transport-error');
      return;
    }
    if (error !== undefined && isSuspectError(error)) entry.suspect = true;
    if (entry.inFlight === 0 && entry.state === 'ready') this.#becameIdle(entry);
  }

  /** A ready session's last lease (or probe) ended at `lastUsedAt`: close it if too old, else mark it idle. */
  #becameIdle(entry: Entry<C>): void {
    if (this.#idle.expiredAtRelease(entry)) void this.#evictEntry(entry, 'max-age');
    else this.#idle.markIdle(entry);
  }

  /**
   * Removes `entry` from the registry at once and closes it in the background (after draining its leases).
   * Returns the close's promise (bounded; never rejects). One transition: listeners run after the close began.
   */
  #evictEntry(entry: Entry<C>, reason: EvictReason, graceEndsAt?: number): Promise<void> {
    return this.#events.batch(() => {
      if (entry.state === 'creating') {
        this.#parts.creations.abandon(entry, reason === 'close-all' ? new RegistryClosedError() : new SessionEvictedError(reason));
        return settled;
      }
      if (entry.state !== 'ready' && entry.state !== 'probing') return settled;
      const wasProbing = entry.state === 'probing';
      this.#unindex(entry);
      this.#stats.live -= 1;
      this.#idle.removeLive(entry);
      entry.state = 'draining';
      if (entry.unproven) this.#parts.creations.unprovenLeft(entry);
      this.#stats.counters.evictions += 1;
      this.#stats.evictionsByReason[reason] += 1;
      const durationMs = this.#clock.now() - entry.createdAt;
      logEntry(this.#parts.log, 'debug', 'upstream session evicted', entry, { reason });
      this.#events.emit('session:evicted', { key: entry.key, reason, info: entry.info(), durationMs });
      publishEvict(this, entry, reason, durationMs);
      if (wasProbing) {
        entry.controller?.abort(new SessionEvictedError(reason));
        entry.settlePending(); // waiters re-examine the key and create a fresh session
      }
      const traced = publishCloseStart(this, entry, reason, this.#clock);
      const closing = this.#parts.closer.close(entry, graceEndsAt);
      if (traced) {
        publishCloseEnd(entry);
        void closing.then(() => publishCloseResult(entry, 'closed', undefined, this.#clock));
      }
      return closing;
    });
  }

  /** Takes `entry` out of the index; releases the downstream session's claim when it was its last entry. */
  #unindex(entry: Entry<C>): void {
    const { downstreamSessionId } = entry.key;
    if (this.#index.remove(entry) && !this.#index.hasSession(downstreamSessionId)) this.#parts.ownership.release(downstreamSessionId);
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    this.#idle.stop();
    this.#parts.connections.stop();
    const earlierDrains = [...this.#parts.closer.draining];
    const graceEndsAt = this.#clock.now() + this.#parts.options.closeTimeoutMs;
    const closings = this.#events.batch(() =>
      this.#index.all().map((entry) => this.#evictEntry(entry, 'close-all', graceEndsAt)),
    );
    // Sessions evicted earlier and still draining: stop waiting for their leases.
    for (const entry of earlierDrains) entry.onDrained?.();
    const ownership = this.#parts.ownership.close(this.#parts.options.closeTimeoutMs);
    // systemClock timers are unref'd; while someone awaits shutdown, keep the process alive until it is done
    // (otherwise `await registry.closeAll()` at the end of a script could exit before the closes settle).
    const keepAlive = this.#clock === systemClock ? setInterval(() => undefined, 60_000) : undefined;
    try {
      await Promise.all([...closings, this.#parts.closer.settled(), ownership]);
    } finally {
      clearInterval(keepAlive);
    }
    this.#parts.log.info('upstream session registry closed');
  }
}
