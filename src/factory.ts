import { type TransportKind } from './request.js';

/**
 * What a {@link SessionFactory} is asked to create. Frozen; `headers` is a frozen, lower-cased, sanitized
 * copy of the caller's headers (internal MCP and hop-by-hop headers removed).
 */
export interface SessionCreateRequest {
  readonly downstreamSessionId: string;
  readonly upstreamId: string;
  /** The upstream endpoint, exactly as the caller gave it (it may carry credentials: do not log it). */
  readonly url: string;
  readonly transport: TransportKind;
  readonly headers: Readonly<Record<string, string>>;
  /** Aborted when the registry gives up on this creation: create timeout, eviction, `closeAll`. */
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
}

/**
 * How upstream connections are made. The default is `createMcpSessionFactory()`; tests inject
 * `FakeSessionFactory` from `mcp-upstream-sessions/testing`.
 *
 * @example
 * ```ts
 * const factory: SessionFactory<MyClient> = {
 *   async create(request, events) {
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
