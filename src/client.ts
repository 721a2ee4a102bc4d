/**
 * Per-request options the registry passes to an {@link UpstreamClient} (a subset of the MCP SDK's
 * `RequestOptions`). The registry always passes a fresh `signal` per request.
 */
export interface UpstreamRequestOptions {
  /** Aborts the request. */
  signal?: AbortSignal;
  /** Request timeout in milliseconds. */
  timeout?: number;
}

/**
 * The smallest structural interface the registry needs from an upstream client: the four requests the
 * health-probe chain can send. The MCP SDK `Client` satisfies it, and so does `FakeUpstreamClient` from
 * `mcp-upstream-sessions/testing`.
 */
export interface UpstreamClient {
  /** MCP `ping`. */
  ping(options?: UpstreamRequestOptions): Promise<unknown>;
  /** MCP `tools/list`. */
  listTools(params?: { cursor?: string }, options?: UpstreamRequestOptions): Promise<unknown>;
  /** MCP `prompts/list`. */
  listPrompts(params?: { cursor?: string }, options?: UpstreamRequestOptions): Promise<unknown>;
  /** MCP `resources/list`. */
  listResources(params?: { cursor?: string }, options?: UpstreamRequestOptions): Promise<unknown>;
}
