/**
 * Pure error classification: which failures mean an upstream session is dead ({@link isTransportError}), and
 * what kind of failure an error is ({@link classifyError}).
 *
 * Nothing here imports the MCP SDK at runtime. SDK errors are recognised by shape: `McpError` by its name
 * and numeric JSON-RPC `code`, `StreamableHTTPError` / `SseError` / `UnauthorizedError` by constructor name or
 * message prefix, Node and undici socket errors by their string `code`. Every check walks the `cause` chain
 * and `AggregateError.errors` breadth-first, cycle-safe and bounded (at most 32 errors per call).
 *
 * @packageDocumentation
 */

/** What kind of failure an error represents. */
export type ErrorCategory =
  | 'connection_refused'
  | 'connection_reset'
  | 'timeout'
  | 'dns'
  | 'tls'
  | 'auth_unauthorized'
  | 'auth_forbidden'
  | 'not_found'
  | 'upstream_server_error'
  | 'http_error'
  | 'mcp_protocol_error'
  | 'network'
  | 'unknown';

/** What one error in the graph says about itself. */
interface Finding {
  readonly category: ErrorCategory;
  /** The failure hit the connection itself (counts only if this finding is the most specific one). */
  readonly transport: boolean;
  /** The upstream session is certainly gone: a transport error whatever else the graph says. */
  readonly sessionGone: boolean;
}

/** What the whole graph (error, causes, aggregated errors) says. */
interface Analysis {
  readonly category: ErrorCategory;
  readonly transport: boolean;
}

/** Most errors the walk inspects per call: bounds work on long or hostile cause chains. */
const MAX_NODES = 32;

/**
 * Lower is more specific. The most specific finding anywhere in the graph decides: `fetch failed` (network)
 * caused by `ECONNREFUSED` is `connection_refused`; an MCP `Connection closed` caused by `ECONNRESET` is
 * `connection_reset`.
 */
const RANK: Readonly<Record<ErrorCategory, number>> = {
  tls: 0,
  dns: 0,
  connection_refused: 0,
  connection_reset: 0,
  timeout: 1,
  auth_unauthorized: 2,
  auth_forbidden: 2,
  not_found: 2,
  upstream_server_error: 2,
  http_error: 2,
  mcp_protocol_error: 3,
  network: 4,
  unknown: 5,
};

const UNKNOWN: Analysis = Object.freeze({ category: 'unknown', transport: false });

function finding(category: ErrorCategory, transport: boolean, sessionGone = false): Finding {
  return Object.freeze({ category, transport: transport || sessionGone, sessionGone });
}

const F = {
  refused: finding('connection_refused', true),
  reset: finding('connection_reset', true),
  timeoutTransport: finding('timeout', true),
  timeout: finding('timeout', false),
  dns: finding('dns', false),
  tls: finding('tls', false),
  network: finding('network', true),
  networkGone: finding('network', true, true),
  protocol: finding('mcp_protocol_error', false),
  protocolGone: finding('mcp_protocol_error', true, true),
  unauthorized: finding('auth_unauthorized', false),
} as const;

/**
 * Node system and undici error codes. DNS and TLS failures are deliberately *not* transport errors: they say
 * nothing about the upstream session (the server may still hold it), and rebuilding cannot succeed until
 * resolution or the certificate is fixed. `UND_ERR_HEADERS_TIMEOUT` / `UND_ERR_BODY_TIMEOUT` are slow
 * responses, not dead connections, so they are timeouts but not transport errors either.
 */
