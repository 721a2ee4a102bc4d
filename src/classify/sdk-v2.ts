/**
 * Recognizer for SDK v2 (`@modelcontextprotocol/client` 2.x) errors, by brand and shape — never `instanceof`
 * across packages and never importing the SDK: `SdkError` (string `code` from `SdkErrorCode`), its subclass
 * `SdkHttpError` (HTTP `status` in `data.status`) and `ProtocolError` (numeric JSON-RPC `code`). The SDK
 * stamps each instance with the brands of its class chain in a `Set` under `Symbol.for('mcp.sdk.errorBrands')`
 * (`'mcp.SdkError'`, `'mcp.SdkHttpError'`, `'mcp.ProtocolError'`); the class `name` is the fallback.
 *
 * @packageDocumentation
 */

import { finding, httpFinding, isSessionGoneStatus, type ErrorFacts, type Finding } from './finding.js';
import { jsonRpcFinding } from './jsonrpc.js';

/** Where SDK v2 keeps an error's class brands. */
const SDK_BRANDS = Symbol.for('mcp.sdk.errorBrands');

const CLOSED = finding('network', { sessionGone: true });
const SEND_FAILED = finding('network', { transport: true });
const REQUEST_TIMEOUT = finding('timeout', { suspect: true });
const ERA_NEGOTIATION = finding('era_negotiation');
const UNAUTHORIZED = finding('auth_unauthorized');
const FORBIDDEN = finding('auth_forbidden');
const PROTOCOL = finding('mcp_protocol_error');
const HTTP = finding('http_error', { suspect: true });

/** What each `SdkErrorCode` says when the error carries no HTTP status. */
const SDK_CODES: ReadonlyMap<string, Finding> = new Map([
  ['CONNECTION_CLOSED', CLOSED],
  ['NOT_CONNECTED', CLOSED],
  ['SEND_FAILED', SEND_FAILED],
  ['REQUEST_TIMEOUT', REQUEST_TIMEOUT],
  ['ERA_NEGOTIATION_FAILED', ERA_NEGOTIATION],
  ['CLIENT_HTTP_AUTHENTICATION', UNAUTHORIZED],
  ['CLIENT_HTTP_FORBIDDEN', FORBIDDEN],
  ['CLIENT_HTTP_NOT_IMPLEMENTED', HTTP],
  ['CLIENT_HTTP_UNEXPECTED_CONTENT', HTTP],
  ['CLIENT_HTTP_FAILED_TO_OPEN_STREAM', HTTP],
  ['CLIENT_HTTP_FAILED_TO_TERMINATE_SESSION', HTTP],
]);

/** `SdkErrorCode.MethodNotSupportedByProtocolVersion`: a probe step counts it as method-not-found. */
export const SDK_METHOD_NOT_SUPPORTED = 'METHOD_NOT_SUPPORTED_BY_PROTOCOL_VERSION';

const EMPTY: ReadonlySet<unknown> = new Set();

/** The SDK v2 class brands an error carries (empty when none). */
function brandsOf(error: object): ReadonlySet<unknown> {
  if (!Object.prototype.hasOwnProperty.call(error, SDK_BRANDS)) return EMPTY;
  const carried = (error as Record<symbol, unknown>)[SDK_BRANDS];
  return carried instanceof Set ? (carried as ReadonlySet<unknown>) : EMPTY;
}

/** Which SDK v2 class an error is, by brand, else by name and the shape of its `code`. */
export function sdkV2Kind(facts: ErrorFacts): 'http' | 'sdk' | 'protocol' | undefined {
  const { error, name, code } = facts;
  const brands = brandsOf(error);
  if (brands.has('mcp.SdkHttpError') || (name === 'SdkHttpError' && typeof code === 'string')) return 'http';
  if (brands.has('mcp.SdkError') || (name === 'SdkError' && typeof code === 'string')) return 'sdk';
  if (brands.has('mcp.ProtocolError') || (name === 'ProtocolError' && typeof code === 'number')) return 'protocol';
  return undefined;
}

/** The HTTP status of an `SdkHttpError` (its `status` getter reads `data.status`). */
function statusOf(error: Readonly<Record<PropertyKey, unknown>>): unknown {
  const status = error.status;
  if (typeof status === 'number') return status;
  const data = error.data;
  return typeof data === 'object' && data !== null ? (data as { status?: unknown }).status : undefined;
}

/**
 * SDK v2 errors. `CONNECTION_CLOSED` ends the session; `REQUEST_TIMEOUT` is a suspect timeout;
 * `ERA_NEGOTIATION_FAILED` is `era_negotiation`; an `SdkHttpError` is classified by its status (404 and 410
 * end the session whatever the era: a legacy upstream forgot it, a modern one lost its endpoint; a 400 whose
 * message says the session id is invalid or missing does too); `ProtocolError` -32022 / -32020 end the session.
 */
export function recognizeSdkV2(facts: ErrorFacts): Finding | undefined {
  const kind = sdkV2Kind(facts);
  if (kind === undefined) return undefined;
  const { error, code, gone } = facts;
  if (kind === 'protocol') return typeof code === 'number' ? jsonRpcFinding(code, gone) : PROTOCOL;
  if (kind === 'http') {
    const status = statusOf(error);
    if (typeof status === 'number') return httpFinding(status, gone || isSessionGoneStatus(status));
  }
  const known = typeof code === 'string' ? SDK_CODES.get(code) : undefined;
  if (known !== undefined) return gone && !known.sessionGone ? finding(known.category, { sessionGone: true, suspect: known.suspect }) : known;
  return gone ? finding('mcp_protocol_error', { sessionGone: true }) : PROTOCOL;
}
