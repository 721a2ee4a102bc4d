/**
 * Shared record of which worker owns which downstream session, for gateways that run as several processes.
 * Implementations must make `claim` atomic and `refresh`, `release` and `reclaim` compare-and-set.
 * `InMemoryAffinityStore` and `RedisAffinityStore` (entry point `mcp-upstream-sessions/redis`) implement it.
 */
export interface AffinityStore {
  /** Claims `sessionId` for `workerId` unless another worker holds it; returns the owner after the call. */
  claim(sessionId: string, workerId: string, ttlMs: number): Promise<string>;
  /** Extends the claim iff `workerId` owns it; returns whether it did. */
  refresh(sessionId: string, workerId: string, ttlMs: number): Promise<boolean>;
  /** Deletes the claim iff `workerId` owns it; returns whether it did. */
  release(sessionId: string, workerId: string): Promise<boolean>;
  /** The current owner, or `null`. */
  owner(sessionId: string): Promise<string | null>;
  /** Compare-and-set: moves the claim from `deadWorkerId` to `workerId` iff `deadWorkerId` still owns it. */
  reclaim(sessionId: string, deadWorkerId: string, workerId: string, ttlMs: number): Promise<boolean>;
  /** Records that `workerId` is alive for `ttlMs`. */
  heartbeat(workerId: string, ttlMs: number): Promise<void>;
  /** Whether `workerId` has an unexpired heartbeat. */
  isAlive(workerId: string): Promise<boolean>;
}

/** Where a downstream session's requests should run. `owner` is a worker id. */
export type RouteDecision = { local: true; owner: string } | { local: false; owner: string };
