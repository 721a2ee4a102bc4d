// Server→client request relay types shared by both MCP SDK factories (no SDK import).
import { type SessionKey } from '../request.js';

/** The server→client requests an upstream can send that {@link McpServerRequestHandler} answers. */
export type McpServerRequestMethod = 'sampling/createMessage' | 'elicitation/create' | 'roots/list';

/** A server→client request from an upstream session, as the SDK validated it. */
export interface McpServerRequest {
  /** `sampling/createMessage`, `elicitation/create` or `roots/list`. */
  method: McpServerRequestMethod;
  /** The request parameters (shape per the MCP schema of `method`). */
  params?: unknown;
}

/** Context passed with an {@link McpServerRequest}. */
export interface McpServerRequestExtra {
  /** Aborted when the upstream cancels the request or the session closes. */
  signal: AbortSignal;
}

/**
 * Answers a server→client request (sampling, elicitation, roots) from an upstream session, knowing which
 * downstream session it belongs to. Return (or resolve with) the MCP result (`CreateMessageResult`,
 * `ElicitResult`, `ListRootsResult`); throw (ideally an SDK `McpError`) to send the upstream a JSON-RPC error.
 *
 * @param key - The upstream session's key: `key.downstreamSessionId` names the downstream client to ask.
 * @param request - The request's `method` and `params`.
 * @param extra - `signal` aborts when the upstream cancels the request or the session closes.
 * @example
 * ```ts
 * const onServerRequest: McpServerRequestHandler = async (key, request, { signal }) =>
 *   request.method === 'roots/list'
 *     ? { roots: [{ uri: 'file:///workspace' }] }
 *     : relayToDownstream(key.downstreamSessionId, request, signal);
 * ```
 */
export type McpServerRequestHandler = (
  key: SessionKey,
  request: McpServerRequest,
  extra: McpServerRequestExtra,
) => unknown;

/** The capabilities advertised when `onServerRequest` is given and the host did not set `capabilities`. */
export const SERVER_REQUEST_CAPABILITIES: Readonly<Record<'sampling' | 'elicitation' | 'roots', Record<string, never>>> = Object.freeze({
  sampling: {},
  elicitation: {},
  roots: {},
});
