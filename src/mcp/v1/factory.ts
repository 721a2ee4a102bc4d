import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type ClientCapabilities, type Implementation } from '@modelcontextprotocol/sdk/types.js';
import { InvalidOptionsError } from '../../errors.js';
import { type ConnectionEvents, type SessionCreateRequest, type SessionFactory } from '../../factory.js';
import { type SessionKey } from '../../request.js';
import { hasHeaders, httpUrl, mergeHeaders, takeUserinfo } from '../headers.js';
import { McpConnection, type StreamableTransportOptions } from './connection.js';
import { FetchTracker } from './fetch-tracker.js';
import { SERVER_REQUEST_CAPABILITIES, type McpServerRequestHandler } from '../server-request.js';
import { relayServerRequests } from './server-requests.js';

/** The `clientInfo` sent in `initialize` when none is given. Kept equal to package.json by a test. */
export const DEFAULT_CLIENT_INFO: Readonly<Implementation> = Object.freeze({
  name: 'mcp-upstream-sessions',
  version: '0.1.0',
});

/** Options of {@link createMcpSessionFactory}. All optional. */
export interface McpSessionFactoryOptions {
  /**
   * Name and version the gateway announces to upstreams in `initialize`.
   * @default { name: 'mcp-upstream-sessions', version: <library version> }
   */
  clientInfo?: Implementation;
  /**
   * Client capabilities announced to upstreams. When set, it is used as is, and `onServerRequest` answers
   * only the requests it declares (`sampling`, `elicitation`, `roots`); the SDK answers the others with
   * method-not-found.
   * @default `{ sampling: {}, elicitation: {}, roots: {} }` when `onServerRequest` is given, else `{}`
   */
  capabilities?: ClientCapabilities;
  /**
   * `fetch` used for every upstream HTTP request (for example one with a per-upstream undici `Agent`).
   * @default globalThis.fetch
   */
  fetch?: FetchLike;
  /**
   * Extra `RequestInit` for every upstream HTTP request. Its `headers` are the base; the per-session headers
   * of the request (`SessionRequest.headers`, sanitized) are merged over them, and the internal MCP and
   * hop-by-hop headers are removed from both. Its `signal` is ignored: the transport owns cancellation.
   */
  requestInit?: RequestInit;
  /**
   * Answers server→client requests from upstreams — `sampling/createMessage`, `elicitation/create`,
   * `roots/list` — with the downstream session in hand (`key.downstreamSessionId`), so a gateway can relay
   * them to the right downstream client. Without it the SDK answers them with method-not-found.
   */
  onServerRequest?: McpServerRequestHandler;
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set(['clientInfo', 'capabilities', 'fetch', 'requestInit', 'onServerRequest']);

function validate(options: unknown): McpSessionFactoryOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError('options', `Expected options to be an object, got ${typeof options}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN_OPTIONS.has(key)) throw new InvalidOptionsError(key, `Unknown option \`${key}\``);
  }
  for (const name of ['fetch', 'onServerRequest'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'function') {
      throw new InvalidOptionsError(name, `Expected \`${name}\` to be a function, got ${typeof o[name]}`);
    }
  }
  for (const name of ['capabilities', 'requestInit'] as const) {
    if (o[name] !== undefined && (typeof o[name] !== 'object' || o[name] === null)) {
      throw new InvalidOptionsError(name, `Expected \`${name}\` to be an object, got ${o[name] === null ? 'null' : typeof o[name]}`);
    }
  }
  const info = o.clientInfo as Partial<Implementation> | undefined;
  if (info !== undefined && (typeof info !== 'object' || typeof info.name !== 'string' || typeof info.version !== 'string')) {
    throw new InvalidOptionsError('clientInfo', 'Expected `clientInfo` to be an object with string `name` and `version`');
  }
  return o;
}

