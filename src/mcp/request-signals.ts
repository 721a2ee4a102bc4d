// Per-request abort signals that follow one long-lived signal (no SDK import; shared by both MCP factories).

/** Keeps each per-request controller alive exactly as long as its signal (which `fetch` holds while it runs). */
const controllers = new WeakMap<AbortSignal, AbortController>();

/** The per-request controllers that follow one parent signal, held weakly; one listener on the parent. */
class Followers {
  readonly #live = new Set<WeakRef<AbortController>>();
  #pruneAt = 64;

  constructor(parent: AbortSignal) {
    parent.addEventListener('abort', () => this.#abortAll(parent.reason as unknown), { once: true });
  }

  next(): AbortSignal {
    const controller = new AbortController();
    controllers.set(controller.signal, controller);
    this.#live.add(new WeakRef(controller));
    if (this.#live.size >= this.#pruneAt) this.#prune();
    return controller.signal;
  }

  /** Drops the references of collected controllers; amortized O(1) per request. */
  #prune(): void {
    for (const ref of this.#live) if (ref.deref() === undefined) this.#live.delete(ref);
    this.#pruneAt = Math.max(64, this.#live.size * 2);
  }

  #abortAll(reason: unknown): void {
    for (const ref of this.#live) ref.deref()?.abort(reason);
    this.#live.clear();
  }
}

const followers = new WeakMap<AbortSignal, Followers>();

/**
 * A fresh `AbortSignal` for one request that aborts (with the same reason) when `parent` aborts, without
 * adding a listener to `parent` per request.
 *
 * MCP SDK transports pass one long-lived signal (the transport's own) to every `fetch`. Node's `fetch`
 * (undici) adds an abort listener to the signal of each request and removes it only when the request is
 * garbage-collected, and resets the signal's listener limit as it goes, so busy sessions log
 * `MaxListenersExceededWarning`. `AbortSignal.any([parent])` avoids the listener but, on Node 20, keeps
 * every dependent signal that has a listener alive until the parent aborts. Here the parent gets one
 * listener for its lifetime; per-request controllers are held weakly (alive while their signal is, that is
 * while `fetch` holds the request) and pruned in amortized constant time.
 *
 * @param parent - The long-lived signal (for example the SDK transport's); `undefined` or `null` gives a
 *   fresh signal that never aborts by itself.
 * @returns A new signal, already aborted if `parent` is.
 * @example
 * ```ts
 * const fetchWithFreshSignals: typeof fetch = (url, init) =>
 *   fetch(url, { ...init, signal: requestSignal(init?.signal) });
 * ```
 */
export function requestSignal(parent: AbortSignal | null | undefined): AbortSignal {
  if (parent == null) return new AbortController().signal;
  if (parent.aborted) return AbortSignal.abort(parent.reason);
  let group = followers.get(parent);
  if (group === undefined) {
    group = new Followers(parent);
    followers.set(parent, group);
  }
  return group.next();
}
