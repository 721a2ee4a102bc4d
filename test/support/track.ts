import { type HttpSessionCreateRequest, type SessionCreateRequest } from '../../src/factory.js';
import { type HttpSessionRequest } from '../../src/types.js';

/** Whether a promise has settled yet, and how, without leaving a rejection unhandled. */
export interface Tracked<T> {
  settled: boolean;
  value: T | undefined;
  error: unknown;
}

/** Observes `promise`: its state fills in when it settles; a rejection is marked handled. */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const state: Tracked<T> = { settled: false, value: undefined, error: undefined };
  void promise.then(
    (value) => {
      state.settled = true;
      state.value = value;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

/** A request for one key, with a URL per upstream (so upstreams never share a fingerprint by accident). */
export function request(downstreamSessionId: string, upstreamId = 'counter'): HttpSessionRequest {
  return { downstreamSessionId, upstreamId, url: `http://127.0.0.1:9/${upstreamId}/mcp` };
}

/**
 * The HTTP creations among `requests` (what a fake factory recorded), typed as such.
 * @throws when one of them is a stdio creation (a test that expects HTTP only).
 */
export function http(requests: readonly SessionCreateRequest[]): HttpSessionCreateRequest[] {
  return requests.map((r) => {
    if (r.transport === 'stdio') throw new Error('expected an HTTP creation, got a stdio one');
    return r;
  });
}
