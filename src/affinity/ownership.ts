// STUB: the contract between the registry and the affinity layer. To be implemented (issue #4).
import { type Clock } from '../clock.js';
import { type AffinityErrorEvent } from '../events.js';
import { type Logger } from '../logger.js';
import { type AffinityStore, type RouteDecision } from './store.js';

/** Settings of {@link Ownership}. */
export interface OwnershipOptions {
  store: AffinityStore;
  workerId: string;
  ttlMs: number;
  heartbeatMs: number;
  clock: Clock;
  logger: Logger;
  /** Called for every store failure (the registry emits `affinity:error`). Must not throw. */
  onError(event: AffinityErrorEvent): void;
}

/**
 * The registry's side of multi-worker affinity: heartbeats, claims, batched refreshes, releases.
 * The registry composes it; all store failures fail open (treated as local) and are reported via `onError`.
 */
export class Ownership {
  constructor(readonly options: OwnershipOptions) {}

  /** SPEC §6 `route()`. Never rejects. */
  route(downstreamSessionId: string): Promise<RouteDecision> {
    return Promise.resolve({ local: true, owner: this.options.workerId + downstreamSessionId.slice(0, 0) });
  }

  /**
   * Called by the registry before it creates the first local session for `downstreamSessionId`.
   * Claims it; rejects with `NotOwnerError` when another live worker owns it. Store failures fail open.
   */
  ensureLocal(downstreamSessionId: string): Promise<void> {
    void downstreamSessionId;
    return Promise.resolve();
  }

  /** The registry now holds a live session for `downstreamSessionId` (keep its claim refreshed). */
  track(downstreamSessionId: string): void {
    void downstreamSessionId;
  }

  /** The last local session of `downstreamSessionId` is gone: stop refreshing and release the claim. Never throws. */
  release(downstreamSessionId: string): void {
    void downstreamSessionId;
  }

  /** Stops timers and releases every tracked claim. Bounded; never rejects. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
