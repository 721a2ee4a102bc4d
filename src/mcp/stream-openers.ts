// How a session's standalone event stream is opened: plain node:http(s), or the host's `fetch`.
import http from 'node:http';
import https from 'node:https';
import { type Clock } from '../clock.js';
import { onAbort } from './abort.js';
import { type SessionFetchFunction } from './fetch-function.js';

/** A GET event stream whose response head has arrived. */
export interface OpenedStream {
  readonly status: number;
  readonly statusText: string;
  /** Response headers (lower-case names). */
  readonly headers: Headers;
  /**
   * Starts reading the body: `text` gets each decoded UTF-8 chunk, `end` is called once, with the error when
   * the body failed (network error, reset) and without one when the server ended it. Call at most once.
   */
  read(text: (chunk: string) => void, end: (error?: unknown) => void): void;
  /** Drops the stream (and its connection) at once; `end` is not called after this. Idempotent. */
  close(): void;
}

/**
 * Opens one GET event stream: `url` with the given request init (headers; its `signal` is ignored).
 * `signal` aborting before the response head arrives drops the request and rejects with its reason.
 */
export type StreamOpener = (url: URL, init: RequestInit, signal: AbortSignal) => Promise<OpenedStream>;

/** Bound on waiting for the response head of an event stream (connect, TLS, the server's first bytes). */
const OPEN_TIMEOUT_MS = 30_000;

function headerRecord(headers: HeadersInit | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  new Headers(headers).forEach((value, name) => {
    record[name] = value;
  });
  return record;
}

function responseHeaders(raw: http.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value === 'string') headers.set(name, value);
    else if (Array.isArray(value)) for (const one of value) headers.append(name, one);
  }
  return headers;
}

/**
 * Opens event streams over plain `node:http` / `node:https` with agents of their own, apart from the
 * request traffic. A held stream costs a socket and ~6 KB of heap (a `fetch` stream read through web
 * streams costs ~25 KB, the SDK's decoding pipeline ~49 KB). Used when the factory routes traffic itself
 * (no host `fetch`, Node's own global dispatcher).
 *
 * @param clock - Times the bound on the response head ({@link OPEN_TIMEOUT_MS}).
 * @returns An opener; its agents keep no idle sockets.
 */
export function nodeHttpStreamOpener(clock: Clock): StreamOpener {
  const agents = { http: new http.Agent({ keepAlive: false }), https: new https.Agent({ keepAlive: false }) };
  return (url, init, signal) =>
    new Promise<OpenedStream>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const secure = url.protocol === 'https:';
      const request = (secure ? https : http).request(url, {
        method: 'GET',
        headers: headerRecord(init.headers),
        agent: secure ? agents.https : agents.http,
      });
      const timer = clock.setTimeout(() => request.destroy(new Error('The event stream did not answer in time')), OPEN_TIMEOUT_MS);
      const stopWaiting = onAbort(signal, () => request.destroy(signal.reason as Error));
      let onEnd: ((error?: unknown) => void) | undefined;
      let closed = false;
      const finish = (error?: unknown): void => {
        const end = onEnd;
        onEnd = undefined;
        if (!closed) end?.(error);
        closed = true;
      };
      request.once('error', (error) => {
        clock.clearTimeout(timer);
        stopWaiting();
        if (onEnd === undefined && !closed) reject(error);
        finish(error);
      });
      request.once('response', (response) => {
        clock.clearTimeout(timer);
        stopWaiting();
        resolve({
          status: response.statusCode ?? 0,
          statusText: response.statusMessage ?? '',
          headers: responseHeaders(response.headers),
          read(text, end) {
            onEnd = end;
            response.setEncoding('utf8');
            response.on('data', text);
            response.once('end', () => finish());
            response.once('aborted', () => finish(new Error('The event stream was reset')));
            response.once('error', (error) => finish(error));
          },
          close() {
            closed = true;
            onEnd = undefined;
            request.destroy();
          },
        });
      });
      request.end();
    });
}

/**
 * Opens event streams through a `fetch` (the host's, or Node's when the factory cannot route traffic itself),
 * reading the body with one reader and a `TextDecoder` rather than a chain of transform streams.
 *
 * @param fetch - The fetch to call; `dispatcher` is passed in the init when given (Node's fetch only).
 * @param dispatcher - An undici dispatcher for the streams, or undefined.
 */
export function fetchStreamOpener(fetch: SessionFetchFunction, dispatcher?: object): StreamOpener {
  return async (url, init, signal) => {
    signal.throwIfAborted();
    const controller = new AbortController();
    const withSignal = { ...init, method: 'GET', signal: controller.signal };
    const stopWaiting = onAbort(signal, () => controller.abort(signal.reason));
    let response: Response;
    try {
      response = await fetch(url, dispatcher === undefined ? withSignal : ({ ...withSignal, dispatcher } as RequestInit));
    } finally {
      stopWaiting();
    }
    let closed = false;
    return {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
      read(text, end) {
        readBodyText(response.body, text, (error) => {
          if (!closed) end(error);
        }, () => closed);
      },
      close() {
        if (closed) return;
        closed = true;
        controller.abort(new Error('The event stream was closed'));
      },
    };
  };
}

/**
 * Reads a fetch body as UTF-8 text with one reader and one `TextDecoder` (no transform streams): `text` gets
 * each chunk, `end` is called once (with the error when reading failed). Stops quietly once `dropped()`.
 *
 * @example
 * ```ts
 * const response = await fetch(url);
 * readBodyText(response.body, (chunk) => process.stdout.write(chunk), (error) => console.log('ended', error), () => false);
 * ```
 */
export function readBodyText(
  body: ReadableStream<Uint8Array> | null,
  text: (chunk: string) => void,
  end: (error?: unknown) => void,
  dropped: () => boolean,
): void {
  if (body === null) {
    end();
    return;
  }
  const reader = body.getReader();
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (dropped()) return;
        if (done) break;
        const chunk = decoder.decode(value, { stream: true });
        if (chunk !== '') text(chunk);
      }
      const rest = decoder.decode();
      if (rest !== '') text(rest);
      end();
    } catch (error) {
      end(error);
    }
  })();
}
