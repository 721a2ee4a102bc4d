import { type Clock } from './clock.js';
import { type IsolatedEmitter } from './emitter.js';
import { type Entry } from './entry.js';
import { type RegistryEvents } from './events.js';
import { type ConnectionEvents, type UpstreamNotification } from './factory.js';
import { ListChangedDebouncer, listChangedKind } from './list-changed.js';
import { errorText, logEntry, type SafeLog } from './log.js';
import { type SessionIndex } from './session-index.js';
import { type RegistryStats } from './stats.js';

/** The parts {@link ConnectionEventRouter} works with (owned by the registry). */
export interface ConnectionEventParts<C> {
  readonly clock: Clock;
  readonly log: SafeLog;
  readonly events: IsolatedEmitter<RegistryEvents>;
  readonly index: SessionIndex<C>;
  readonly stats: RegistryStats;
  readonly notificationDebounceMs: number;
  /** Evicts a session whose transport ended by itself. */
  readonly evict: (entry: Entry<C>, reason: 'transport-closed') => void;
  /** Whether `closeAll()` was called (no list-changed reports after it). */
  readonly closed: () => boolean;
}

/**
 * What a factory reports about a connection after it was created (SPEC §4.2 `ConnectionEvents`): a transport
 * that ended by itself marks the session dead (never handed out again) and evicts it `transport-closed`;
 * notifications become `notification` events, and list-changed ones a debounced `upstream:list-changed` per
 * upstream.
 *
 * @example
 * ```ts
 * import { type Entry } from './entry.js';
 * declare const entry: Entry<FakeUpstreamClient>;
 * declare const parts: ConnectionEventParts<FakeUpstreamClient>;
 * const router = new ConnectionEventRouter(parts);
 * const events = router.for(entry); // handed to factory.create
 * ```
 */
export class ConnectionEventRouter<C> {
  readonly #debouncer: ListChangedDebouncer;

  /** @param parts - The registry's parts. */
  constructor(private readonly parts: ConnectionEventParts<C>) {
    this.#debouncer = new ListChangedDebouncer(parts.clock, parts.notificationDebounceMs, (upstreamId, kinds) =>
      parts.events.emit('upstream:list-changed', { upstreamId, kinds }),
    );
  }

  /** The events object for one entry's connection. */
  for(entry: Entry<C>): ConnectionEvents {
    return {
      closed: (reason?: unknown) => this.#closed(entry, reason),
      notification: (notification) => this.#notification(entry, notification),
    };
  }

  /** Drops pending list-changed reports (`closeAll`). */
  stop(): void {
    this.#debouncer.clear();
  }

  #closed(entry: Entry<C>, reason: unknown): void {
    if (entry.dead) return;
    entry.dead = true;
    if (entry.state !== 'ready' && entry.state !== 'probing') return;
    logEntry(this.parts.log, 'debug', 'upstream transport closed', entry, {
      reason: reason === undefined ? undefined : errorText(reason, entry.secrets),
    });
    if (this.parts.index.holds(entry)) this.parts.evict(entry, 'transport-closed');
  }

  #notification(entry: Entry<C>, notification: UpstreamNotification): void {
    if (entry.state === 'closed' || typeof notification?.method !== 'string') return;
    this.parts.stats.counters.notifications += 1;
    const { method, params } = notification;
    this.parts.events.emit('notification', { key: entry.key, notification: params === undefined ? { method } : { method, params } });
    const kind = listChangedKind(method);
    if (kind !== undefined && !this.parts.closed()) this.#debouncer.add(entry.upstreamId, kind);
  }
}
