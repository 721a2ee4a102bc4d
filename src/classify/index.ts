/**
 * Pure error classification: which failures mean an upstream session is dead ({@link isTransportError}),
 * which may mean a wedged upstream ({@link isSuspectError}), and what kind of failure an error is
 * ({@link classifyError}).
 *
 * Nothing here imports an MCP SDK at runtime. Errors are recognised by an ordered list of small recognizers
 * (`recognizers.ts`: the library's own errors, SDK v2, SDK v1, Node/undici, message heuristics), each looking
 * at one error. Every check walks the `cause` chain and `AggregateError.errors` breadth-first, cycle-safe and
 * bounded (at most 32 errors per call); the most specific finding in the graph decides the category.
 *
 * @packageDocumentation
 */

import { RANK, type ErrorCategory, type ErrorFacts, type Finding } from './finding.js';
import { saysSessionGone } from './heuristics.js';
import { MCP_METHOD_NOT_FOUND } from './jsonrpc.js';
import { RECOGNIZERS } from './recognizers.js';
import { SDK_METHOD_NOT_SUPPORTED, sdkV2Kind } from './sdk-v2.js';

export { ERROR_CATEGORIES, type ErrorCategory } from './finding.js';

/** What the whole graph (error, causes, aggregated errors) says. */
interface Analysis {
  readonly category: ErrorCategory;
  readonly transport: boolean;
  readonly suspect: boolean;
}

/** Most errors the walk inspects per call: bounds work on long or hostile cause chains. */
const MAX_NODES = 32;

const UNKNOWN: Analysis = Object.freeze({ category: 'unknown', transport: false, suspect: false });
const PROGRAMMING_ERROR_NAMES: ReadonlySet<string> = new Set(['TypeError', 'ReferenceError', 'RangeError', 'SyntaxError']);

/** Reads the facts of one error once (getters may throw: the caller catches). */
function factsOf(node: object): ErrorFacts {
  const error = node as Readonly<Record<PropertyKey, unknown>>;
  const name = typeof error.name === 'string' ? error.name : '';
  const message = typeof error.message === 'string' ? error.message : '';
  return { error, name, message, code: error.code, gone: saysSessionGone(message) };
}

