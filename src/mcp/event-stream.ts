// One session's standalone event stream, read by the library (no SDK import; shared by both MCP factories).
import { type Clock } from '../clock.js';
import { DeliveryQueue } from './delivery-queue.js';
import { errorText } from '../log.js';
import { isEventStreamType, SseDecoder } from './sse-decoder.js';
import { type OpenedStream, type StreamOpener } from './stream-openers.js';

/** Where the messages of an event stream go (the session's transport). */
export interface EventStreamReceiver {
  /**
   * The `data` of each `message` event (a JSON-RPC message as text).
   * @returns Whether it was a JSON-RPC response (a result or an error).
   */
  message(data: string): boolean;
  /** A stream failure that is not fatal to the session (the transport's `onerror`). */
  error(error: Error): void;
  /**
   * Resumes a request's broken response stream from `lastEventId` (a GET with `Last-Event-ID`); optional.
   * Only asked when the stream carried event ids and ended before the response.
   */
  resume?(lastEventId: string): void;
}

/** Reconnection after the stream ends or breaks, as the SDK's Streamable HTTP transport does it. */
export interface EventStreamReconnection {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly growFactor: number;
  /** Failed attempts in a row before giving up (reported through `error`). */
  readonly maxRetries: number;
}

/** The SDK's defaults: 1 s, growing 1.5× per failed attempt up to 30 s, two attempts. */
export const DEFAULT_RECONNECTION: EventStreamReconnection = Object.freeze({
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  growFactor: 1.5,
  maxRetries: 2,
});

/** What {@link EventStream} needs. */
export interface EventStreamOptions {
  readonly open: StreamOpener;
  readonly url: URL;
  /** The request init of the SDK's GET (headers: session id, protocol version, the host's); no signal. */
  readonly init: RequestInit;
  readonly receiver: EventStreamReceiver;
  /** Reconnection timers. */
  readonly clock: Clock;
  readonly reconnection?: EventStreamReconnection;
}

/** A response whose body is an event stream (a server may also answer the GET with JSON or nothing). */
function isEventStream(stream: OpenedStream): boolean {
  return stream.status >= 200 && stream.status < 300 && isEventStreamType(stream.headers.get('content-type'));
}

/**
 * The standalone GET event stream of one Streamable HTTP session, opened and decoded by the library instead
 * of the SDK's transport (whose web-streams pipeline costs ~49 KB per held stream).
 *
 * - {@link EventStream.start} opens it and resolves with the response head; when it is not an event stream
 *   (405: the server offers none; 404: the session is gone; anything else) the stream is dropped and the
 *   caller hands that status to the SDK, which reacts as it always has.
 * - Each `message` event's data goes to `receiver.message`; other event types are ignored, as the SDK does.
 * - When the server ends the stream or the connection breaks, it reconnects after a delay (the server's
 *   `retry`, else backoff), with `Last-Event-ID` when events carried ids; an attempt answered 405 ends it
 *   quietly; after `maxRetries` failed attempts in a row it gives up and reports through `receiver.error`.
 * - {@link EventStream.stop} drops the stream and any pending reconnection; nothing is delivered after it.
 */
export class EventStream {
  readonly #options: EventStreamOptions;
  readonly #reconnection: EventStreamReconnection;
  #current: OpenedStream | undefined;
  /** Aborts every open attempt still waiting for its response head. */
  readonly #opening = new AbortController();
  #timer: unknown;
  #stopped = false;
  #lastEventId: string | undefined;
  #retryMs: number | undefined;

  /** @param options - See {@link EventStreamOptions}. */
  constructor(options: EventStreamOptions) {
    this.#options = options;
    this.#reconnection = options.reconnection ?? DEFAULT_RECONNECTION;
  }

  /**
   * Opens the stream. Resolves with the response head: a 2xx `text/event-stream` one is being read; any
   * other was closed (its status is what the server said). Rejects when the request failed.
   */
  async start(): Promise<{ readonly status: number; readonly statusText: string; readonly headers: Headers }> {
    const stream = await this.#options.open(this.#options.url, this.#options.init, this.#opening.signal);
    if (this.#stopped || !isEventStream(stream)) {
      stream.close();
      return stream;
    }
    this.#attach(stream);
    return stream;
  }

  /** Drops the stream and any pending reconnection. Idempotent. */
  stop(): void {
    if (!this.#stopped) this.#opening.abort(new Error('The event stream was stopped'));
    this.#stopped = true;
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const current = this.#current;
    this.#current = undefined;
    current?.close();
  }

  #attach(stream: OpenedStream): void {
    this.#current = stream;
    const { receiver } = this.#options;
    const queue = new DeliveryQueue();
    const decoder = new SseDecoder({
      event: (event) => {
        // Events without data (priming events, keep-alives) carry no message.
        if (event.data === '' || (event.event !== undefined && event.event !== 'message')) return;
        queue.push(() => {
          if (!this.#stopped) void receiver.message(event.data);
        });
      },
      id: (id) => {
        this.#lastEventId = id;
      },
      retry: (ms) => {
        this.#retryMs = ms;
      },
    });
    stream.read(
      (chunk) => decoder.push(chunk),
      (error) => {
        if (this.#current !== stream || this.#stopped) return;
        this.#current = undefined;
        if (error !== undefined) receiver.error(new Error(`SSE stream disconnected: ${errorText(error)}`));
        this.#schedule(0);
      },
    );
  }

  #schedule(attempt: number): void {
    const { maxRetries, initialDelayMs, growFactor, maxDelayMs } = this.#reconnection;
    if (attempt >= maxRetries) {
      this.#options.receiver.error(new Error(`Maximum reconnection attempts (${maxRetries}) exceeded.`));
      return;
    }
    const delay = this.#retryMs ?? Math.min(initialDelayMs * growFactor ** attempt, maxDelayMs);
    this.#timer = this.#options.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#reconnect(attempt);
    }, delay);
  }

  async #reconnect(attempt: number): Promise<void> {
    if (this.#stopped) return;
    const headers = new Headers(this.#options.init.headers);
    if (this.#lastEventId !== undefined && this.#lastEventId !== '') headers.set('last-event-id', this.#lastEventId); // `id:` empty resets
    let stream: OpenedStream;
    try {
      stream = await this.#options.open(this.#options.url, { ...this.#options.init, headers }, this.#opening.signal);
    } catch (error) {
      if (this.#stopped) return;
      this.#options.receiver.error(new Error(`Failed to reconnect SSE stream: ${errorText(error)}`));
      this.#schedule(attempt + 1);
      return;
    }
    if (this.#stopped) {
      stream.close();
      return;
    }
    if (isEventStream(stream)) {
      this.#attach(stream);
      return;
    }
    stream.close();
    if (stream.status === 405) return; // the server no longer offers a stream
    this.#options.receiver.error(new Error(`Failed to reconnect SSE stream: HTTP ${stream.status} ${stream.statusText}`.trimEnd()));
    this.#schedule(attempt + 1);
  }
}
