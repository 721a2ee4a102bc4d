/**
 * Recognizer for SDK v1 (`@modelcontextprotocol/sdk`) errors, by shape — never by importing the SDK:
 * `McpError` (name and numeric JSON-RPC `code`), `StreamableHTTPError` / `SseError` / `UnauthorizedError`
 * (constructor name or message prefix; their `name` stays `'Error'`), and the plain `Error`s the v1 transports
 * throw (`Not connected`, a lost standalone SSE stream, a non-2xx SSE POST, an unsupported protocol version).
 *
 * @packageDocumentation
 */

import { finding, httpFinding, isSessionGoneStatus, type ErrorFacts, type Finding } from './finding.js';
import { jsonRpcFinding } from './jsonrpc.js';
import { codeInMessage } from './node.js';

/** `McpError` message: `MCP error <code>: <message>`. */
const MCP_MESSAGE = /^MCP error -?\d+:/;
/** SDK `StreamableHTTPError` message prefix. */
const STREAMABLE_HTTP_MESSAGE = /^Streamable HTTP error:/;
/** SDK `SseError` message prefix. */
const SSE_ERROR_MESSAGE = /^SSE error:/;
/** Out-of-band Streamable HTTP errors reported when the standalone SSE stream is lost. */
const SSE_STREAM_LOST =
  /^(?:SSE stream disconnected|Failed to reconnect SSE stream|Maximum reconnection attempts \(\d+\) exceeded)/;
/** SDK `SSEClientTransport.send` on a non-2xx POST. */
const SSE_POST_STATUS = /^Error POSTing to endpoint \(HTTP (\d{3})\)/;
/** The SDK client rejects a server whose protocol version it does not support. */
const PROTOCOL_VERSION_MESSAGE = /^Server's protocol version is not supported/;

const NETWORK_GONE = finding('network', { sessionGone: true });
const PROTOCOL = finding('mcp_protocol_error');
const UNAUTHORIZED = finding('auth_unauthorized');

function constructorName(value: object): string {
  const ctor = (value as { constructor?: unknown }).constructor;
  return typeof ctor === 'function' ? ctor.name : '';
}

/** SDK v1 errors. */
export function recognizeSdkV1(facts: ErrorFacts): Finding | undefined {
  const { error, name, message, code, gone } = facts;
  if (typeof code === 'number' && (name === 'McpError' || MCP_MESSAGE.test(message))) return jsonRpcFinding(code, gone);

  const ctor = constructorName(error);
  if (ctor === 'StreamableHTTPError' || STREAMABLE_HTTP_MESSAGE.test(message)) {
    return httpFinding(code, gone || isSessionGoneStatus(code));
  }
  if (ctor === 'SseError' || SSE_ERROR_MESSAGE.test(message)) {
    // The legacy SSE transport's event stream *is* the session: any failure of it ends the session.
    if (typeof code === 'number') return httpFinding(code, true);
    const found = codeInMessage(message);
    return found === undefined ? NETWORK_GONE : finding(found.category, { sessionGone: true, suspect: found.suspect });
  }
  if (ctor === 'UnauthorizedError' || name === 'UnauthorizedError') return UNAUTHORIZED;

  const postStatus = SSE_POST_STATUS.exec(message)?.[1];
  if (postStatus !== undefined) {
    const status = Number(postStatus);
    return httpFinding(status, gone || isSessionGoneStatus(status));
  }
  if (message === 'Not connected' || SSE_STREAM_LOST.test(message)) return NETWORK_GONE;
  if (PROTOCOL_VERSION_MESSAGE.test(message)) return PROTOCOL;
  return undefined;
}
