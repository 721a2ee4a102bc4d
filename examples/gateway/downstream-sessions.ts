/**
 * The gateway's downstream sessions by `Mcp-Session-Id`, with an idle TTL.
 *
 * Many downstream clients never send DELETE: a closed laptop lid, a crashed IDE, a browser tab that is gone.
 * Without a TTL their downstream session — and, through `evictSession`, their upstream sessions — would live
 * until the registry's own `idleTtlMs` (an hour by default) or forever for the downstream part. A session is
 * idle when no request of it is in flight (an open GET event stream counts as in flight: the client is
 * listening) and none has started for `idleTtlMs`; then `onExpire` runs once.
 */
import { type Clock } from '../../src/index.js';

interface Slot<S> {
  readonly session: S;
  inFlight: number;
  timer: unknown;
}

export class DownstreamSessions<S> {
  readonly #slots = new Map<string, Slot<S>>();

  /**
   * @param clock - Time for the idle timers (the registry's clock; `ManualClock` in tests).
   * @param idleTtlMs - Idle time after which a session expires; `0` = never.
   * @param onExpire - Called once per expired session, after it left the table.
   */
  constructor(
    private readonly clock: Clock,
    private readonly idleTtlMs: number,
    private readonly onExpire: (id: string, session: S) => void,
  ) {}

  get size(): number {
    return this.#slots.size;
  }

  get(id: string): S | undefined {
    return this.#slots.get(id)?.session;
  }

  values(): S[] {
    return [...this.#slots.values()].map((slot) => slot.session);
  }

  /** Adds a session; its idle timer starts now (call {@link begin} for the request that is creating it). */
  add(id: string, session: S): void {
    const slot: Slot<S> = { session, inFlight: 0, timer: undefined };
    this.#slots.set(id, slot);
    this.#arm(id, slot);
  }

  /** Removes a session (its DELETE arrived, or the gateway closes). Returns it, or `undefined`. */
  delete(id: string): S | undefined {
    const slot = this.#slots.get(id);
    if (slot === undefined) return undefined;
    this.#slots.delete(id);
    if (slot.timer !== undefined) this.clock.clearTimeout(slot.timer);
    return slot.session;
  }

  /** Removes every session (the gateway closes) and returns them. */
  clear(): S[] {
    const all = [...this.#slots.keys()].map((id) => this.delete(id));
    return all.filter((session): session is S => session !== undefined);
  }

  /** A request of session `id` started; call the returned function (idempotent) when it is over. */
  begin(id: string): () => void {
    const slot = this.#slots.get(id);
    if (slot === undefined) return () => undefined;
    slot.inFlight += 1;
    if (slot.timer !== undefined) {
      this.clock.clearTimeout(slot.timer);
      slot.timer = undefined;
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      slot.inFlight -= 1;
      if (slot.inFlight === 0 && this.#slots.get(id) === slot) this.#arm(id, slot);
    };
  }

  #arm(id: string, slot: Slot<S>): void {
    if (this.idleTtlMs === 0 || slot.inFlight > 0) return;
    slot.timer = this.clock.setTimeout(() => {
      slot.timer = undefined;
      if (this.#slots.get(id) !== slot || slot.inFlight > 0) return;
      this.#slots.delete(id);
      this.onExpire(id, slot.session);
    }, this.idleTtlMs);
  }
}
