import { CapacityError } from './errors.js';

/** Sizes and idle sets the capacity policy looks at. Idle sets iterate least recently used first. */
export interface CapacityView<E> {
  total: number;
  maxSessions: number;
  totalIdle: Iterable<E>;
  upstreamId: string;
  upstreamTotal: number;
  maxSessionsPerUpstream: number;
  upstreamIdle: Iterable<E>;
}

function firstOf<E>(set: Iterable<E>, except?: E): E | undefined {
  for (const item of set) if (item !== except) return item;
  return undefined;
}

/**
 * Decides what must be evicted (reason `capacity`) so one more session fits: nothing, the upstream's least
 * recently used idle session, and/or the registry's least recently used idle session.
 * Pure: evicts nothing itself.
 * @throws {@link CapacityError} when a limit is reached and no idle session can make room.
 */
export function planCapacity<E>(view: CapacityView<E>): E[] {
  const victims: E[] = [];
  if (view.upstreamTotal >= view.maxSessionsPerUpstream) {
    const victim = firstOf(view.upstreamIdle);
    if (victim === undefined) throw new CapacityError('upstream', view.maxSessionsPerUpstream, view.upstreamId);
    victims.push(victim);
  }
  if (view.total - victims.length >= view.maxSessions) {
    const victim = firstOf(view.totalIdle, victims[0]);
    if (victim === undefined) throw new CapacityError('registry', view.maxSessions);
    victims.push(victim);
  }
  return victims;
}