const SYSTEM_CODES: ReadonlyMap<string, Finding> = new Map([
  ['ECONNREFUSED', F.refused],
  ['ECONNRESET', F.reset],
  ['EPIPE', F.reset],
  ['ECONNABORTED', F.reset],
  ['UND_ERR_SOCKET', F.reset],
  ['ETIMEDOUT', F.timeoutTransport],
  ['ESOCKETTIMEDOUT', F.timeoutTransport],
  ['UND_ERR_CONNECT_TIMEOUT', F.timeoutTransport],
  ['UND_ERR_HEADERS_TIMEOUT', F.timeout],
  ['UND_ERR_BODY_TIMEOUT', F.timeout],
  ['ENOTFOUND', F.dns],
  ['EAI_AGAIN', F.dns],
  ['EAI_FAIL', F.dns],
  ['EAI_NONAME', F.dns],
  ['EAI_NODATA', F.dns],
  ['EHOSTUNREACH', F.network],
  ['EHOSTDOWN', F.network],
  ['ENETUNREACH', F.network],
  ['ENETDOWN', F.network],
  ['ENETRESET', F.network],
  ['EADDRNOTAVAIL', F.network],
  ['UND_ERR_CLOSED', F.network],
  ['UND_ERR_DESTROYED', F.network],
  ['UND_ERR_SOCKET_CLOSED', F.network],
]);

const TLS_CODE =
  /^(?:CERT_|ERR_TLS_|ERR_SSL_|ERR_OSSL_|UNABLE_TO_(?:GET|VERIFY|DECRYPT|DECODE)_|(?:DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH_EXCEEDED|EPROTO)$)/;
/** A system error code inside a flattened message, e.g. `SSE error: TypeError: fetch failed: connect ECONNREFUSED …`. */
const CODE_IN_MESSAGE = /\b(?:E[A-Z][A-Z_]{2,}|UND_ERR_[A-Z_]+|CERT_[A-Z_]+|ERR_TLS_[A-Z_]+|ERR_SSL_[A-Z_]+)\b/g;
/** Most candidate codes read from one message. */
const MAX_CODES_IN_MESSAGE = 8;
/** `McpError` message: `MCP error <code>: <message>`. */
const MCP_MESSAGE = /^MCP error -?\d+:/;
/** SDK `StreamableHTTPError` message prefix (its `name` stays `'Error'`). */
const STREAMABLE_HTTP_MESSAGE = /^Streamable HTTP error:/;
/** SDK `SseError` message prefix (its `name` stays `'Error'`). */
const SSE_ERROR_MESSAGE = /^SSE error:/;
/** Out-of-band Streamable HTTP errors reported when the standalone SSE stream is lost. */
const SSE_STREAM_LOST =
  /^(?:SSE stream disconnected|Failed to reconnect SSE stream|Maximum reconnection attempts \(\d+\) exceeded)/;
/** SDK `SSEClientTransport.send` on a non-2xx POST. */
const SSE_POST_STATUS = /^Error POSTing to endpoint \(HTTP (\d{3})\)/;
/** The SDK client rejects a server whose protocol version it does not support. */
const PROTOCOL_VERSION_MESSAGE = /^Server's protocol version is not supported/;
/**
 * An upstream saying it no longer knows the session: "Session not found", "session terminated",
 * "No valid session ID provided" (the SDK examples' 400), "Invalid session id", "Unknown session".
 */
const SESSION_GONE =
  /\b(?:session(?: id)? (?:was |has been |is )?(?:not found|terminated|expired)|(?:unknown|invalid|no valid) session id|(?:unknown|expired|terminated) session)\b/i;

const MCP_CONNECTION_CLOSED = -32000;
const MCP_REQUEST_TIMEOUT = -32001;
const MCP_METHOD_NOT_FOUND = -32601;

const CATEGORIES: ReadonlySet<string> = new Set(Object.keys(RANK));
const PROGRAMMING_ERROR_NAMES: ReadonlySet<string> = new Set(['TypeError', 'ReferenceError', 'RangeError', 'SyntaxError']);

type ErrorLike = Readonly<Record<string, unknown>>;

function constructorName(value: object): string {
  const ctor = (value as { constructor?: unknown }).constructor;
  return typeof ctor === 'function' ? ctor.name : '';
}

function httpFinding(status: unknown, sessionGone: boolean): Finding {
  let category: ErrorCategory = 'http_error';
  if (status === 401) category = 'auth_unauthorized';
  else if (status === 403) category = 'auth_forbidden';
  else if (status === 404) category = 'not_found';
  else if (typeof status === 'number' && status >= 500 && status <= 599) category = 'upstream_server_error';
  return finding(category, false, sessionGone);
}

