// The fetch one upstream session's transport uses (no SDK import; shared by both MCP factories).
import { type SessionDispatchers } from './dispatchers.js';
import { requestSignal } from './request-signals.js';

/** The `fetch` signature the MCP SDK transports call. */
export type SessionFetchFunction = (url: string | URL, init?: RequestInit) => Promise<Response>;

/** Options of {@link SessionFetch}. */
export interface SessionFetchOptions {
  /** The fetch to call: the host's, or `globalThis.fetch`. */
  readonly base: SessionFetchFunction;
  /** Dispatchers to route through (only with Node's own `fetch`; never with a host's). */
  readonly dispatchers?: SessionDispatchers | undefined;
  /** False: the standalone GET event stream is never opened (answered locally with 405). */
  readonly eventStream: boolean;
}

/** What the SDK sees instead of opening a stream it must not open: "this server offers no GET stream". */
function noStream(): Response {
  return new Response(null, { status: 405, statusText: 'Method Not Allowed' });
}

/** The standalone event stream is a GET without `last-event-id` (with one it resumes a call's stream). */
function isStandaloneStream(init: RequestInit): boolean {
  return !new Headers(init.headers).has('last-event-id');
}

/** `fetch`'s default method is GET (the `eventsource` package of legacy SSE sends none). */
function isGet(init: RequestInit | undefined): boolean {
  const method = init?.method;
  return method === undefined || method === 'GET';
}

/**
 * The `fetch` of one upstream session's transport:
 * - every request gets a fresh signal that follows the transport's (see {@link requestSignal}), so no
 *   listener accumulates on the transport's long-lived signal;
 * - GET event streams and request traffic go through separate dispatchers when given;
 * - the standalone event stream is answered locally with 405 (which the SDKs treat as "not offered") when
 *   `eventStream` is false, or after {@link SessionFetch.stopEventStream}.
 *
 * @example
 * ```ts
 * import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
 * const sessionFetch = new SessionFetch({ base: globalThis.fetch, eventStream: false });
 * const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: sessionFetch.fetch });
 * ```
 */
export class SessionFetch {
  readonly #base: SessionFetchFunction;
  readonly #dispatchers: SessionDispatchers | undefined;
  #eventStream: boolean;
  /**
   * The open standalone event stream, to end it before a DELETE. The SDK opens a new one only after the
   * previous one ended (on `initialized`, then on reconnection), so one slot suffices.
   */
  #stream: { controller: AbortController; detach: () => void } | undefined;

  /** @param options - See {@link SessionFetchOptions}. */
  constructor(options: SessionFetchOptions) {
    this.#base = options.base;
    this.#dispatchers = options.dispatchers;
    this.#eventStream = options.eventStream;
  }

  /** The fetch to hand to the transport. */
  readonly fetch: SessionFetchFunction = (url, init) => {
    if (isGet(init)) return this.#get(url, init ?? {});
    return this.#send(url, init, requestSignal(init?.signal), this.#dispatchers?.requests);
  };

  /** Ends the open event stream and refuses new ones (before terminating the session). */
  stopEventStream(): void {
    this.#eventStream = false;
    const stream = this.#stream;
    this.#stream = undefined;
    stream?.detach();
    stream?.controller.abort(new Error('The session is closing'));
  }

  #send(url: string | URL, init: RequestInit | undefined, signal: AbortSignal, dispatcher: object | undefined): Promise<Response> {
    return this.#base(url, dispatcher === undefined ? { ...init, signal } : ({ ...init, signal, dispatcher } as RequestInit));
  }

  #get(url: string | URL, init: RequestInit): Promise<Response> {
    const dispatcher = this.#dispatchers?.streams;
    // A GET with `last-event-id` resumes a call's response stream: an ordinary request.
    if (!isStandaloneStream(init)) return this.#send(url, init, requestSignal(init.signal), dispatcher);
    if (!this.#eventStream) return Promise.resolve(noStream());
    // The previous standalone stream has ended (the SDK reconnects only then): forget it.
    this.#stream?.detach();
    const controller = new AbortController();
    const parent = init.signal;
    const follow = (): void => controller.abort(parent?.reason);
    if (parent?.aborted === true) follow();
    else parent?.addEventListener('abort', follow, { once: true });
    this.#stream = { controller, detach: () => parent?.removeEventListener('abort', follow) };
    return this.#send(url, init, controller.signal, dispatcher);
  }
}
