import { type OwnershipPort } from './affinity/port.js';
import { type Circuits } from './circuit.js';
import { classifyError, type ErrorCategory } from './classify/index.js';
import { type Clock } from './clock.js';
import { type Closer } from './closer.js';
import { publishCreateEnd, publishCreateError, publishCreateResult, publishCreateStart } from './diagnostics.js';
import { type IsolatedEmitter } from './emitter.js';
import { Entry } from './entry.js';
import { SessionCreateError, SessionCreateTimeoutError, UpstreamSessionError } from './errors.js';
import { type RegistryEvents } from './events.js';
import { type ConnectionEvents, type SessionCreateRequest, type UpstreamConnection } from './factory.js';
import { type IdleTracker } from './idle.js';
import { planCapacity } from './limits.js';
import { logEntry, type SafeLog } from './log.js';
import { LruList } from './lru.js';
import { assertUrl, commandBaseName, createSessionCreateRequest, type ValidRequest } from './request.js';
import { requestSecrets, sanitizeUrl } from './sanitize.js';
import { type SessionIndex } from './session-index.js';
import { type RegistryStats } from './stats.js';

const EMPTY_IDLE = new LruList<never>();

/** The parts a {@link Creations} works with (owned by the registry). */
export interface CreationParts<C> {
  /** The registry (published as the diagnostics contexts' `registry`). */
  readonly owner: object;
  readonly clock: Clock;
  readonly log: SafeLog;
  readonly events: IsolatedEmitter<RegistryEvents>;
  readonly index: SessionIndex<C>;
  readonly idle: IdleTracker<C>;
  readonly circuits: Circuits;
  readonly ownership: OwnershipPort;
  readonly closer: Closer<C>;
  readonly stats: RegistryStats;
  readonly limits: { readonly maxSessions: number; readonly maxSessionsPerUpstream: number; readonly createTimeoutMs: number };
  /** `factory.create`, already bound to the neutral async context. */
  readonly create: (request: SessionCreateRequest, events: ConnectionEvents) => Promise<UpstreamConnection<C>>;
  /** Evicts a session (capacity victims; a connection that died while it was being created). */
  readonly evict: (entry: Entry<C>, reason: 'capacity' | 'transport-closed') => void;
  /** Takes an entry out of the index (and releases the downstream session's claim when it was the last). */
  readonly unindex: (entry: Entry<C>) => void;
  /** The events object a connection reports to. */
  readonly connectionEvents: (entry: Entry<C>) => ConnectionEvents;
}

/**
 * Session creation: capacity and circuit checks, the factory call (with `createTimeoutMs`, a claim on the
 * downstream session before every creation, and orphan handling), and how outcomes feed the circuit breaker.
 * Concurrent acquirers share one creation through the entry's `pending` promise.
 *
 * @example
 * ```ts
 * import { type ValidRequest } from './request.js';
 * declare const creations: Creations<FakeUpstreamClient>;
 * declare const valid: ValidRequest; // what `readRequest` returned
 * const entry = creations.start(valid); // indexed at once, state 'creating'
 * await entry.pending;                    // settles when the factory answered (or the creation was abandoned)
 * ```
 */
export class Creations<C> {
  /** @param parts - The registry's parts. */
  constructor(private readonly parts: CreationParts<C>) {}

