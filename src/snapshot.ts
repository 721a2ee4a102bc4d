import { type Circuits, type CircuitState } from './circuit.js';
import { type Entry, type UpstreamIndex } from './entry.js';
import { EVICT_REASONS, type EvictReason, type SessionInfo } from './types.js';

/** Monotonic counters since the registry was constructed. */
export interface RegistryCounters {
  /** Sessions created by the factory. */
  creates: number;
  /** Leases handed out on an existing session. */
  reuses: number;
  /** Creations that failed or timed out. */
  createFailures: number;
  /** Health-probe chains run. */
  probes: number;
  /** Health-probe chains that found a session unhealthy. */
  probeFailures: number;
  /** Sessions evicted, for any reason. */
  evictions: number;
  /** Connection closes abandoned after `2 × closeTimeoutMs`. */
  closeTimeouts: number;
  /** Connection closes that failed (logged, never thrown). */
  closeErrors: number;
  /** Server notifications received. */
  notifications: number;
}

/** Per-upstream breakdown in a {@link RegistrySnapshot}. */
export interface UpstreamSnapshot {
  upstreamId: string;
  /** Live sessions (ready or probing). */
  sessions: number;
  /** Creations in progress. */
  pending: number;
  /** Open leases. */
  inFlight: number;
  circuit: CircuitState;
  /** Consecutive creation failures counted by the circuit breaker. */
  consecutiveFailures: number;
}

/** A fresh, plain, JSON-serializable picture of the registry. Never contains header values. */
export interface RegistrySnapshot {
  workerId: string;
  closed: boolean;
  /** Live sessions (ready or probing); equals `registry.size`. */
  sessions: number;
  /** Creations in progress. */
  pending: number;
  /** Open leases. */
  inFlight: number;
  /** Evicted sessions still being drained or closed. */
  draining: number;
  counters: RegistryCounters;
  evictionsByReason: Record<EvictReason, number>;
  upstreams: UpstreamSnapshot[];
  entries: SessionInfo[];
}

/** New zeroed counters. */
export function zeroCounters(): RegistryCounters {
  return { creates: 0, reuses: 0, createFailures: 0, probes: 0, probeFailures: 0, evictions: 0, closeTimeouts: 0, closeErrors: 0, notifications: 0 };
}

/** New zeroed per-reason eviction counts. */
export function zeroEvictions(): Record<EvictReason, number> {
  const out = {} as Record<EvictReason, number>;
  for (const reason of EVICT_REASONS) out[reason] = 0;
  return out;
}

/** What {@link buildSnapshot} reads from the registry. */
export interface SnapshotSource<C> {
  readonly workerId: string;
  readonly closed: boolean;
  readonly live: number;
  readonly pending: number;
  readonly inFlight: number;
  readonly counters: RegistryCounters;
  readonly evictionsByReason: Record<EvictReason, number>;
  /** Indexed entries (creating, ready, probing). */
  readonly entries: readonly Entry<C>[];
  /** Evicted entries still draining. */
  readonly draining: Iterable<Entry<C>>;
  readonly upstreams: Iterable<[string, UpstreamIndex<C>]>;
  readonly circuits: Circuits;
}

/**
 * Builds a fresh, plain {@link RegistrySnapshot}: every object and array is new, nothing is shared with the
 * registry. Upstreams are those with entries plus those with remembered circuit state.
 * @example
 * ```ts
 * declare const source: SnapshotSource<FakeUpstreamClient>;
 * const snapshot = buildSnapshot(source);
 * JSON.stringify(snapshot); // always works
 * ```
 */
export function buildSnapshot<C>(source: SnapshotSource<C>): RegistrySnapshot {
  const entries: SessionInfo[] = source.entries.map((entry) => entry.info());
  let draining = 0;
  for (const entry of source.draining) {
    entries.push(entry.info());
    draining += 1;
  }
  const upstreams: UpstreamSnapshot[] = [];
  const seen = new Set<string>();
  const describe = (upstreamId: string, index: UpstreamIndex<C> | undefined): UpstreamSnapshot => {
    const breaker = source.circuits.get(upstreamId);
    return {
      upstreamId,
      sessions: index === undefined ? 0 : index.entries.size - index.pending,
      pending: index?.pending ?? 0,
      inFlight: index?.inFlight ?? 0,
      circuit: breaker?.state ?? 'closed',
      consecutiveFailures: breaker?.consecutiveFailures ?? 0,
    };
  };
  for (const [upstreamId, index] of source.upstreams) {
    seen.add(upstreamId);
    upstreams.push(describe(upstreamId, index));
  }
  for (const upstreamId of source.circuits.keys()) if (!seen.has(upstreamId)) upstreams.push(describe(upstreamId, undefined));
  return {
    workerId: source.workerId,
    closed: source.closed,
    sessions: source.live,
    pending: source.pending,
    inFlight: source.inFlight,
    draining,
    counters: { ...source.counters },
    evictionsByReason: { ...source.evictionsByReason },
    upstreams,
    entries,
  };
}