/** HTTP 404 (and 410 Gone) on a session-bound request: the upstream forgot the session. */
function isSessionGoneStatus(status: unknown): boolean {
  return status === 404 || status === 410;
}

function systemCodeFinding(code: string): Finding | undefined {
  return SYSTEM_CODES.get(code) ?? (TLS_CODE.test(code) ? F.tls : undefined);
}

/** The first known system error code named in a flattened message. */
function codeInMessage(message: string): Finding | undefined {
  let seen = 0;
  for (const match of message.matchAll(CODE_IN_MESSAGE)) {
    const found = systemCodeFinding(match[0]);
    if (found !== undefined || ++seen >= MAX_CODES_IN_MESSAGE) return found;
  }
  return undefined;
}

function mcpFinding(code: number, gone: boolean): Finding {
  if (code === MCP_CONNECTION_CLOSED) return F.protocolGone;
  if (code === MCP_REQUEST_TIMEOUT) return gone ? finding('timeout', false, true) : F.timeout;
  return gone ? F.protocolGone : F.protocol;
}

/** What one error says about itself, ignoring its causes. `undefined` when it says nothing we recognise. */
function inspect(error: ErrorLike): Finding | undefined {
  const name = typeof error.name === 'string' ? error.name : '';
  const message = typeof error.message === 'string' ? error.message : '';
  const code = error.code;
  const gone = SESSION_GONE.test(message);

  if (name === 'AbortError' || name === 'TimeoutError' || name === 'ProbeTimeoutError' || code === 'CREATE_TIMEOUT') {
    return F.timeout;
  }
  if (typeof code === 'number' && (name === 'McpError' || MCP_MESSAGE.test(message))) return mcpFinding(code, gone);

  const ctor = constructorName(error);
  if (ctor === 'StreamableHTTPError' || STREAMABLE_HTTP_MESSAGE.test(message)) {
    return httpFinding(code, gone || isSessionGoneStatus(code));
  }
  if (ctor === 'SseError' || SSE_ERROR_MESSAGE.test(message)) {
    // The legacy SSE transport's event stream *is* the session: any failure of it ends the session.
    if (typeof code === 'number') return httpFinding(code, true);
    const found = codeInMessage(message);
    return found === undefined ? F.networkGone : finding(found.category, true, true);
  }
  if (ctor === 'UnauthorizedError' || name === 'UnauthorizedError') return F.unauthorized;
  if (code === 'CREATE_FAILED' && typeof error.category === 'string' && CATEGORIES.has(error.category)) {
    return finding(error.category as ErrorCategory, false);
  }
  if (typeof code === 'string') {
    const found = systemCodeFinding(code);
    if (found !== undefined) return found;
  }

  const postStatus = SSE_POST_STATUS.exec(message)?.[1];
  if (postStatus !== undefined) {
    const status = Number(postStatus);
    return httpFinding(status, gone || isSessionGoneStatus(status));
  }
  if (gone) return finding('not_found', true, true);
  if (message === 'Not connected' || SSE_STREAM_LOST.test(message)) return F.networkGone;
  if (name === 'TypeError' && (message === 'fetch failed' || message === 'terminated')) return F.network;
  if (PROTOCOL_VERSION_MESSAGE.test(message)) return F.protocol;

  const status = typeof error.status === 'number' ? error.status : error.statusCode;
  if (typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599) {
    return httpFinding(status, false);
  }
  return undefined;
}

