/**
 * The downstream request a piece of upstream work belongs to, in an `AsyncLocalStorage`.
 *
 * The gateway runs every downstream request handler inside `downstreamRequest.run(…)`. An upstream's
 * server→client request (sampling, elicitation, roots) or notification that arrives on the response stream
 * of the upstream call made by that handler runs in the same async context (SPEC §11; the registry creates
 * sessions in a neutral context, so a session's own event stream never sees a finished request's context).
 * The relay then answers on the downstream request's own response stream (`relatedRequestId`), which is the
 * only stream a downstream client that never opens a GET stream listens on.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** What the relay needs of the downstream request in flight (SDK v1: the handler's `extra`). */
export interface DownstreamRequest {
  /** The downstream session the request belongs to. */
  readonly sessionId: string;
  /** The downstream request's JSON-RPC id. */
  readonly requestId: string | number;
}

export const downstreamRequest = new AsyncLocalStorage<DownstreamRequest>();

/** The downstream request in flight for `sessionId` in this async context, if any. */
export function currentRequestOf(sessionId: string): DownstreamRequest | undefined {
  const current = downstreamRequest.getStore();
  // A context from another downstream session must never be used (it cannot happen with the registry's
  // neutral creation context, but a relay must not depend on that to stay 1:1).
  return current?.sessionId === sessionId ? current : undefined;
}
