// README "Writing the gateway side": a downstream client that never sends DELETE.
import { systemClock, type UpstreamSessionRegistry } from '../../src/index.js'; // 'mcp-upstream-sessions'

declare const registry: UpstreamSessionRegistry;
declare function closeDownstream(downstreamSessionId: string): void; // end its transport and server

const DOWNSTREAM_IDLE_TTL_MS = 30 * 60_000;
const idleTimers = new Map<string, unknown>();

/** Call when a downstream request (or GET stream) of the session starts, and `rearm` when the last one ends. */
export function touch(downstreamSessionId: string): void {
  const timer = idleTimers.get(downstreamSessionId);
  if (timer !== undefined) systemClock.clearTimeout(timer);
  idleTimers.delete(downstreamSessionId);
}

export function rearm(downstreamSessionId: string): void {
  touch(downstreamSessionId);
  idleTimers.set(
    downstreamSessionId,
    systemClock.setTimeout(() => {
      idleTimers.delete(downstreamSessionId);
      closeDownstream(downstreamSessionId);
      void registry.evictSession(downstreamSessionId); // its upstream sessions too, in the background
    }, DOWNSTREAM_IDLE_TTL_MS),
  );
}
