// The fetch one upstream session's transport uses (no SDK import; shared by both MCP factories).
import { type Clock } from '../clock.js';
import { onAbort } from './abort.js';
import { type SessionDispatchers } from './dispatchers.js';
import { EventStream, type EventStreamReceiver } from './event-stream.js';
import { type SessionFetchFunction } from './fetch-function.js';
import { takeOverPostStream } from './post-stream.js';
import { requestSignal } from './request-signals.js';
import { isEventStreamType } from './sse-decoder.js';
import { type StreamOpener } from './stream-openers.js';

/** The library reads the standalone event stream itself (instead of the SDK's transport). */
export interface OwnEventStream {
  /** Opens the stream (node:http, or a `fetch`). */
  readonly open: StreamOpener;
  /** Reconnection timers. */
  readonly clock: Clock;
}

/** Options of {@link SessionFetch}. */
export interface SessionFetchOptions {
  /** The fetch to call: the host's, or `globalThis.fetch`. */
  readonly base: SessionFetchFunction;
  /** Dispatchers to route through (only with Node's own `fetch`; never with a host's). */
  readonly dispatchers?: SessionDispatchers | undefined;
  /** False: the standalone GET event stream is never opened (answered locally with 405). */
  readonly eventStream: boolean;
  /**
   * Read the standalone event stream here and deliver its messages to {@link SessionFetch.receive}'s
   * receiver; the SDK is told the server offers none (405). Without it the SDK reads the stream (legacy SSE,
   * where the stream is the transport).
   */
  readonly ownStream?: OwnEventStream | undefined;
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
  readonly #ownStream: OwnEventStream | undefined;
  #eventStream: boolean;
  #receiver: EventStreamReceiver | undefined;
  /**
   * The open standalone event stream, to end it before a DELETE. The SDK opens a new one only after the
   * previous one ended (on `initialized`, then on reconnection), so one slot suffices.
   */
  #stream: { stop: () => void } | undefined;

  /** @param options - See {@link SessionFetchOptions}. */
  constructor(options: SessionFetchOptions) {
    this.#base = options.base;
    this.#dispatchers = options.dispatchers;
    this.#eventStream = options.eventStream;
    this.#ownStream = options.ownStream;
  }

  /** Where the messages of a stream read here go (set once the transport exists, before it connects). */
  receive(receiver: EventStreamReceiver): void {
    this.#receiver = receiver;
  }

  /** The fetch to hand to the transport. */
  readonly fetch: SessionFetchFunction = (url, init) => {
    if (isGet(init)) return this.#get(url, init ?? {});
    const sent = this.#send(url, init, requestSignal(init?.signal), this.#dispatchers?.requests);
    const own = this.#ownStream;
    const receiver = this.#receiver;
    if (own === undefined || receiver === undefined || init?.method !== 'POST') return sent;
    return sent.then((response) => (response.ok && response.status !== 202 && isEventStreamType(response.headers.get('content-type')) ? takeOverPostStream(response, receiver, own.clock) : response));
  };

  /** Ends the open event stream and refuses new ones (before terminating the session). */
  stopEventStream(): void {
    this.#eventStream = false;
    const stream = this.#stream;
    this.#stream = undefined;
    stream?.stop();
  }

  #send(url: string | URL, init: RequestInit | undefined, signal: AbortSignal, dispatcher: object | undefined): Promise<Response> {
    return this.#base(url, dispatcher === undefined ? { ...init, signal } : ({ ...init, signal, dispatcher } as RequestInit));
  }

  #get(url: string | URL, init: RequestInit): Promise<Response> {
    const dispatcher = this.#dispatchers?.streams;
    // A GET with `last-event-id` resumes a call's response stream: an ordinary request.
    if (!isStandaloneStream(init)) return this.#send(url, init, requestSignal(init.signal), dispatcher);
    if (!this.#eventStream) return Promise.resolve(noStream());
    const parent = init.signal ?? undefined;
    if (parent?.aborted === true) return Promise.reject(parent.reason as Error);
    // The previous standalone stream has ended (the SDK reconnects only then): forget it.
    this.#stream?.stop();
    if (this.#ownStream !== undefined && this.#receiver !== undefined) return this.#readHere(url, init, this.#ownStream, this.#receiver);
    const controller = new AbortController();
    const detach = parent === undefined ? () => undefined : onAbort(parent, () => controller.abort(parent.reason));
    this.#stream = {
      stop: () => {
        detach();
        controller.abort(new Error('The session is closing'));
      },
    };
    return this.#send(url, init, controller.signal, dispatcher);
  }

  /**
   * Opens the standalone stream through `own.open` and reads it here. The SDK gets a 405 ("no stream
   * offered") for any 2xx answer (a flowing event stream, or a 2xx that is none, which the SDK could not
   * read either), and the server's own status otherwise.
   */
  async #readHere(url: string | URL, init: RequestInit, own: OwnEventStream, receiver: EventStreamReceiver): Promise<Response> {
    const { signal, ...rest } = init;
    const stream = new EventStream({ open: own.open, url: new URL(url), init: { ...rest, method: 'GET' }, receiver, clock: own.clock });
    const detach = signal == null ? () => undefined : onAbort(signal, () => stream.stop());
    const slot = {
      stop: () => {
        detach();
        stream.stop();
      },
    };
    this.#stream = slot;
    try {
      const head = await stream.start();
      if (head.status >= 200 && head.status < 300 && this.#stream === slot) return noStream();
      if (this.#stream === slot) this.#stream = undefined;
      detach();
      // The SDK reacts to the server's answer as it would have (405 quietly, others through onerror).
      const status = head.status >= 200 && head.status <= 599 ? head.status : 502;
      return new Response(null, { status, statusText: head.statusText, headers: head.headers });
    } catch (error) {
      if (this.#stream === slot) this.#stream = undefined;
      detach();
      throw error;
    }
  }
}