/** Walks the error, its `cause` chain and aggregated `errors` breadth-first, bounded and cycle-safe. */
function analyze(root: unknown): Analysis {
  if (typeof root !== 'object' || root === null) return UNKNOWN;
  let best: Finding | undefined;
  let gone = false;
  const seen = new Set<object>();
  const queue: unknown[] = [root];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i];
    if (typeof node !== 'object' || node === null || seen.has(node)) continue;
    seen.add(node);
    try {
      const error = node as ErrorLike;
      const found = inspect(error);
      if (found !== undefined) {
        gone ||= found.sessionGone;
        if (best === undefined || RANK[found.category] < RANK[best.category]) best = found;
      }
      if (queue.length < MAX_NODES && error.cause !== undefined) queue.push(error.cause);
      const nested = error.errors;
      if (Array.isArray(nested)) {
        for (let j = 0; j < nested.length && queue.length < MAX_NODES; j++) queue.push(nested[j]);
      }
    } catch {
      // A hostile getter or proxy: this node says nothing; keep what the others said.
    }
  }
  if (best === undefined) return UNKNOWN;
  return { category: best.category, transport: gone || best.transport };
}

/**
 * Tells whether an error means the upstream *connection or session* is dead, so the registry should evict
 * the session (reason `transport-error`) and the next acquire should build a new one.
 *
 * True when the error, anything in its `cause` chain or any error inside an `AggregateError` is:
 * - MCP `ConnectionClosed` (`McpError` code -32000), or the SDK's `Error('Not connected')`;
 * - an SDK `StreamableHTTPError` with HTTP 404 (or 410): the upstream forgot the session (the SDK keeps the
 *   stale session id and never fires `onclose`, so only the registry can recover);
 * - an error whose message says the session was not found, terminated or expired ("Session not found",
 *   "No valid session ID provided", …), whatever its type;
 * - an SDK `SseError`, or a lost Streamable HTTP standalone SSE stream ("SSE stream disconnected",
 *   "Maximum reconnection attempts (2) exceeded", "Failed to reconnect SSE stream");
 * - `TypeError: fetch failed` / `TypeError: terminated` (undici) and socket errors: `ECONNREFUSED`,
 *   `ECONNRESET`, `EPIPE`, `ECONNABORTED`, `ETIMEDOUT`, `EHOSTUNREACH`, `ENETUNREACH`, and undici's
 *   `UND_ERR_SOCKET`, `UND_ERR_CLOSED`, `UND_ERR_DESTROYED`, `UND_ERR_CONNECT_TIMEOUT`.
 *
 * False for tool errors, `CallToolResult` objects with `isError`, validation and application errors, other
 * `McpError`s (-32601, -32602, -32603, …), HTTP statuses other than 404/410, and non-`Error` throws.
 *
 * Deliberate choices:
 * - **Request timeouts are not transport errors.** `McpError` -32001 (`RequestTimeout`, also what the SDK
 *   rejects with when a request is aborted), `AbortError`, `TimeoutError` and undici header/body timeouts
 *   mean a slow call; evicting on them would throw away a healthy session because one tool was slow. (The
 *   health-probe chain treats its *own* timeouts as unhealthy; that is a separate decision.)
 * - **DNS (`ENOTFOUND`, `EAI_AGAIN`) and TLS/certificate failures are not transport errors** when they are
 *   the most specific finding (e.g. `fetch failed` caused by `ENOTFOUND`): they say nothing about the
 *   upstream session, and rebuilding cannot succeed until resolution or the certificate is fixed.
 *
 * Never throws.
 *
 * @param error - Anything a request, `lease.release(error)` or `withSession` callback produced.
 * @returns `true` when the session should be evicted.
 * @example
 * ```ts
 * try { await client.callTool({ name: 'echo' }); }
 * catch (err) { lease.release(err); throw err; }   // release() evicts when isTransportError(err)
 * if (isTransportError(new TypeError('fetch failed'))) console.log('rebuild the session');
 * ```
 */
export function isTransportError(error: unknown): boolean {
  return analyze(error).transport;
}

