/**
 * What a server's protocol era was found to be, and when. `modern` carries the server's `DiscoverResult`
 * (plain JSON, as `server/discover` returned it), which the SDK v2 client adopts with zero round trips.
 *
 * @example
 * ```ts
 * const verdict: EraVerdict = { era: 'modern', discover: { supportedVersions: ['2026-07-28'], capabilities: {} }, checkedAt: Date.now() };
 * ```
 */
export type EraVerdict =
  | { era: 'modern'; discover: Record<string, unknown>; checkedAt: number }
  | { era: 'legacy'; checkedAt: number };

/**
 * Where the SDK v2 factory keeps era verdicts, keyed by an opaque SHA-256 hex string over (url, principal):
 * a store never sees a URL or a credential. `InMemoryEraStore` serves one process; `RedisEraStore`
 * (`mcp-upstream-sessions/redis`) shares verdicts between the workers of a fleet, so each (upstream,
 * principal) is probed once per verdict TTL.
 *
 * Implementations must expire a verdict `ttlMs` after `set`, return `undefined` for a missing or expired
 * key, and never throw for a missing key on `delete`.
 *
 * @example
 * ```ts
 * const store: EraStore = new InMemoryEraStore();
 * await store.set('c0ffee…', { era: 'legacy', checkedAt: Date.now() }, 600_000); // key: SHA-256 of (upstream, principal)
 * ```
 */
export interface EraStore {
  /** The verdict stored under `key`, or `undefined` when there is none (or it expired). */
  get(key: string): Promise<EraVerdict | undefined>;
  /** Stores `verdict` under `key` for `ttlMs` milliseconds, replacing any earlier one. */
  set(key: string, verdict: EraVerdict, ttlMs: number): Promise<void>;
  /** Removes the verdict under `key` (no-op when there is none). */
  delete(key: string): Promise<void>;
}
