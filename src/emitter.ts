import { EventEmitter } from 'eventemitter3';

/**
 * eventemitter3's listener records (the shape its own `emit` walks). This file is the only place that reads
 * them; eventemitter3 is pinned `~5.0.4` and `test/emitter.test.ts` holds the contract (`once`, listener
 * contexts, listeners added during an emit).
 */
interface ListenerRecord {
  fn: (...args: unknown[]) => unknown;
  context: unknown;
  once: boolean;
}
interface EmitterInternals {
  _events: Record<string, ListenerRecord | ListenerRecord[] | undefined>;
}
const EVENT_PREFIX = typeof EventEmitter.prefixed === 'string' ? EventEmitter.prefixed : '';

/** Called when a listener throws or rejects. Must not throw. */
export type ListenerFailure = (event: string, error: unknown) => void;

/**
 * Delivers events of one eventemitter3 emitter with each listener isolated: a throwing (or rejecting) listener
 * is reported through `onFailure`, never propagated, and the other listeners still run. `once` and listener
 * contexts keep their meaning; a listener added during an emit is not called by that emit (eventemitter3's
 * own rule).
 *
 * Events emitted inside {@link IsolatedEmitter.batch} are held and delivered, in order, when the outermost
 * batch ends: the registry finishes a transition (every index consistent, every count right) before any
 * listener runs, so a listener that calls back into the registry (an `acquire` that re-warms a session in a
 * `session:evicted` listener, a `closeAll`) sees a consistent registry and cannot displace an entry.
 *
 * @example
 * ```ts
 * const events = new IsolatedEmitter<RegistryEvents>(registry, (event, error) => log.error('listener threw', { event, error }));
 * declare function evictSomething(): void;
 * declare const payload: SessionEvictedEvent;
 * events.batch(() => { evictSomething(); events.emit('session:evicted', payload); }); // delivered after evictSomething
 * ```
 */
export class IsolatedEmitter<Events extends EventEmitter.ValidEventTypes> {
  #depth = 0;
  readonly #held: [string, unknown][] = [];

  /**
   * @param target - The emitter whose listeners are called.
   * @param onFailure - Reports a listener that threw or rejected.
   */
  constructor(
    private readonly target: EventEmitter<Events>,
    private readonly onFailure: ListenerFailure,
  ) {}

  /** Whether anyone listens to `event` (eventemitter3's public `listenerCount`). */
  listening(event: EventEmitter.EventNames<Events>): boolean {
    return this.target.listenerCount(event) > 0;
  }

  /** Emits `event` now, or when the current batch ends. */
  emit<E extends EventEmitter.EventNames<Events>>(event: E, payload: Parameters<EventEmitter.EventListener<Events, E>>[0]): void {
    if (this.#depth > 0) {
      this.#held.push([event as string, payload]);
      return;
    }
    this.#deliver(event as string, payload);
  }

  /** Runs `fn` holding every event it emits; delivers them when the outermost batch ends (also when `fn` throws). */
  batch<T>(fn: () => T): T {
    this.#depth += 1;
    try {
      return fn();
    } finally {
      this.#depth -= 1;
      if (this.#depth === 0) this.#flush();
    }
  }

  #flush(): void {
    // Listeners may start batches of their own: those deliver into this same queue, in order.
    while (this.#held.length > 0 && this.#depth === 0) {
      const [event, payload] = this.#held.shift() as [string, unknown];
      this.#deliver(event, payload);
    }
  }

  #deliver(event: string, payload: unknown): void {
    const slot = (this.target as unknown as EmitterInternals)._events[EVENT_PREFIX + event];
    if (slot === undefined) return;
    const records = Array.isArray(slot) ? slot.slice() : [slot];
    for (const record of records) {
      if (record.once) {
        (this.target as unknown as EventEmitter<string>).removeListener(event, record.fn, record.context, true);
      }
      try {
        const result = record.fn.call(record.context, payload);
        if (result instanceof Promise) result.catch((error: unknown) => this.#failed(event, error));
      } catch (error) {
        this.#failed(event, error);
      }
    }
  }

  #failed(event: string, error: unknown): void {
    try {
      this.onFailure(event, error);
    } catch {
      // A failure reporter that throws must not break the registry either.
    }
  }
}