/** What one error says about itself, ignoring its causes: the first recognizer's answer. */
function inspect(facts: ErrorFacts): Finding | undefined {
  for (const recognize of RECOGNIZERS) {
    const found = recognize(facts);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Walks the error, its `cause` chain and aggregated `errors` breadth-first, bounded and cycle-safe. */
function analyze(root: unknown): Analysis {
  if (typeof root !== 'object' || root === null) return UNKNOWN;
  let best: Finding | undefined;
  let gone = false;
  let suspect = false;
  const seen = new Set<object>();
  const queue: unknown[] = [root];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i];
    if (typeof node !== 'object' || node === null || seen.has(node)) continue;
    seen.add(node);
    try {
      const facts = factsOf(node);
      const found = inspect(facts);
      if (found !== undefined) {
        gone ||= found.sessionGone;
        suspect ||= found.suspect;
        if (best === undefined || RANK[found.category] < RANK[best.category]) best = found;
      }
      const { error } = facts;
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
  return { category: best.category, transport: gone || best.transport, suspect };
}

/**
 * Tells whether an error means the upstream *connection or session* is dead, so the registry should evict
 * the session (reason `transport-error`) and the next acquire should build a new one.
 *
 * True when the error, anything in its `cause` chain or any error inside an `AggregateError` is:
 * - MCP `ConnectionClosed` (`McpError` code -32000), or the SDK's `Error('Not connected')`;
 * - SDK v2 `SdkError` `CONNECTION_CLOSED` / `NOT_CONNECTED` / `SEND_FAILED`, an `SdkHttpError` with status 404
 *   or 410, and `ProtocolError` -32022 (unsupported protocol version) / -32020 (header mismatch), which a
 *   connection made from a stale era verdict gets;
 * - an SDK `StreamableHTTPError` with HTTP 404 (or 410): the upstream forgot the session (the SDK keeps the
 *   stale session id and never fires `onclose`, so only the registry can recover);
 * - an error whose message says the session was not found, terminated, expired, invalid or missing ("Session
 *   not found", `400 Invalid or missing session ID`, `400 Bad Request: No valid session ID provided`, …),
 *   whatever its type and HTTP status;
 * - a stdio failure (`spawn_failed`, `process_exited`: the child process is gone);
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
 * - **Request timeouts are not transport errors.** `McpError` -32001 (`RequestTimeout`), SDK v2
 *   `REQUEST_TIMEOUT`, `AbortError`, `TimeoutError` and undici header/body timeouts mean a slow call; evicting
 *   on them would throw away a healthy session because one tool was slow. They make the session *suspect*
 *   instead ({@link isSuspectError}): the next acquire probes it. (The health-probe chain treats its *own*
 *   timeouts as unhealthy; that is a separate decision.)
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
 * in this order: socket-level and process-level (`connection_refused`, `connection_reset`, `dns`, `tls`,
 * `spawn_failed`, `process_exited`) → `timeout` → HTTP status (`auth_unauthorized` 401, `auth_forbidden` 403,
 * `not_found` 404, `upstream_server_error` 5xx, `http_error` other) → `era_negotiation` →
 * `mcp_protocol_error` → `network` → `unknown`. So `fetch failed` caused by `ECONNREFUSED` is
 * `connection_refused`, while `fetch failed` alone is `network`; an SDK v2 `ERA_NEGOTIATION_FAILED` caused by a
 * refused port is `connection_refused`, and one caused by nothing we know is `era_negotiation`.
 *
 * Recognised: SDK v2 `SdkError` (`REQUEST_TIMEOUT` → `timeout`, `CONNECTION_CLOSED` → `network`,
 * `ERA_NEGOTIATION_FAILED` → `era_negotiation`, `CLIENT_HTTP_AUTHENTICATION` / `_FORBIDDEN` → auth), `SdkHttpError`
 * (by its status) and `ProtocolError` (like `McpError`); the stdio spawner's failures (`spawn_failed`,
 * `process_exited`); SDK v1 `McpError` (-32001 `RequestTimeout` → `timeout`, any other code → `mcp_protocol_error`),
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
 * @returns `true` for `McpError` -32001, SDK v2 `REQUEST_TIMEOUT`, `AbortError`, `TimeoutError`, `ETIMEDOUT`,
 *   undici timeouts, `ProbeTimeoutError` and `SessionCreateTimeoutError`.
 * @example
 * ```ts
 * if (isTimeoutError(error)) metrics.increment('upstream.timeouts');
 * ```
 */
export function isTimeoutError(error: unknown): boolean {
  return analyze(error).category === 'timeout';
}

/**
 * Tells whether an error, released on a lease, may mean a wedged or half-broken upstream, so the registry marks
 * the session *suspect* (SPEC §4.4): it stays in place, and the next acquire probes it before handing it out.
 *
 * True when the error or anything in its `cause` graph is a request timeout (MCP -32001, SDK v2
 * `REQUEST_TIMEOUT`, `TimeoutError`, undici header/body timeouts, a probe timeout), an HTTP 5xx, or any other
 * HTTP 4xx but 401/403 (from `StreamableHTTPError`, `SdkHttpError`, `SseError` or a numeric `status`).
 * False for a caller's `AbortError`, auth failures, tool and protocol errors and non-`Error` throws. A transport
 * error may also be suspect; the registry evicts it anyway. Never throws.
 *
 * @param error - Anything a request, `lease.release(error)` or `withSession` callback produced.
 * @returns `true` when the next acquire should probe the session first.
 * @example
 * ```ts
 * isSuspectError(Object.assign(new Error('MCP error -32001: Request timed out'), { name: 'McpError', code: -32001 })); // true
 * isSuspectError(new Error('tool failed')); // false
 * ```
 */
export function isSuspectError(error: unknown): boolean {
  return analyze(error).suspect;
}

/**
 * Tells whether an error is the JSON-RPC `MethodNotFound` error (code -32601), e.g. an upstream that does not
 * implement `ping`, or SDK v2's local `METHOD_NOT_SUPPORTED_BY_PROTOCOL_VERSION` (the method does not exist in
 * the negotiated protocol era). The probe chain moves on to its next step on such an error.
 *
 * @param error - Any thrown value.
 * @returns `true` when `error` is an object whose `code` is -32601 (the SDK's `McpError`, v2's `ProtocolError`
 *   or a look-alike), or an SDK v2 `SdkError` with that local code.
 * @example
 * ```ts
 * try { await client.ping(); } catch (err) { if (!isMethodNotFound(err)) throw err; }
 * ```
 */
export function isMethodNotFound(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  try {
    const code = (error as { code?: unknown }).code;
    if (code === MCP_METHOD_NOT_FOUND) return true;
    return code === SDK_METHOD_NOT_SUPPORTED && sdkV2Kind(factsOf(error)) !== undefined;
  } catch {
    return false;
  }
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
