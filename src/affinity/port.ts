import { type Clock } from '../clock.js';
import { type AffinityErrorEvent } from '../events.js';
import { type Logger } from '../logger.js';
import { Ownership } from './ownership.js';
import { type AffinityStore, type RouteDecision } from './store.js';

/**
 * The registry's one view of multi-worker ownership (SPEC §6). Without an affinity store it is a null object:
 * every session is local and nothing touches a store, so the registry never asks "is affinity on?".
 *
 * @example
 * ```ts
 * declare const settings: OwnershipPortSettings;
 * const port = createOwnershipPort(undefined, settings); // null object
 * await port.route('d-1');                              // { local: true, owner: settings.workerId }
 * ```
 */
export interface OwnershipPort {
  /** Which worker should serve the downstream session. Never rejects (store failures fail open). */
  route(downstreamSessionId: string): Promise<RouteDecision>;
  /**
   * Called before every creation for the downstream session: claims it. Returns `undefined` when there is
   * nothing to wait for (no store), so a creation without affinity starts in the same tick.
   * @throws {@link NotOwnerError} (as a rejection) when another live worker owns it.
   */
  ensureLocal(downstreamSessionId: string): Promise<void> | undefined;
  /** The downstream session has a live local session: keep its claim refreshed. */
  track(downstreamSessionId: string): void;
  /** Its last local session is gone: release the claim (in the background). */
  release(downstreamSessionId: string): void;
  /** Stops background work and releases claims, within `timeoutMs`; never rejects. */
  close(timeoutMs: number): Promise<void>;
}

/** What the ownership port needs besides the store. */
export interface OwnershipPortSettings {
  readonly workerId: string;
  readonly ttlMs: number;
  readonly heartbeatMs: number;
  readonly clock: Clock;
  /** A logger that never throws and redacts what it writes (the registry's safe logger). */
  readonly logger: Logger;
  /** Reports store failures (the registry emits `affinity:error`). Must not throw. */
  readonly onError: (event: AffinityErrorEvent) => void;
}

const resolved = Promise.resolve();

/** The null object: every downstream session is local. */
class LocalOwnership implements OwnershipPort {
  readonly #decision: RouteDecision;
  constructor(workerId: string) {
    this.#decision = Object.freeze({ local: true, owner: workerId });
  }
  route(): Promise<RouteDecision> {
    return Promise.resolve({ ...this.#decision });
  }
  ensureLocal(): undefined {
    return undefined;
  }
  track(): void {}
  release(): void {}
  close(): Promise<void> {
    return resolved;
  }
}

/** Ownership backed by a store, through {@link Ownership}'s public methods. */
class StoreOwnership implements OwnershipPort {
  readonly #ownership: Ownership;
  constructor(store: AffinityStore, settings: OwnershipPortSettings) {
    this.#ownership = new Ownership({
      store,
      workerId: settings.workerId,
      ttlMs: settings.ttlMs,
      heartbeatMs: settings.heartbeatMs,
      clock: settings.clock,
      logger: settings.logger,
      onError: (event) => {
        try {
          settings.onError(event);
        } catch {
          // Reporting must never change a routing decision.
        }
      },
    });
  }
  route(downstreamSessionId: string): Promise<RouteDecision> {
    return this.#ownership.route(downstreamSessionId);
  }
  ensureLocal(downstreamSessionId: string): Promise<void> {
    return this.#ownership.ensureLocal(downstreamSessionId);
  }
  track(downstreamSessionId: string): void {
    this.#ownership.track(downstreamSessionId);
  }
  release(downstreamSessionId: string): void {
    this.#ownership.release(downstreamSessionId);
  }
  close(timeoutMs: number): Promise<void> {
    return this.#ownership.close(timeoutMs);
  }
}

/**
 * The ownership port for a registry: backed by `store`, or the local null object without one.
 * @example
 * ```ts
 * const port = createOwnershipPort(new InMemoryAffinityStore(), {
 *   workerId: 'w1', ttlMs: 300_000, heartbeatMs: 10_000, clock: systemClock, logger: log,
 *   onError: (event) => registry.emit('affinity:error', event),
 * });
 * ```
 */
export function createOwnershipPort(store: AffinityStore | undefined, settings: OwnershipPortSettings): OwnershipPort {
  return store === undefined ? new LocalOwnership(settings.workerId) : new StoreOwnership(store, settings);
}
