import { AsyncResource } from 'node:async_hooks';
import { createOwnershipPort, type OwnershipPort } from './affinity/port.js';
import { Circuits } from './circuit.js';
import { classifyError } from './classify/index.js';
import { systemClock, type Clock } from './clock.js';
import { Closer } from './closer.js';
import { ConnectionEventRouter } from './connection-events.js';
import { Creations } from './creation.js';
import { publishCloseResult } from './diagnostics.js';
import { IsolatedEmitter } from './emitter.js';
import { type Entry } from './entry.js';
import { type RegistryEvents } from './events.js';
import { type SessionFactory } from './factory.js';
import { IdleTracker } from './idle.js';
import { errorText, logEntry, SafeLog } from './log.js';
import { silentLogger } from './logger.js';
import { createMcpSessionFactory } from './mcp/v1/factory.js';
import { resolveOptions, type RegistryOptions, type ResolvedOptions } from './options.js';
import { Prober } from './prober.js';
import { SessionIndex } from './session-index.js';
import { RegistryStats } from './stats.js';
import { type EvictReason } from './types.js';
import { defaultWorkerId } from './worker-id.js';
import { type EventEmitter } from 'eventemitter3';

/** What the parts call back into the registry for (its transitions). */
export interface RegistryHooks<C> {
  /** Evicts a session (idle and age sweeps, capacity, probe failures, dead transports). */
  evict(entry: Entry<C>, reason: EvictReason): void;
  /** Takes an entry out of the index (and releases the downstream session's claim when it was the last). */
  unindex(entry: Entry<C>): void;
  /** A ready session's last use ended. */
  becameIdle(entry: Entry<C>): void;
  /** Whether `closeAll()` was called. */
  closed(): boolean;
}

/** Every part of one registry, built once by {@link composeRegistry}. */
export interface RegistryParts<C> {
  readonly workerId: string;
  readonly options: ResolvedOptions;
  readonly clock: Clock;
  readonly log: SafeLog;
  readonly events: IsolatedEmitter<RegistryEvents>;
  readonly index: SessionIndex<C>;
  readonly stats: RegistryStats;
  readonly idle: IdleTracker<C>;
  readonly closer: Closer<C>;
  readonly circuits: Circuits;
  readonly ownership: OwnershipPort;
  readonly connections: ConnectionEventRouter<C>;
  readonly creations: Creations<C>;
  readonly prober: Prober<C>;
}

/**
 * Validates the options and builds the parts a registry is composed of, wired to each other and to the
 * registry's `hooks`: one safe logger and one isolated emitter shared by all, the clock owning every timer,
 * and the factory's `create` bound to the construction context (never a caller's AsyncLocalStorage, SPEC §4.2).
 * @throws {@link InvalidOptionsError} for unknown options and invalid values.
 * @example
 * ```ts
 * declare const hooks: RegistryHooks<FakeUpstreamClient>;
 * const parts = composeRegistry(registry, { sessionFactory: factory }, hooks); // in the registry's constructor, with `this`
 * ```
 */
export function composeRegistry<C>(
  owner: EventEmitter<RegistryEvents>,
  options: RegistryOptions<C>,
  hooks: RegistryHooks<C>,
): RegistryParts<C> {
  const resolved = resolveOptions(options);
  const clock = options.clock ?? systemClock;
  const log = new SafeLog(options.logger ?? silentLogger);
  const workerId = options.workerId ?? defaultWorkerId();
  const events = new IsolatedEmitter<RegistryEvents>(owner, (event, error) =>
    log.error('registry event listener threw', { event, error: errorText(error) }),
  );
  const index = new SessionIndex<C>();
  const stats = new RegistryStats();
  const factory = options.sessionFactory ?? (createMcpSessionFactory() as unknown as SessionFactory<C>);
  // `create` runs in the context the registry was built in, never in the caller's (SPEC §4.2): a session's
  // background work must not run inside a finished downstream request's AsyncLocalStorage.
  const context = new AsyncResource('mcp-upstream-sessions:create');
  const evict = (entry: Entry<C>, reason: EvictReason): void => hooks.evict(entry, reason);
  const idle = new IdleTracker<C>(
    clock,
    {
      idleValidationMs: resolved.idleValidationMs,
      idleTtlMs: resolved.idleTtlMs,
      maxAgeMs: resolved.maxAgeMs,
      perUpstream: resolved.maxSessionsPerUpstream !== Infinity,
    },
    evict,
    (fn) => events.batch(fn),
  );
  const { closeTimeoutMs } = resolved;
  const closer = new Closer<C>(clock, closeTimeoutMs, {
    onTimeout: (entry) => {
      stats.counters.closeTimeouts += 1;
      logEntry(log, 'warn', 'upstream session close timed out; abandoned', entry, { closeTimeoutMs });
      events.emit('close:timeout', { key: entry.key, closeTimeoutMs });
      publishCloseResult(entry, 'timeout', undefined, clock);
    },
    onError: (entry, error) => {
      stats.counters.closeErrors += 1;
      logEntry(log, 'warn', 'upstream session close failed', entry, { error: errorText(error, entry.secrets) });
      publishCloseResult(entry, 'error', classifyError(error), clock);
    },
  });
  const { circuitBreaker } = resolved;
  const circuits = new Circuits(circuitBreaker === false ? false : { ...circuitBreaker, trialMs: resolved.createTimeoutMs });
  const connections = new ConnectionEventRouter<C>({
    clock,
    log,
    events,
    index,
    stats,
    notificationDebounceMs: resolved.notificationDebounceMs,
    evict,
    closed: () => hooks.closed(),
  });
  const ownership = createOwnershipPort(options.affinity, {
    workerId,
    ttlMs: resolved.affinityTtlMs,
    heartbeatMs: resolved.heartbeatMs,
    clock,
    logger: log,
    onError: (event) => events.emit('affinity:error', event),
  });
  const shared = { owner, clock, log, events, idle, stats };
  const creations = new Creations<C>({
    ...shared,
    index,
    circuits,
    ownership,
    closer,
    limits: resolved,
    create: (request, connectionEvents) => context.runInAsyncScope(() => factory.create(request, connectionEvents)),
    evict,
    unindex: (entry) => hooks.unindex(entry),
    connectionEvents: (entry) => connections.for(entry),
  });
  const prober = new Prober<C>({
    ...shared,
    probes: resolved.probes,
    probeTimeoutMs: resolved.probeTimeoutMs,
    becameIdle: (entry) => hooks.becameIdle(entry),
    evict,
  });
  return { workerId, options: resolved, clock, log, events, index, stats, idle, closer, circuits, ownership, connections, creations, prober };
}