  /**
   * Starts creating a session for `request` (whose key the caller just found free, in this synchronous step).
   * Checks everything that can fail first, so a rejected request leaves no trace.
   * @throws {@link InvalidRequestError}, {@link CapacityError}, {@link CircuitOpenError}
   */
  start(request: ValidRequest): Entry<C> {
    const { clock, index, idle, circuits, limits, stats } = this.parts;
    if (request.transport !== 'stdio') assertUrl(request.url);
    const controller = new AbortController();
    const createRequest = createSessionCreateRequest(request, request.transport, controller.signal);
    const { downstreamSessionId, upstreamId } = request;
    const now = clock.now();
    const victims = planCapacity<Entry<C>>({
      total: index.count,
      maxSessions: limits.maxSessions,
      totalIdle: idle.idle,
      upstreamId,
      upstreamTotal: index.upstreamCount(upstreamId),
      maxSessionsPerUpstream: limits.maxSessionsPerUpstream,
      upstreamIdle: index.upstream(upstreamId)?.idle ?? EMPTY_IDLE,
    });
    const ticket = circuits.beforeCreate(upstreamId, now);
    for (const victim of victims) this.parts.evict(victim, 'capacity');

    const display = request.transport === 'stdio' ? { command: commandBaseName(request.command) } : { url: sanitizeUrl(request.url) };
    const key = Object.freeze({ downstreamSessionId, upstreamId });
    const entry = new Entry<C>(key, request, display, requestSecrets(createRequest), now, this.parts.connectionEvents);
    entry.ticket = ticket;
    entry.controller = controller;
    entry.beginPending();
    // Listeners run only after this synchronous step, so nothing can have taken the key meanwhile.
    index.insert(entry);
    stats.pending += 1;
    (entry.upstream as NonNullable<Entry<C>['upstream']>).pending += 1;
    const { createTimeoutMs } = limits;
    entry.timer = clock.setTimeout(
      () => this.parts.events.batch(() => this.abandon(entry, new SessionCreateTimeoutError(upstreamId, createTimeoutMs))),
      createTimeoutMs,
    );
    publishCreateStart(this.parts.owner, entry, clock);
    void this.#connect(entry, createRequest);
    publishCreateEnd(entry);
    return entry;
  }

  /** Gives up on a creation (timeout, eviction, closeAll): aborts it, rejects its waiters with `error`. */
  abandon(entry: Entry<C>, error: UpstreamSessionError): void {
    if (entry.state !== 'creating') return;
    this.#end(entry);
    this.parts.unindex(entry);
    entry.state = 'closed';
    entry.controller?.abort(error);
    if (error instanceof SessionCreateTimeoutError) this.#recordFailure(entry, 'timeout', error, error.message);
    else this.parts.circuits.get(entry.upstreamId)?.onAbandon(entry.ticket);
    publishCreateError(entry, error, error instanceof SessionCreateTimeoutError ? 'timeout' : undefined, this.parts.clock);
    entry.settlePending(error);
  }

  /**
   * The first released call on an unproven (zero-round-trip) connection decides its creation's outcome for the
   * circuit breaker: a transport error counts as a creation failure.
   */
  firstCall(entry: Entry<C>, transportError: boolean, now: number): void {
    entry.unproven = false;
    if (transportError) this.#breakerFailure(entry, now);
    else this.#breakerSuccess(entry, now);
  }

  /** An unproven session left before its first call: its creation had no outcome. */
  unprovenLeft(entry: Entry<C>): void {
    entry.unproven = false;
    this.parts.circuits.get(entry.upstreamId)?.onAbandon(entry.ticket);
  }

  async #connect(entry: Entry<C>, createRequest: SessionCreateRequest): Promise<void> {
    let connection: UpstreamConnection<C>;
    try {
      // Every creation is claimed, not only a downstream session's first (another worker may own it by now).
      const claim = this.parts.ownership.ensureLocal(entry.key.downstreamSessionId);
      if (claim !== undefined) {
        await claim;
        if (entry.state !== 'creating') return;
      }
      connection = await this.parts.create(createRequest, entry.events);
      if (typeof connection !== 'object' || connection === null || typeof connection.close !== 'function') {
        throw new TypeError('SessionFactory.create resolved without a connection ({ client, close })');
      }
    } catch (error) {
      if (entry.state === 'creating') this.parts.events.batch(() => this.#failed(entry, error));
      return;
    }
    if (entry.state !== 'creating') {
      logEntry(this.parts.log, 'debug', 'closing a connection that arrived after its creation was abandoned', entry);
      this.parts.closer.orphan(entry, connection);
      return;
    }
    this.parts.events.batch(() => this.#succeeded(entry, connection));
  }

  #succeeded(entry: Entry<C>, connection: UpstreamConnection<C>): void {
    const { clock, idle, stats } = this.parts;
    const startedAt = entry.createdAt;
    this.#end(entry);
    entry.controller = undefined;
    const now = clock.now();
    entry.connection = connection;
    entry.client = connection.client;
    readConnectionFacts(entry, connection);
    entry.state = 'ready';
    entry.createdAt = now;
    entry.lastUsedAt = now;
    stats.live += 1;
    stats.counters.creates += 1;
    idle.addLive(entry, now);
    idle.markIdle(entry);
    if (!entry.unproven) this.#breakerSuccess(entry, now);
    this.parts.ownership.track(entry.key.downstreamSessionId);
    logEntry(this.parts.log, 'debug', 'upstream session created', entry, { durationMs: now - startedAt });
    this.parts.events.emit('session:created', { key: entry.key, info: entry.info(), durationMs: now - startedAt });
    publishCreateResult(entry, clock);
    entry.settlePending();
    if (entry.dead) this.parts.evict(entry, 'transport-closed');
  }

