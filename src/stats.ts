import { zeroCounters, zeroEvictions, type RegistryCounters } from './snapshot.js';
import { type EvictReason } from './types.js';

/**
 * The registry's numbers, shared by the parts that change them (creation, probing, eviction, leases): live
 * sessions, creations in progress, open leases, counters and evictions by reason.
 *
 * @example
 * ```ts
 * const stats = new RegistryStats();
 * stats.counters.creates += 1;
 * ```
 */
export class RegistryStats {
  /** Live sessions (ready or probing): `registry.size`. */
  live = 0;
  /** Creations in progress. */
  pending = 0;
  /** Open leases. */
  inFlight = 0;
  /** Monotonic counters. */
  readonly counters: RegistryCounters = zeroCounters();
  /** Evictions per reason. */
  readonly evictionsByReason: Record<EvictReason, number> = zeroEvictions();
}
