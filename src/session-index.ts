import { type Entry, type UpstreamIndex } from './entry.js';
import { LruList } from './lru.js';

/**
 * The registry's entries (creating, ready or probing — never draining ones) by key, by downstream session and
 * by upstream. Each downstream session's entries form a chain through `entry.sibling` (most sessions talk to a
 * handful of upstreams, so a lookup walks a few links instead of hashing a composite key).
 *
 * Insertion refuses to displace a live entry, and removal first checks the index still holds *the same entry*
 * (undici's Agent check), so a late callback never removes its successor.
 *
 * @example
 * ```ts
 * import { type Entry } from './entry.js';
 * declare const entry: Entry<FakeUpstreamClient>;
 * const index = new SessionIndex<FakeUpstreamClient>();
 * index.insert(entry);
 * index.lookup('d-1', 'github') === entry; // true
 * index.remove(entry);                      // true; a second call returns false
 * ```
 */
export class SessionIndex<C> {
  /** downstreamSessionId → its first entry; the session's other entries follow through `entry.sibling`. */
  readonly #bySession = new Map<string, Entry<C>>();
  readonly #byUpstream = new Map<string, UpstreamIndex<C>>();
  #count = 0;

  /** Entries indexed (creations in progress included). */
  get count(): number {
    return this.#count;
  }

  /** The entry for a key, if any. */
  lookup(downstreamSessionId: string, upstreamId: string): Entry<C> | undefined {
    let entry = this.#bySession.get(downstreamSessionId);
    while (entry !== undefined && entry.upstreamId !== upstreamId) entry = entry.sibling;
    return entry;
  }

  /** Whether `entry` is the one indexed for its key. */
  holds(entry: Entry<C>): boolean {
    return this.lookup(entry.key.downstreamSessionId, entry.upstreamId) === entry;
  }

  /** A copy of one downstream session's entries (safe to evict while iterating). */
  sessionEntries(downstreamSessionId: string): Entry<C>[] {
    const out: Entry<C>[] = [];
    for (let entry = this.#bySession.get(downstreamSessionId); entry !== undefined; entry = entry.sibling) out.push(entry);
    return out;
  }

  /** A copy of one upstream's entries. */
  upstreamEntries(upstreamId: string): Entry<C>[] {
    const index = this.#byUpstream.get(upstreamId);
    return index === undefined ? [] : [...index.entries];
  }

  /** A copy of every entry. */
  all(): Entry<C>[] {
    const out: Entry<C>[] = [];
    for (const first of this.#bySession.values()) {
      for (let entry: Entry<C> | undefined = first; entry !== undefined; entry = entry.sibling) out.push(entry);
    }
    return out;
  }

  /** Whether the downstream session has any entry left. */
  hasSession(downstreamSessionId: string): boolean {
    return this.#bySession.has(downstreamSessionId);
  }

  /** The upstream's index, if it has entries. */
  upstream(upstreamId: string): UpstreamIndex<C> | undefined {
    return this.#byUpstream.get(upstreamId);
  }

  /** Every upstream with entries. */
  upstreams(): IterableIterator<[string, UpstreamIndex<C>]> {
    return this.#byUpstream.entries();
  }

  /** How many entries the upstream has (creations included). */
  upstreamCount(upstreamId: string): number {
    return this.#byUpstream.get(upstreamId)?.entries.size ?? 0;
  }

  /**
   * Indexes `entry` (its key must be free: the caller looked it up in the same synchronous step).
   * @returns `false`, indexing nothing, when another entry already holds the key.
   */
  insert(entry: Entry<C>): boolean {
    const { downstreamSessionId, upstreamId } = entry.key;
    if (this.lookup(downstreamSessionId, upstreamId) !== undefined) return false;
    let index = this.#byUpstream.get(upstreamId);
    if (index === undefined) {
      index = { entries: new Set(), idle: new LruList(), pending: 0, inFlight: 0 };
      this.#byUpstream.set(upstreamId, index);
    }
    entry.sibling = this.#bySession.get(downstreamSessionId);
    this.#bySession.set(downstreamSessionId, entry);
    index.entries.add(entry);
    entry.upstream = index;
    this.#count += 1;
    return true;
  }

  /**
   * Removes `entry` from every index if it is still the entry for its key; drops its upstream's index when it
   * was the upstream's last entry.
   * @returns whether it was removed.
   */
  remove(entry: Entry<C>): boolean {
    if (!this.holds(entry)) return false;
    this.#unlink(entry);
    this.#count -= 1;
    const index = entry.upstream;
    if (index !== undefined) {
      index.entries.delete(entry);
      index.idle.remove(entry.upstreamIdleNode);
      index.inFlight -= entry.inFlight;
      if (index.entries.size === 0 && this.#byUpstream.get(entry.upstreamId) === index) this.#byUpstream.delete(entry.upstreamId);
    }
    return true;
  }

  /** Takes `entry` out of its downstream session's chain, dropping the session's key when it was the last. */
  #unlink(entry: Entry<C>): void {
    const { downstreamSessionId } = entry.key;
    const first = this.#bySession.get(downstreamSessionId);
    if (first === entry) {
      if (entry.sibling === undefined) this.#bySession.delete(downstreamSessionId);
      else this.#bySession.set(downstreamSessionId, entry.sibling);
    } else {
      let previous = first;
      while (previous !== undefined && previous.sibling !== entry) previous = previous.sibling;
      if (previous !== undefined) previous.sibling = entry.sibling;
    }
    entry.sibling = undefined;
  }
}