  #failed(entry: Entry<C>, error: unknown): void {
    this.#end(entry);
    this.parts.unindex(entry);
    entry.state = 'closed';
    if (error instanceof UpstreamSessionError) {
      // The factory or the affinity layer rejected the request itself (bad input, not the owner): not an
      // upstream failure, so the circuit breaker does not count it.
      this.parts.circuits.get(entry.upstreamId)?.onAbandon(entry.ticket);
      publishCreateError(entry, error, undefined, this.parts.clock);
      entry.settlePending(error);
      return;
    }
    const category = classifyError(error);
    const failure = new SessionCreateError(entry.upstreamId, category, error, entry.secrets);
    this.#recordFailure(entry, category, error, failure.message);
    publishCreateError(entry, failure, category, this.parts.clock);
    entry.settlePending(failure);
  }

  #recordFailure(entry: Entry<C>, category: ErrorCategory, error: unknown, message: string): void {
    this.parts.stats.counters.createFailures += 1;
    logEntry(this.parts.log, 'warn', 'upstream session creation failed', entry, { category, error: message });
    this.parts.events.emit('session:create-failed', { key: entry.key, category, error });
    this.#breakerFailure(entry, this.parts.clock.now());
  }

  #breakerFailure(entry: Entry<C>, now: number): void {
    const breaker = this.parts.circuits.ensure(entry.upstreamId);
    if (breaker?.onFailure(entry.ticket, now) !== 'opened') return;
    const retryAfterMs = breaker.retryAfterMs(now);
    const failures = breaker.consecutiveFailures;
    logEntry(this.parts.log, 'warn', 'circuit opened', entry, { failures, retryAfterMs });
    this.parts.events.emit('circuit:open', { upstreamId: entry.upstreamId, failures, retryAfterMs });
  }

  #breakerSuccess(entry: Entry<C>, now: number): void {
    const breaker = this.parts.circuits.get(entry.upstreamId);
    if (breaker === undefined) return;
    if (breaker.onSuccess(now) === 'closed') this.parts.events.emit('circuit:close', { upstreamId: entry.upstreamId });
    this.parts.circuits.prune(entry.upstreamId, now);
  }

  #end(entry: Entry<C>): void {
    this.parts.clock.clearTimeout(entry.timer);
    entry.timer = undefined;
    this.parts.stats.pending -= 1;
    if (entry.upstream !== undefined) entry.upstream.pending -= 1;
  }
}

/** Reads the optional facts a connection reports about itself, once (a throwing getter counts as absent). */
function readConnectionFacts<C>(entry: Entry<C>, connection: UpstreamConnection<C>): void {
  try {
    const { era, protocolVersion, unproven } = connection;
    if (era === 'legacy' || era === 'modern') entry.era = era;
    if (typeof protocolVersion === 'string') entry.protocolVersion = protocolVersion;
    entry.unproven = unproven === true;
  } catch {
    // A hostile connection object: keep the defaults.
  }
}
