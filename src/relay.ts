// Framework-agnostic helpers for relaying between a gateway's downstream MCP server and its upstream sessions.
// No MCP SDK import: everything is structural, so `mcp-upstream-sessions` stays SDK-free to import.
import { classifyError, isTransportError } from './classify/index.js';
import { UpstreamSessionError } from './errors.js';

/** A progress update from an upstream call, as an MCP SDK client's `onprogress` reports it. */
export interface RelayedProgress {
  progress: number;
  total?: number | undefined;
  message?: string | undefined;
}

/** The `notifications/progress` notification {@link relayProgress} sends downstream. */
export interface ProgressNotification {
  method: 'notifications/progress';
  params: { progressToken: string | number; progress: number; total?: number; message?: string };
}

/**
 * The parts of a downstream request that {@link relayProgress} needs. The `extra` argument of an SDK v1
 * `Server` request handler (`RequestHandlerExtra`) has this shape.
 */
export interface ProgressRelayTarget {
  /** The downstream request's `_meta` (its `progressToken`, if the downstream client asked for progress). */
  readonly _meta?: { readonly progressToken?: string | number | undefined } | undefined;
  /** Sends a notification to the downstream client, related to the downstream request. */
  sendNotification(notification: ProgressNotification): Promise<void>;
}

/**
 * Relays the progress of an upstream call to the downstream client that made the call, under the
 * downstream's own progress token (the upstream call gets a token of the upstream client's choosing).
 *
 * Spread the result into the upstream call's request options. When the downstream request carried no
 * `progressToken` it is `{}`: no progress is requested upstream, as the downstream client asked for none.
 * Send failures (the downstream stream already closed) are ignored: progress is advisory.
 *
 * @param downstream - The downstream request: its `_meta.progressToken` and a `sendNotification` that relates
 * the notification to that request (SDK v1: the handler's `extra`).
 * @returns `{ onprogress }` to spread into the upstream call's options, or `{}`.
 * @example
 * ```ts
 * import { type Server } from '@modelcontextprotocol/sdk/server/index.js';
 * import { CallToolRequestSchema } from '@modelcontextprotocol/sdk/types.js';
 * declare const server: Server; // the downstream session's SDK server
 * declare function upstreamFor(downstreamSessionId: string | undefined): SessionRequest;
 * server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
 *   registry.withSession(upstreamFor(extra.sessionId), (client) =>
 *     client.callTool(request.params, undefined, { signal: extra.signal, ...relayProgress(extra) })));
 * ```
 */
export function relayProgress(downstream: ProgressRelayTarget): { onprogress?: (progress: RelayedProgress) => void } {
  const progressToken = downstream._meta?.progressToken;
  if (typeof progressToken !== 'string' && typeof progressToken !== 'number') return {};
  return {
    onprogress: ({ progress, total, message }: RelayedProgress) => {
      const params: ProgressNotification['params'] = { progressToken, progress };
      if (total !== undefined) params.total = total;
      if (message !== undefined) params.message = message;
      downstream.sendNotification({ method: 'notifications/progress', params }).catch(() => undefined);
    },
  };
}

/**
 * An `Error` carrying the JSON-RPC error an SDK request handler should answer the downstream client with:
 * MCP SDKs send a thrown error's numeric `code`, its `message` and its `data` as the JSON-RPC error.
 */
export interface DownstreamRpcError extends Error {
  /** The JSON-RPC error code. */
  readonly code: number;
  /** The JSON-RPC error data, if any. */
  readonly data?: unknown;
}

/** JSON-RPC "Internal error". */
const INTERNAL_ERROR = -32603;

/**
 * Maps an error from an upstream call (or from the registry) to the error the gateway answers the
 * downstream request with, so the downstream client sees what it would have seen calling the upstream
 * directly.
 *
 * - A JSON-RPC error from the upstream (SDK v1 `McpError`, SDK v2 `ProtocolError`: a numeric `code`) keeps
 *   its code and data; the `MCP error <code>: ` prefix SDK v1 adds to the message is removed once, so it is not
 *   doubled when the downstream SDK adds its own.
 * - A library error (`UpstreamSessionError`: circuit open, creation failed, capacity, …) becomes an internal
 *   error whose message names only its `code` (and category); `data` carries `code`, `category` and
 *   `retryAfterMs` when they exist. Nothing of the upstream's URL, headers or messages reaches the downstream.
 * - A transport or HTTP error (connection refused, reset, session gone, HTTP 5xx) becomes an internal error
 *   naming its category (`classifyError`).
 * - Anything else becomes a plain internal error: its message could hold anything, so it is not sent.
 *
 * @param error - What the upstream call (or `withSession` / `acquire`) threw.
 * @returns An `Error` to throw from the downstream request handler.
 * @example
 * ```ts
 * import { type Server } from '@modelcontextprotocol/sdk/server/index.js';
 * import { GetPromptRequestSchema } from '@modelcontextprotocol/sdk/types.js';
 * declare const server: Server; // the downstream session's SDK server
 * declare function upstreamFor(downstreamSessionId: string | undefined): SessionRequest;
 * server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => {
 *   try {
 *     return await registry.withSession(upstreamFor(extra.sessionId), (client) => client.getPrompt(request.params));
 *   } catch (error) {
 *     throw toDownstreamError(error);
 *   }
 * });
 * ```
 */
export function toDownstreamError(error: unknown): DownstreamRpcError {
  if (error instanceof UpstreamSessionError) {
    const data: Record<string, unknown> = { code: error.code };
    const { category, retryAfterMs } = error as { category?: unknown; retryAfterMs?: unknown };
    if (typeof category === 'string') data.category = category;
    if (typeof retryAfterMs === 'number') data.retryAfterMs = retryAfterMs;
    const detail = typeof category === 'string' ? `${error.code}: ${category}` : error.code;
    return rpcError(INTERNAL_ERROR, `Upstream unavailable (${detail})`, data);
  }
  const code = readCode(error);
  if (code !== undefined) {
    const message = readMessage(error);
    const prefix = `MCP error ${code}: `;
    const data = (error as { data?: unknown }).data;
    return rpcError(code, message.startsWith(prefix) ? message.slice(prefix.length) : message, data);
  }
  if (isTransportError(error)) return rpcError(INTERNAL_ERROR, `Upstream connection failed (${classifyError(error)})`);
  const category = classifyError(error);
  if (category !== 'unknown') return rpcError(INTERNAL_ERROR, `Upstream request failed (${category})`);
  return rpcError(INTERNAL_ERROR, 'Internal error');
}

function rpcError(code: number, message: string, data?: unknown): DownstreamRpcError {
  const error = new Error(message) as Error & { code: number; data?: unknown };
  error.name = 'DownstreamRpcError';
  error.code = code;
  if (data !== undefined) error.data = data;
  return error;
}

/**
 * The numeric JSON-RPC code of an MCP error, if `error` is one: an SDK v1 `McpError` or SDK v2 `ProtocolError`
 * (or a subclass), or any error with a negative integer `code`. An HTTP status in `code` (SDK v1's
 * `StreamableHTTPError`) is not a JSON-RPC code.
 */
function readCode(error: unknown): number | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'number' || !Number.isSafeInteger(code)) return undefined;
  return code < 0 || /McpError|ProtocolError/.test(error.name) ? code : undefined;
}

function readMessage(error: unknown): string {
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' ? message : 'Internal error';
}
