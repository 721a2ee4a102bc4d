/** Messages between the soak run and its upstream child processes (Node IPC, structured clone). */

/**
 * The request header naming the key (`downstreamSessionId|upstreamId`) a request is made for. The upstream
 * records it at `initialize` and counts any later request on that session that carries another key.
 */
export const KEY_HEADER = 'x-soak-key';

/** A command to an upstream process; `seq` pairs it with its reply. */
export type UpstreamCommand =
  | { seq: number; op: 'restart'; downtimeMs: number }
  | { seq: number; op: 'slowDown'; durationMs: number; probability: number; maxDelayMs: number }
  | { seq: number; op: 'stopSlowDown' }
  | { seq: number; op: 'expireSession' }
  | { seq: number; op: 'stats' }
  | { seq: number; op: 'close' };

/** What an upstream process reports about itself. */
export interface UpstreamStats {
  /** Sessions it holds now. */
  liveSessions: number;
  /** Sessions it ever created (`initialize` requests accepted). */
  sessionsCreated: number;
  /** Requests that reached a session created for another key. */
  bindingViolations: number;
  restarts: number;
  expiries: number;
  delayedRequests: number;
}

/** A message from an upstream process. */
export type UpstreamMessage =
  | { type: 'ready'; url: string }
  | { type: 'reply'; seq: number; stats: UpstreamStats; result?: boolean }
  | { type: 'error'; seq: number; message: string };
