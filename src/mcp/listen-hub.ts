// One shared notification stream per key, fanned out to every member of the key (no SDK import).
import { type Clock } from '../clock.js';
import { type UpstreamNotification } from '../factory.js';

/** How a shared stream ended: closed by us, ended by the server on purpose, or dropped. */
export type ListenCloseReason = 'local' | 'graceful' | 'remote';

/** An open stream, as a {@link ListenOpener} made it. */
export interface ListenStream {
  /** Resolves once, when the stream has ended. Never rejects. */
  readonly closed: Promise<ListenCloseReason>;
  /** Ends the stream (idempotent); `closed` then resolves with `'local'`. */
  close(): Promise<void>;
}

/**
 * Opens a stream on behalf of one member (with that member's headers). Every notification it receives goes
 * to `deliver`, which fans it out to every member of the key.
 */
export type ListenOpener = (deliver: (notification: UpstreamNotification) => void) => Promise<ListenStream>;

/** One live connection of a key: how it receives notifications, and how a stream is opened with its headers. */
export interface ListenMember {
  readonly deliver: (notification: UpstreamNotification) => void;
  readonly open: ListenOpener;
}

/** Backoff of {@link ListenHub} reopens, in milliseconds. */
export interface ListenBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** The `_meta` key the server stamps on every notification of a listen stream; members never see it. */
export const SUBSCRIPTION_ID_META_KEY = 'io.modelcontextprotocol/subscriptionId';

/** A copy of `notification` without the listen stream's subscription id in `params._meta`. */
export function withoutSubscriptionId(notification: UpstreamNotification): UpstreamNotification {
  const params = notification.params;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return notification;
  const meta = (params as { _meta?: unknown })._meta;
  if (typeof meta !== 'object' || meta === null || !(SUBSCRIPTION_ID_META_KEY in meta)) return notification;
  const { [SUBSCRIPTION_ID_META_KEY]: _dropped, ...restMeta } = meta as Record<string, unknown>;
  const { _meta: _old, ...restParams } = params as Record<string, unknown>;
  const nextParams = Object.keys(restMeta).length > 0 ? { ...restParams, _meta: restMeta } : restParams;
  return Object.keys(nextParams).length > 0 ? { method: notification.method, params: nextParams } : { method: notification.method };
}

/** One key's members and its stream. State that exists only while a stream is open lives in `open`. */
class Group {
  readonly members = new Map<symbol, ListenMember>();
  /** Bumped on every open attempt and on teardown: a late result of an older attempt is closed, not adopted. */
  generation = 0;
  opener: symbol | undefined;
  stream: ListenStream | undefined;
  openedAt = 0;
  attempt = 0;
  timer: unknown;
  timerSet = false;

  fanOut(notification: UpstreamNotification): void {
    const clean = withoutSubscriptionId(notification);
    for (const member of [...this.members.values()]) {
      try {
        member.deliver(clean);
      } catch {
        // A member's delivery must not stop the others (the registry isolates its own listeners too).
      }
    }
  }
}

/**
 * At most one stream per key, shared by every member of that key. The stream is opened with the first
 * member's opener; reopened with exponential backoff (through the `clock`) after any end the hub did not ask
 * for (`'remote'` or `'graceful'`) or a failed open; moved to another member's opener when its opener leaves;
 * closed when the last member leaves. Notifications are delivered to every member, without the
 * subscription id meta key.
 *
 * @example
 * ```ts
 * const hub = new ListenHub(systemClock, { initialMs: 500, maxMs: 30_000 });
 * declare const events: ConnectionEvents;
 * declare const openListen: ListenOpener; // opens `subscriptions/listen` with one live connection's headers
 * const leave = hub.join('c0ffee…', { deliver: (n) => events.notification(n), open: openListen }); // key: the era key
 * // … on close: leave();
 * ```
 */
export class ListenHub {
  readonly #groups = new Map<string, Group>();

  constructor(
    private readonly clock: Clock,
    private readonly backoff: ListenBackoff,
  ) {}

  /** Keys with at least one member (for tests and diagnostics). */
  get size(): number {
    return this.#groups.size;
  }

  /** Whether a stream is currently open for `key`. */
  isOpen(key: string): boolean {
    return this.#groups.get(key)?.stream !== undefined;
  }

  /**
   * Adds a member to `key`, opening the key's stream if there is none. Returns the idempotent function that
   * removes the member again.
   */
  join(key: string, member: ListenMember): () => void {
    let group = this.#groups.get(key);
    if (group === undefined) {
      group = new Group();
      this.#groups.set(key, group);
    }
    const id = Symbol('member');
    group.members.set(id, member);
    if (group.opener === undefined && !group.timerSet) this.#open(key, group);
    let left = false;
    const joined = group;
    return () => {
      if (left) return;
      left = true;
      this.#leave(key, joined, id);
    };
  }

  #leave(key: string, group: Group, id: symbol): void {
    group.members.delete(id);
    if (this.#groups.get(key) !== group) return;
    if (group.members.size === 0) {
      this.#groups.delete(key);
      this.#teardown(group);
      return;
    }
    if (group.opener === id) {
      // Move the stream to a member that is still here: its opener's headers may stop working.
      this.#teardown(group);
      this.#open(key, group);
    }
  }

  /** Closes the group's stream (ours, so its end is not reopened) and cancels a pending reopen. */
  #teardown(group: Group): void {
    group.generation += 1;
    group.opener = undefined;
    if (group.timerSet) {
      this.clock.clearTimeout(group.timer);
      group.timerSet = false;
    }
    const stream = group.stream;
    group.stream = undefined;
    if (stream !== undefined) void stream.close().catch(() => undefined);
  }

  #open(key: string, group: Group): void {
    const first = group.members.entries().next();
    if (first.done === true) return;
    const [id, member] = first.value;
    group.generation += 1;
    const generation = group.generation;
    group.opener = id;
    let opening: Promise<ListenStream>;
    try {
      opening = member.open((notification) => group.fanOut(notification));
    } catch (error) {
      opening = Promise.reject(error);
    }
    opening.then(
      (stream) => {
        if (group.generation !== generation || this.#groups.get(key) !== group) {
          void stream.close().catch(() => undefined);
          return;
        }
        group.stream = stream;
        group.openedAt = this.clock.now();
        void stream.closed.then((reason) => this.#ended(key, group, generation, reason));
      },
      () => {
        if (group.generation !== generation || this.#groups.get(key) !== group) return;
        group.opener = undefined;
        this.#scheduleReopen(key, group);
      },
    );
  }

  /** The stream ended by itself (or by a close of ours, which the generation check filters out). */
  #ended(key: string, group: Group, generation: number, _reason: ListenCloseReason): void {
    if (group.generation !== generation || this.#groups.get(key) !== group) return;
    group.stream = undefined;
    group.opener = undefined;
    // A stream that stayed up for a full backoff window starts the backoff over.
    if (this.clock.now() - group.openedAt >= this.backoff.maxMs) group.attempt = 0;
    this.#scheduleReopen(key, group);
  }

  #scheduleReopen(key: string, group: Group): void {
    if (group.members.size === 0 || group.timerSet) return;
    const delay = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** group.attempt);
    group.attempt = Math.min(group.attempt + 1, 30);
    group.timerSet = true;
    group.timer = this.clock.setTimeout(() => {
      group.timerSet = false;
      if (this.#groups.get(key) !== group || group.opener !== undefined) return;
      this.#open(key, group);
    }, delay);
  }
}