/**
 * Classifies a failure for logs, metrics and `SessionCreateError.category`.
 *
 * Walks the `cause` chain and `AggregateError.errors` (bounded, cycle-safe); the most specific finding wins,
 * in this order: socket-level (`connection_refused`, `connection_reset`, `dns`, `tls`) → `timeout` →
 * HTTP status (`auth_unauthorized` 401, `auth_forbidden` 403, `not_found` 404, `upstream_server_error` 5xx,
 * `http_error` other) → `mcp_protocol_error` → `network` → `unknown`. So `fetch failed` caused by
 * `ECONNREFUSED` is `connection_refused`, while `fetch failed` alone is `network`.
 *
 * Recognised: SDK `McpError` (-32001 `RequestTimeout` → `timeout`, any other code → `mcp_protocol_error`),
 * `StreamableHTTPError` and `SseError` (by HTTP status; an `SseError` without one is `network` unless its
 * message names a socket code), `UnauthorizedError` → `auth_unauthorized`; `AbortError` / `TimeoutError` /
 * `SessionCreateTimeoutError` (`CREATE_TIMEOUT`) / `ETIMEDOUT` / `UND_ERR_*_TIMEOUT` → `timeout`;
 * `ENOTFOUND` / `EAI_AGAIN` → `dns`; `CERT_*`, `ERR_TLS_*`, `ERR_SSL_*`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`,
 * `DEPTH_ZERO_SELF_SIGNED_CERT`, … → `tls`; other socket errors → `network`; a numeric `status` /
 * `statusCode` of 400–599 on any error → by HTTP status. Everything else, including non-`Error` throws,
 * is `unknown`. Never throws.
 *
 * @param error - Any thrown value.
 * @returns Its {@link ErrorCategory}.
 * @example
 * ```ts
 * const err = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
 * classifyError(err); // 'connection_refused'
 * ```
 */
export function classifyError(error: unknown): ErrorCategory {
  return analyze(error).category;
}

/**
 * Tells whether an error is a timeout or an abort anywhere in its `cause` chain, i.e. whether
 * {@link classifyError} says `timeout`.
 *
 * @param error - Any thrown value.
 * @returns `true` for `McpError` -32001, `AbortError`, `TimeoutError`, `ETIMEDOUT`, undici timeouts and
 *   `SessionCreateTimeoutError`.
 * @example
 * ```ts
 * if (isTimeoutError(err)) metrics.increment('upstream.timeouts');
 * ```
 */
export function isTimeoutError(error: unknown): boolean {
  return analyze(error).category === 'timeout';
}

/**
 * Tells whether an error is the JSON-RPC `MethodNotFound` error (code -32601), e.g. an upstream that does not
 * implement `ping`. The probe chain moves on to its next step on such an error.
 *
 * @param error - Any thrown value.
 * @returns `true` when `error` is an object whose `code` is -32601 (the SDK's `McpError` or a look-alike).
 * @example
 * ```ts
 * try { await client.ping(); } catch (err) { if (!isMethodNotFound(err)) throw err; }
 * ```
 */
export function isMethodNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === MCP_METHOD_NOT_FOUND;
}

/**
 * Tells whether an error looks like a bug in the caller rather than an upstream failure: a `TypeError`,
 * `ReferenceError`, `RangeError` or `SyntaxError` that {@link classifyError} does not recognise (so
 * `TypeError: fetch failed` and friends are *not* programming errors). The probe chain rethrows these instead
 * of reconnecting in a loop.
 *
 * @param error - Any thrown value.
 * @returns `true` for an unrecognised built-in programming-error type.
 * @example
 * ```ts
 * isProgrammingError(new TypeError("Cannot read properties of undefined (reading 'tools')")); // true
 * isProgrammingError(new TypeError('fetch failed'));                                         // false
 * ```
 */
export function isProgrammingError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  let builtin: boolean;
  try {
    const name = (error as { name?: unknown }).name;
    builtin =
      error instanceof TypeError ||
      error instanceof ReferenceError ||
      error instanceof RangeError ||
      error instanceof SyntaxError ||
      (typeof name === 'string' && PROGRAMMING_ERROR_NAMES.has(name));
  } catch {
    return false;
  }
  if (!builtin) return false;
  const { category, transport } = analyze(error);
  return category === 'unknown' && !transport;
}
