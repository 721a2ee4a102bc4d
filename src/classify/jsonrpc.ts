/**
 * JSON-RPC / MCP error codes that both SDKs surface (v1 `McpError`, v2 `ProtocolError`), and what each says.
 *
 * @packageDocumentation
 */

import { finding, type Finding } from './finding.js';

/** MCP `ConnectionClosed` (SDK v1): the transport ended. */
export const MCP_CONNECTION_CLOSED = -32000;
/** MCP `RequestTimeout`: the request got no answer in time. */
export const MCP_REQUEST_TIMEOUT = -32001;
/** JSON-RPC `MethodNotFound`. */
export const MCP_METHOD_NOT_FOUND = -32601;
/** 2026-07-28: the `Mcp-Protocol-Version` / `_meta` headers and body disagree (header mismatch). */
export const MCP_HEADER_MISMATCH = -32020;
/** 2026-07-28: the server does not support the request's protocol version. */
export const MCP_UNSUPPORTED_PROTOCOL_VERSION = -32022;

const CLOSED = finding('mcp_protocol_error', { sessionGone: true });
const TIMEOUT = finding('timeout', { suspect: true });
const TIMEOUT_GONE = finding('timeout', { suspect: true, sessionGone: true });
const PROTOCOL = finding('mcp_protocol_error');

/**
 * What a JSON-RPC error code says. `ConnectionClosed` and the 2026-07-28 version errors (-32022, -32020: a
 * connection made from a stale era verdict) end the session; `RequestTimeout` is a suspect timeout; every other
 * code is a protocol error that leaves the session in place unless its message says the session is gone.
 *
 * @param code - The numeric code.
 * @param gone - The error's message says the session is gone.
 */
export function jsonRpcFinding(code: number, gone: boolean): Finding {
  if (code === MCP_CONNECTION_CLOSED || code === MCP_UNSUPPORTED_PROTOCOL_VERSION || code === MCP_HEADER_MISMATCH) {
    return CLOSED;
  }
  if (code === MCP_REQUEST_TIMEOUT) return gone ? TIMEOUT_GONE : TIMEOUT;
  return gone ? CLOSED : PROTOCOL;
}
