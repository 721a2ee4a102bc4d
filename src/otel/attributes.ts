/**
 * Attribute names and the common attribute set of one session (SPEC §10): upstream id, network transport,
 * server address and port (host and port only: never a path, query or userinfo), protocol version, plus the
 * host's own `attributes`. Never a downstream session id.
 *
 * @packageDocumentation
 */

import { type Attributes, type AttributeValue } from '@opentelemetry/api';
import { type TransportKind } from '../types.js';

/** The attribute names the instrumentation writes. */
export const ATTR = Object.freeze({
  upstreamId: 'mcp_upstream.upstream.id',
  networkTransport: 'network.transport',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  protocolVersion: 'mcp.protocol.version',
  methodName: 'mcp.method.name',
  errorType: 'error.type',
  outcome: 'outcome',
  reason: 'reason',
  state: 'state',
} as const);

/** What the common attributes are derived from (a diagnostics context or a `SessionInfo`). */
export interface AttributeSource {
  readonly key: { readonly upstreamId: string };
  readonly transport: TransportKind;
  /** The sanitized URL (HTTP transports). */
  readonly url?: string | undefined;
  readonly protocolVersion?: string | undefined;
}

/** Common attribute sets kept before the cache starts over (bounds memory with dynamic upstream ids). */
const MAX_CACHED = 4_096;

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 };

/** One cached attribute set and the key it was cached under (also the grouping key for observations). */
export interface CommonAttributes {
  readonly id: string;
  readonly attributes: Attributes;
}

/**
 * Builds and caches the common attributes of sessions: one frozen object per distinct (upstream, transport,
 * URL, protocol version), so a URL is parsed once per upstream, not once per event.
 *
 * @example
 * ```ts
 * const cache = new AttributeCache({ 'deployment.environment': 'prod' });
 * declare const info: AttributeSource;
 * cache.of(info).attributes; // { 'mcp_upstream.upstream.id': 'github', 'network.transport': 'tcp', … }
 * ```
 */
export class AttributeCache {
  readonly #base: Attributes;
  readonly #cache = new Map<string, CommonAttributes>();
  readonly #extended = new Map<string, CommonAttributes>();

  /** @param base - The host's `attributes`, added to every set (the library's own names win). */
  constructor(base: Attributes) {
    this.#base = base;
  }

  /**
   * The common attributes of one session.
   *
   * @param source - A diagnostics context or a `SessionInfo`.
   * @param withVersion - Include `mcp.protocol.version` (left out of the sessions gauge, whose `creating`
   * sessions do not know it yet). @default true
   * @returns The cached, frozen attribute set and its grouping id.
   */
  of(source: AttributeSource, withVersion = true): CommonAttributes {
    const upstreamId = source.key.upstreamId;
    const version = withVersion ? (source.protocolVersion ?? '') : '\u0001';
    const id = `${upstreamId}\u0000${source.transport}\u0000${source.url ?? ''}\u0000${version}`;
    let cached = this.#cache.get(id);
    if (cached === undefined) {
      if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
      cached = { id, attributes: Object.freeze(this.#build(upstreamId, source, withVersion)) };
      this.#cache.set(id, cached);
    }
    return cached;
  }

  /**
   * The common attributes plus a few more (outcome, reason, …), cached: the same frozen object (and the same
   * `id`) for the same session attributes and extra values. `undefined` values are left out.
   *
   * @param common - From {@link AttributeCache.of}.
   * @param extra - More attributes for this point or span (few, low-cardinality values).
   * @returns The cached, frozen attribute set and its id.
   */
  extend(common: CommonAttributes, extra: Readonly<Record<string, AttributeValue | undefined>>): CommonAttributes {
    let id = `${common.id}\u0002`;
    for (const name in extra) id += `${name}=${String(extra[name])}\u0003`;
    let cached = this.#extended.get(id);
    if (cached === undefined) {
      if (this.#extended.size >= MAX_CACHED) this.#extended.clear();
      const out: Attributes = { ...common.attributes };
      for (const name in extra) {
        const value = extra[name];
        if (value !== undefined) out[name] = value;
      }
      cached = { id, attributes: Object.freeze(out) };
      this.#extended.set(id, cached);
    }
    return cached;
  }

  /** Forgets every cached set. */
  clear(): void {
    this.#cache.clear();
    this.#extended.clear();
  }

  #build(upstreamId: string, source: AttributeSource, withVersion: boolean): Attributes {
    const out: Attributes = { ...this.#base, [ATTR.upstreamId]: upstreamId };
    out[ATTR.networkTransport] = source.transport === 'stdio' ? 'pipe' : 'tcp';
    if (source.transport !== 'stdio' && source.url !== undefined) {
      const server = serverOf(source.url);
      if (server !== undefined) {
        out[ATTR.serverAddress] = server.address;
        out[ATTR.serverPort] = server.port;
      }
    }
    if (withVersion && source.protocolVersion !== undefined) out[ATTR.protocolVersion] = source.protocolVersion;
    return out;
  }
}

/**
 * Host and port of a (sanitized) URL: the port is the explicit one or the scheme's default; IPv6 hosts lose
 * their brackets. `undefined` when the text is not an http(s) URL.
 *
 * @param url - A URL, usually already sanitized.
 * @returns `{ address, port }` or `undefined`.
 */
export function serverOf(url: string): { address: string; port: number } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const fallback = DEFAULT_PORTS[parsed.protocol];
  if (fallback === undefined || parsed.hostname === '') return undefined;
  const address = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  return { address, port: parsed.port === '' ? fallback : Number(parsed.port) };
}
