import { type CircuitState } from './circuit.js';
import { EVICT_REASONS, type EvictReason } from './events.js';
import { type SessionInfo } from './session-info.js';

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
