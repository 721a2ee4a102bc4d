/**
 * Upstream → downstream: server→client requests (sampling, elicitation, roots) and notifications, each to
 * the one downstream client whose upstream session sent it (`key.downstreamSessionId`: with 1:1 sessions the
 * gateway always knows who asked).
 *
 * When the upstream sent it during a call, it travels on the response stream of the downstream request that
 * made the call (`relatedRequestId`, found through {@link currentRequestOf}); a downstream client that never
 * opens a GET stream gets it there. Otherwise (the upstream's own GET stream: init-time requests, timers,
 * resource updates) it goes on the downstream session's GET stream, as it would from the upstream directly.
 *
 * A stdio upstream has one pipe and no per-call streams, so its requests carry no async context of a call.
 * A server→client request then rides on any downstream request of the same session still in flight (same
 * client, so routing stays 1:1) and only without one on the GET stream — else a client without a GET stream
 * would never see it and the upstream call would hang.
 */
import { type Server } from '@modelcontextprotocol/sdk/server/index.js';
import { type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode, McpError, ResultSchema, type ServerNotification, type ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { type McpServerRequestHandler, type UpstreamNotification } from '../../src/index.js';
import { currentRequestOf } from './request-context.js';

/** The SDK's error when the stream of `relatedRequestId` is already gone (the downstream request ended). */
function isStreamGone(error: unknown): boolean {
  return error instanceof Error && error.message.includes('No connection established');
}

/** What the relay needs of a live downstream session. */
export interface RelayTarget {
  readonly server: Server;
  /** Ids of the session's downstream requests in flight. */
  readonly inFlight: ReadonlySet<RequestId>;
}

/**
 * The factory's `onServerRequest`: asks the downstream client of `key` and returns its answer (or its error)
 * to the upstream. The result is passed on as the downstream client sent it; the upstream's SDK validates it.
 *
 * @param sessionOf - The downstream session of a downstream session id, while that session lives.
 */
export function serverRequestRelay(sessionOf: (downstreamSessionId: string) => RelayTarget | undefined): McpServerRequestHandler {
  return async (key, request, { signal }) => {
    const session = sessionOf(key.downstreamSessionId);
    if (session === undefined) throw new McpError(ErrorCode.InvalidRequest, 'The downstream session has ended');
    const message = (request.params === undefined ? { method: request.method } : request) as ServerRequest;
    const related = [currentRequestOf(key.downstreamSessionId)?.requestId, ...[...session.inFlight].reverse()];
    for (const relatedRequestId of new Set(related)) {
      if (relatedRequestId === undefined) continue;
      try {
        return await session.server.request(message, ResultSchema, { signal, relatedRequestId });
      } catch (error) {
        if (!isStreamGone(error)) throw error; // that request just ended: try the next one
      }
    }
    return session.server.request(message, ResultSchema, { signal });
  };
}

/** Sends an upstream session's notification to its downstream client (best effort: the client may be gone). */
export function relayNotification(server: Server, downstreamSessionId: string, notification: UpstreamNotification): void {
  const message = notification as ServerNotification;
  const current = currentRequestOf(downstreamSessionId);
  const sent =
    current === undefined
      ? server.notification(message)
      : server.notification(message, { relatedRequestId: current.requestId }).catch((error: unknown) => {
          if (!isStreamGone(error)) throw error;
          return server.notification(message);
        });
  sent.catch(() => undefined);
}