/**
 * The default {@link SessionFactory}: one MCP SDK `Client` per upstream session, over
 * `StreamableHTTPClientTransport` (`transport: 'streamable-http'`) or `SSEClientTransport` (`'sse'`).
 *
 * - Sends the request's sanitized headers (over `requestInit.headers`) on every upstream HTTP request.
 *   Credentials in the URL (`https://user:pass@host/mcp`) become an `authorization: Basic` header, unless
 *   the headers already carry `authorization` (`fetch` refuses such URLs, and would echo them in its error).
 * - Reports the client's `onclose` as `events.closed`. Streamable HTTP errors reported through `onerror`
 *   (a 404 for a forgotten session, `fetch failed`, a dead standalone GET stream) are not treated as fatal
 *   here: the failing call rejects, and the registry evicts on transport errors (`lease.release(error)`).
 *   On legacy SSE, a stream error after connect closes the session (the upstream dropped it with the stream).
 * - Forwards every server notification (list_changed included) to `events.notification`.
 * - Relays sampling, elicitation and roots requests to `onServerRequest` with the session key.
 * - `create` honours `request.signal`: aborting it rejects with `signal.reason` and closes what was opened.
 * - `close(signal)` sends the HTTP DELETE that ends the upstream session (Streamable HTTP), then closes the
 *   client; when `signal` fires, in-flight HTTP is aborted so a close never outlives the registry's bound.
 *   A 404 on the DELETE (the upstream already forgot the session) counts as success.
 *
 * Do not close a leased client yourself (the upstream session would not be terminated): release the lease or
 * evict the session.
 *
 * @param options - See {@link McpSessionFactoryOptions}.
 * @returns A factory for `new UpstreamSessionRegistry({ sessionFactory })`.
 * @throws {@link InvalidOptionsError} for unknown or mistyped options. `create` rejects with
 *   {@link InvalidRequestError} for a non-http(s) URL (before any network I/O), with `request.signal.reason`
 *   when aborted, and with the SDK's error when connecting or `initialize` fails.
 * @example
 * ```ts
 * const registry = new UpstreamSessionRegistry({
 *   sessionFactory: createMcpSessionFactory({
 *     clientInfo: { name: 'my-gateway', version: '1.2.3' },
 *     onServerRequest: (key, request) => relayToDownstream(key.downstreamSessionId, request),
 *   }),
 * });
 * ```
 */
export function createMcpSessionFactory(options?: McpSessionFactoryOptions): SessionFactory<Client> {
  const { clientInfo, capabilities, fetch, requestInit, onServerRequest } = validate(options);
  const info: Implementation = { ...(clientInfo ?? DEFAULT_CLIENT_INFO) };
  const advertised: ClientCapabilities = capabilities ?? (onServerRequest !== undefined ? SERVER_REQUEST_CAPABILITIES : {});
  const { signal: _ignored, ...baseInit } = requestInit ?? {};

  return {
    async create(request: SessionCreateRequest, events: ConnectionEvents): Promise<McpConnection> {
      const url = httpUrl(request.url);
      const basicAuth = takeUserinfo(url);
      request.signal.throwIfAborted();
      const key: SessionKey = Object.freeze({ downstreamSessionId: request.downstreamSessionId, upstreamId: request.upstreamId });

      const client = new Client(info, { capabilities: structuredClone(advertised) });
      if (onServerRequest !== undefined) relayServerRequests(client, key, advertised, onServerRequest);

      const headers = mergeHeaders(baseInit.headers, request.headers, basicAuth);
      // No requestInit at all when there is nothing to send: the SDK then skips merging it into every request.
      const requestInitFor = Object.keys(baseInit).length > 0 || hasHeaders(headers) ? { ...baseInit, headers } : undefined;
      const transportOptions: StreamableTransportOptions = {
        ...(requestInitFor !== undefined && { requestInit: requestInitFor }),
        ...(fetch !== undefined && { fetch }),
      };
      const tracker = new FetchTracker(fetch ?? ((input, init) => globalThis.fetch(input, init)));
      const tracked = { ...transportOptions, fetch: tracker.fetch };
      const transport =
        request.transport === 'sse' ? new SSEClientTransport(url, tracked) : new StreamableHTTPClientTransport(url, tracked);
      const connection = new McpConnection(client, transport, events, url, transportOptions, tracker);
      await connection.connect(request.signal);
      return connection;
    },
  };
}
