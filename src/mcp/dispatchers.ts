// Separate undici dispatchers for event streams and request traffic (no SDK import, no undici dependency).

/** An undici dispatcher (an `Agent`), as Node's `fetch` takes it in its `dispatcher` init option. */
export type Dispatcher = object;

/** The two dispatchers of one factory. */
export interface SessionDispatchers {
  /** For long-lived GET event streams: each pins one connection for the session's lifetime. */
  readonly streams: Dispatcher;
  /** For POST and DELETE traffic: short requests sharing keep-alive connections. */
  readonly requests: Dispatcher;
}

type AgentConstructor = new (options?: Record<string, unknown>) => Dispatcher;

/** Where Node's bundled undici keeps its global dispatcher (set when `fetch` is first used). */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

let agentClass: Promise<AgentConstructor | undefined> | undefined;

/**
 * Node's bundled undici `Agent` class, found as the constructor of the global dispatcher (the library adds no
 * undici dependency). Undefined when the host installed another kind of global dispatcher (a proxy, a mock,
 * a retry agent: it must keep seeing upstream traffic) or when the runtime is not undici-based.
 */
function findAgentClass(): Promise<AgentConstructor | undefined> {
  agentClass ??= (async () => {
    const holder = globalThis as Record<symbol, unknown>;
    if (holder[GLOBAL_DISPATCHER] === undefined) {
      // Node installs its global Agent on the first fetch; a data: URL needs no network.
      await globalThis.fetch('data:,').then((response) => response.arrayBuffer()).catch(() => undefined);
    }
    const global = holder[GLOBAL_DISPATCHER];
    if (typeof global !== 'object' || global === null) return undefined;
    const ctor = (global as { constructor?: unknown }).constructor;
    if (typeof ctor !== 'function' || ctor.name !== 'Agent') return undefined;
    return ctor as AgentConstructor;
  })();
  return agentClass;
}

/**
 * Builds the two dispatchers a factory routes its HTTP through, so the cost of a call does not grow with the
 * number of open sessions: undici scans the connections of an origin's pool on each request, and every
 * session's event stream pins one of them. With streams on their own `Agent`, requests only see the few
 * keep-alive connections they actually share.
 *
 * Both use undici's defaults (unlimited connections per origin, no pipelining). Settings that hang: a
 * `connections` limit below the number of sessions on the streams dispatcher (the streams hold every
 * connection and the rest wait forever), and `pipelining` above 1 on either (a request queued behind a
 * stream that never ends).
 *
 * @returns The pair, or `undefined` when Node's `Agent` cannot be reached or the host replaced the global
 *   dispatcher (then the factory uses plain `fetch`).
 * @example
 * ```ts
 * const dispatchers = await createSessionDispatchers();
 * const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
 * await fetch(url, { method: 'POST', body, ...(dispatchers && { dispatcher: dispatchers.requests }) });
 * ```
 */
export async function createSessionDispatchers(): Promise<SessionDispatchers | undefined> {
  const Agent = await findAgentClass();
  if (Agent === undefined) return undefined;
  return { streams: new Agent(), requests: new Agent() };
}
