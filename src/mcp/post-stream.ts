// The event-stream answer to one POST, read by the library (no SDK import; shared by both MCP factories).
import { type Clock } from '../clock.js';
import { DeliveryQueue } from './delivery-queue.js';
import { type EventStreamReceiver } from './event-stream.js';
import { errorText } from '../log.js';
import { SseDecoder } from './sse-decoder.js';
import { readBodyText } from './stream-openers.js';

/** Delay before resuming a broken POST stream when the server gave no `retry` (the SDK's first delay). */
const RESUME_DELAY_MS = 1_000;

/**
 * Takes over the `text/event-stream` answer to a POST (a request's response stream: progress, logs, server
 * requests, then the response) and returns what the SDK gets instead: a bodiless 202 with the same headers
 * (the session id among them), after which the SDK waits for the response through its `onmessage` like for
 * any message. Each `message` event goes to `receiver.message` as it arrives, so a server request in the
 * middle of a call is answered before the call's response comes.
 *
 * Reading the body with one reader and {@link SseDecoder} instead of the SDK's two transform streams roughly
 * halves the client work of a call. When the stream breaks or ends before a response arrived and the server
 * sent event ids (a resumable stream), `receiver.resume` is asked to resume from the last id after the
 * server's `retry` (else 1 s), as the SDK would.
 *
 * @param response - A 2xx `text/event-stream` response to a POST.
 * @param receiver - Where the messages go.
 * @param clock - Times the resumption delay.
 * @returns The 202 to hand to the SDK.
 */
export function takeOverPostStream(response: Response, receiver: EventStreamReceiver, clock: Clock): Response {
  let lastEventId: string | undefined;
  let retryMs: number | undefined;
  let answered = false;
  const queue = new DeliveryQueue();
  const decoder = new SseDecoder({
    event: (event) => {
      // Events without data (priming events, keep-alives) carry no message.
      if (event.data !== '' && (event.event === undefined || event.event === 'message')) {
        queue.push(() => {
          answered = receiver.message(event.data) || answered;
        });
      }
    },
    id: (id) => {
      lastEventId = id;
    },
    retry: (ms) => {
      retryMs = ms;
    },
  });
  readBodyText(
    response.body,
    (chunk) => decoder.push(chunk),
    (error) =>
      queue.push(() => {
        if (error !== undefined && !isAbort(error)) receiver.error(new Error(`SSE stream disconnected: ${errorText(error)}`));
        const resumeFrom = lastEventId;
        if (answered || resumeFrom === undefined || receiver.resume === undefined || isAbort(error)) return;
        clock.setTimeout(() => receiver.resume?.(resumeFrom), retryMs ?? RESUME_DELAY_MS);
      }),
    () => false,
  );
  return new Response(null, { status: 202, statusText: 'Accepted', headers: response.headers });
}

/** The transport closed (its signal aborted the request): nothing to report or resume. */
function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}
