import { type ProbeMethod, type ProbeResult, type ProtocolEra } from './types.js';

/** What every {@link SessionCreateRequest} carries. Frozen. */
export interface SessionCreateRequestBase {
  readonly downstreamSessionId: string;
  readonly upstreamId: string;
  /** Aborted when the registry gives up on this creation: create timeout, eviction, `closeAll`. */
  readonly signal: AbortSignal;
  /** The downstream client's MCP capabilities (deep-frozen copy), to announce upstream for this session. */
  readonly clientCapabilities?: Readonly<Record<string, unknown>>;
  /** The authorization context (user, tenant) the request named, if any. */
  readonly principal?: string;
}

/**
 * An HTTP creation: `headers` is a frozen, lower-cased, sanitized copy of the caller's headers (internal MCP
 * and hop-by-hop headers removed).
 */
export interface HttpSessionCreateRequest extends SessionCreateRequestBase {
  readonly transport: 'streamable-http' | 'sse';
  /** The upstream endpoint, exactly as the caller gave it (it may carry credentials: do not log it). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** A stdio creation: spawn `command` with `args` in `cwd`, `env` added to a minimal environment. */
export interface StdioSessionCreateRequest extends SessionCreateRequestBase {
  readonly transport: 'stdio';
  readonly command: string;
  /** Never log these. */
  readonly args: readonly string[];
  /** Never log these values. */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/** What a {@link SessionFactory} is asked to create. Frozen; narrow on `transport`. */
export type SessionCreateRequest = HttpSessionCreateRequest | StdioSessionCreateRequest;

/** Options of {@link UpstreamConnection.probe}. */
export interface ConnectionProbeOptions {
  /** The registry's probe chain (what a legacy-era connection should run). */
  readonly probes: readonly ProbeMethod[];
  /** Timeout of each step, in milliseconds; a step that times out makes the session unhealthy. */
  readonly timeoutMs: number;
  /** Aborted when the registry gives up on the probe (eviction, `closeAll`). */
  readonly signal: AbortSignal;
}

/** A server notification forwarded from an upstream session. */
export interface UpstreamNotification {
  method: string;
  params?: unknown;
}

/** Callbacks a factory uses to report what happens to a connection after it was created. */
export interface ConnectionEvents {
  /** The transport ended by itself (peer closed, fatal transport error). The session is never reused. */
  closed(reason?: unknown): void;
  /** A server notification arrived on this connection. */
  notification(notification: UpstreamNotification): void;
}

/** One live upstream connection made by a {@link SessionFactory}. */
export interface UpstreamConnection<C> {
  /** The client callers use; handed out by `acquire` and `withSession`. */
  readonly client: C;
  /**
   * Closes the connection gracefully (for MCP: terminate the upstream session, then close the client).
   * `signal` fires when the registry's grace window (`closeTimeoutMs`) ends: stop waiting and tear down.
   * The registry calls this exactly once per connection.
   */
  close(signal: AbortSignal): Promise<void>;
  /**
   * The connection's own health probe, used instead of the registry's `runProbeChain` (same outcome rules: a
   * timeout or transport failure is unhealthy, `healthy: true` only when the upstream answered). The registry
   * bounds it at `probes.length × timeoutMs`.
   */
  probe?(options: ConnectionProbeOptions): Promise<ProbeResult>;
  /** The protocol era, when the factory knows it (shown in `SessionInfo`, snapshots and events). */
  readonly era?: ProtocolEra;
  /** The negotiated protocol version, when the factory knows it. */
  readonly protocolVersion?: string;
  /**
   * True when the connection was made with zero round trips (e.g. from a cached modern-era verdict), so it has
   * not proved the upstream is up: the registry then counts a transport error on the session's first released
   * call as a creation failure for the circuit breaker.
   */
  readonly unproven?: boolean;
}

/**
 * How upstream connections are made. The default is `createMcpSessionFactory()`; tests inject
 * `FakeSessionFactory` from `mcp-upstream-sessions/testing`.
 *
 * @example
 * ```ts
 * interface MyClient {
 *   on(event: 'close', listener: (reason: unknown) => void): void;
 *   close(): Promise<void>;
 * }
 * declare const MyClient: {
 *   connect(url: string, options: { headers: Readonly<Record<string, string>>; signal: AbortSignal }): Promise<MyClient>;
 * };
 * const factory: SessionFactory<MyClient> = {
 *   async create(request, events) {
 *     if (request.transport === 'stdio') throw new InvalidRequestError('transport', 'stdio is not supported here');
 *     const client = await MyClient.connect(request.url, { headers: request.headers, signal: request.signal });
 *     client.on('close', (reason) => events.closed(reason));
 *     return { client, close: () => client.close() };
 *   },
 * };
 * ```
 */
export interface SessionFactory<C> {
  /**
   * Creates one upstream connection. Must honour `request.signal`. A connection returned after the signal
   * fired is closed by the registry at once.
   */
  create(request: SessionCreateRequest, events: ConnectionEvents): Promise<UpstreamConnection<C>>;
}
