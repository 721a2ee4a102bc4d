// EventStream: the standalone GET event stream read by the library, driven by a fake opener and a ManualClock.
import { describe, expect, it } from 'vitest';
import { EventStream, type EventStreamReceiver, type EventStreamReconnection } from '../../src/mcp/event-stream.js';
import { type OpenedStream, type StreamOpener } from '../../src/mcp/stream-openers.js';
import { ManualClock } from '../../src/testing/index.js';

/** A stream the test controls: push text, end it (with or without an error), see whether it was closed. */
class FakeStream implements OpenedStream {
  readonly headers: Headers;
  closed = false;
  reads = 0;
  #text: ((chunk: string) => void) | undefined;
  #end: ((error?: unknown) => void) | undefined;

  constructor(
    readonly status: number,
    readonly statusText: string,
    headers: Record<string, string>,
  ) {
    this.headers = new Headers(headers);
  }

  read(text: (chunk: string) => void, end: (error?: unknown) => void): void {
    this.reads += 1;
    this.#text = text;
    this.#end = end;
  }

  close(): void {
    this.closed = true;
  }

  /** Delivers text as the server sent it (even after `close`, to prove the stream ignores it then). */
  push(chunk: string): void {
    this.#text?.(chunk);
  }

  /** The server ended the body (no error) or the connection broke (an error). */
  end(error?: unknown): void {
    this.#end?.(error);
  }
}

interface Head {
  readonly status?: number;
  readonly statusText?: string;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
}

/** One call of the opener, waiting for the test to answer it. */
class PendingOpen {
  readonly headers: Headers;
  #resolve!: (stream: OpenedStream) => void;
  #reject!: (error: unknown) => void;
  readonly promise = new Promise<OpenedStream>((resolve, reject) => {
    this.#resolve = resolve;
    this.#reject = reject;
  });

  constructor(
    readonly url: URL,
    readonly init: RequestInit,
    readonly signal: AbortSignal,
  ) {
    this.headers = new Headers(init.headers);
  }

  /** Answers with a response head; a 200 `text/event-stream` one by default. */
  answer(head: Head = {}): FakeStream {
    const headers = { ...(head.contentType === '' ? {} : { 'content-type': head.contentType ?? 'text/event-stream' }), ...head.headers };
    const stream = new FakeStream(head.status ?? 200, head.statusText ?? 'OK', headers);
    this.#resolve(stream);
    return stream;
  }

  /** The request failed before a head (connection refused, reset). */
  fail(error: unknown): void {
    this.#reject(error);
  }
}

/** A {@link StreamOpener} whose calls the test answers by hand. It ignores `signal` unless told to honour it. */
class FakeOpener {
  readonly calls: PendingOpen[] = [];
  constructor(private readonly honourSignal = false) {}

  readonly open: StreamOpener = (url, init, signal) => {
    const call = new PendingOpen(url, init, signal);
    this.calls.push(call);
    if (this.honourSignal) signal.addEventListener('abort', () => call.fail(signal.reason), { once: true });
    return call.promise;
  };

  /** The latest call. */
  get last(): PendingOpen {
    const call = this.calls.at(-1);
    if (call === undefined) throw new Error('the opener was never called');
    return call;
  }
}

class RecordingReceiver implements EventStreamReceiver {
  readonly messages: string[] = [];
  readonly errors: string[] = [];
  message(data: string): boolean {
    this.messages.push(data);
    return false;
  }
  error(error: Error): void {
    this.errors.push(error.message);
  }
}

/** Lets queued deliveries (one per event-loop turn) and promise chains run: bounded, no timers. */
async function turns(count = 10): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

const URL_ = new URL('http://upstream.test/mcp');
const INIT: RequestInit = { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-session-id': 'sess-1' } };

function setup(options: { reconnection?: EventStreamReconnection; honourSignal?: boolean } = {}) {
  const clock = new ManualClock();
  const opener = new FakeOpener(options.honourSignal);
  const receiver = new RecordingReceiver();
  const stream = new EventStream({
    open: opener.open,
    url: URL_,
    init: INIT,
    receiver,
    clock,
    ...(options.reconnection === undefined ? {} : { reconnection: options.reconnection }),
  });
  return { clock, opener, receiver, stream };
}

/** Starts the stream and answers the first open with a 200 event stream. */
async function started(options: Parameters<typeof setup>[0] = {}) {
  const ctx = setup(options);
  const head = ctx.stream.start();
  const first = ctx.opener.last.answer();
  await head;
  return { ...ctx, first };
}

describe('EventStream', () => {
  describe('start()', () => {
    it('opens the URL with the given init and resolves with the head of a 200 event stream, which it reads', async () => {
      const { opener, stream, receiver } = setup();
      const head = stream.start();
      expect(opener.calls).toHaveLength(1);
      expect(opener.last.url).toBe(URL_);
      expect(opener.last.headers.get('mcp-session-id')).toBe('sess-1');
      expect(opener.last.headers.has('last-event-id')).toBe(false);
      const body = opener.last.answer({ headers: { 'mcp-session-id': 'sess-1' } });

      const answered = await head;
      expect(answered.status).toBe(200);
      expect(answered.headers.get('content-type')).toBe('text/event-stream');
      expect(body.reads).toBe(1);
      expect(body.closed).toBe(false);

      body.push('data: {"jsonrpc":"2.0","method":"notifications/tools/list_changed"}\n\n');
      await turns();
      expect(receiver.messages).toEqual(['{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}']);
      expect(receiver.errors).toEqual([]);
    });

    it('accepts any 2xx with a text/event-stream media type, parameters and case aside', async () => {
      for (const head of [
        { status: 200, contentType: 'text/event-stream; charset=utf-8' },
        { status: 200, contentType: ' Text/Event-Stream ' },
        { status: 201, contentType: 'text/event-stream' },
      ]) {
        const { opener, stream } = setup();
        const started = stream.start();
        const body = opener.last.answer(head);
        expect((await started).status).toBe(head.status);
        expect(body.reads, JSON.stringify(head)).toBe(1);
        expect(body.closed, JSON.stringify(head)).toBe(false);
      }
    });

    it('closes any other head without reading it and returns it as the server sent it (405, 404, 500, 200 JSON, 200 without type)', async () => {
      for (const head of [
        { status: 405, statusText: 'Method Not Allowed', contentType: 'text/plain' },
        { status: 404, statusText: 'Not Found', contentType: 'application/json' },
        { status: 500, statusText: 'Internal Server Error', contentType: 'text/event-stream' },
        { status: 200, statusText: 'OK', contentType: 'application/json' },
        { status: 200, statusText: 'OK', contentType: '' },
      ]) {
        const { clock, opener, stream, receiver } = setup();
        const started = stream.start();
        const body = opener.last.answer(head);
        const answered = await started;
        expect(answered).toMatchObject({ status: head.status, statusText: head.statusText });
        expect(body.closed, JSON.stringify(head)).toBe(true);
        expect(body.reads, JSON.stringify(head)).toBe(0);
        // Nothing follows: no reconnection, no error (the caller hands the status to the SDK).
        await clock.advance(60_000);
        expect(opener.calls).toHaveLength(1);
        expect(receiver.errors).toEqual([]);
        expect(clock.pendingTimers).toBe(0);
      }
    });

    it('rejects when the request fails, and schedules nothing', async () => {
      const { clock, opener, stream, receiver } = setup();
      const started = stream.start();
      opener.last.fail(new Error('connect ECONNREFUSED'));
      await expect(started).rejects.toThrow('connect ECONNREFUSED');
      expect(clock.pendingTimers).toBe(0);
      expect(receiver.errors).toEqual([]);
    });
  });

  describe('delivery', () => {
    it('delivers the data of each message event, in order, however the body is chunked', async () => {
      const { first, receiver } = await started();
      first.push('data: {"n":1}\n\nda');
      first.push('ta: {"n":2}\n');
      await turns();
      expect(receiver.messages).toEqual(['{"n":1}']);
      first.push('\nevent: message\ndata: {"n":3}\n\n');
      await turns();
      expect(receiver.messages).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    });

    it('delivers messages sent in one chunk one by one, all of them', async () => {
      const { first, receiver } = await started();
      first.push('data: a\n\ndata: b\n\ndata: c\n\n');
      await turns();
      expect(receiver.messages).toEqual(['a', 'b', 'c']);
    });

    it('ignores event types other than message, comments and events without data', async () => {
      const { first, receiver } = await started();
      first.push('event: ping\ndata: no\n\n: comment\n\nid: 1\n\ndata:\n\nevent: endpoint\ndata: /x\n\ndata: yes\n\n');
      await turns();
      expect(receiver.messages).toEqual(['yes']);
      expect(receiver.errors).toEqual([]);
    });
  });

  describe('reconnection', () => {
    it('after the server ends the stream, reconnects after 1 s without reporting an error, and reads the new stream', async () => {
      const { clock, opener, first, receiver } = await started();
      first.end();
      await clock.advance(999);
      expect(opener.calls).toHaveLength(1);
      await clock.advance(1);
      expect(opener.calls).toHaveLength(2);
      expect(opener.last.url).toBe(URL_);
      expect(opener.last.headers.get('mcp-session-id')).toBe('sess-1');

      const second = opener.last.answer();
      await turns();
      expect(second.reads).toBe(1);
      second.push('data: again\n\n');
      await turns();
      expect(receiver.messages).toEqual(['again']);
      expect(receiver.errors).toEqual([]);
    });

    it('after the connection breaks, reports the error and reconnects after 1 s', async () => {
      const { clock, opener, first, receiver } = await started();
      first.end(new Error('socket hang up'));
      expect(receiver.errors).toEqual(['SSE stream disconnected: socket hang up']);
      await clock.advance(1_000);
      expect(opener.calls).toHaveLength(2);
    });

    it('does not carry an unfinished event of the old stream into the new one', async () => {
      const { clock, opener, first, receiver } = await started();
      first.push('data: partial\n');
      first.end();
      await clock.advance(1_000);
      const second = opener.last.answer();
      await turns();
      second.push('data: whole\n\n');
      await turns();
      expect(receiver.messages).toEqual(['whole']);
    });

    it('backs off 1 s then 1.5 s for failed attempts, and gives up after 2 failed attempts in a row with an error', async () => {
      const { clock, opener, first, receiver } = await started();
      first.end();
      await clock.advance(1_000);
      expect(opener.calls).toHaveLength(2);
      opener.last.fail(new Error('connect ECONNREFUSED'));
      await turns();
      expect(receiver.errors).toEqual(['Failed to reconnect SSE stream: connect ECONNREFUSED']);

      await clock.advance(1_499);
      expect(opener.calls).toHaveLength(2);
      await clock.advance(1);
      expect(opener.calls).toHaveLength(3);
      opener.last.answer({ status: 503, statusText: 'Service Unavailable', contentType: 'text/plain' });
      await turns();

      expect(receiver.errors).toEqual([
        'Failed to reconnect SSE stream: connect ECONNREFUSED',
        'Failed to reconnect SSE stream: HTTP 503 Service Unavailable',
        'Maximum reconnection attempts (2) exceeded.',
      ]);
      expect(clock.pendingTimers).toBe(0);
      await clock.advance(120_000);
      expect(opener.calls).toHaveLength(3);
    });

    it('counts a non-stream answer (404, 200 JSON) as a failed attempt, and closes it', async () => {
      const { clock, opener, first, receiver } = await started();
      first.end();
      await clock.advance(1_000);
      const gone = opener.last.answer({ status: 404, statusText: 'Not Found', contentType: 'application/json' });
      await turns();
      expect(gone.closed).toBe(true);
      expect(gone.reads).toBe(0);
      await clock.advance(1_500);
      const json = opener.last.answer({ status: 200, statusText: 'OK', contentType: 'application/json' });
      await turns();
      expect(json.closed).toBe(true);
      expect(receiver.errors).toEqual([
        'Failed to reconnect SSE stream: HTTP 404 Not Found',
        'Failed to reconnect SSE stream: HTTP 200 OK',
        'Maximum reconnection attempts (2) exceeded.',
      ]);
    });

    it('resets the attempt counter after a successful reconnection', async () => {
      const { clock, opener, first, receiver } = await started();
      first.end();
      await clock.advance(1_000);
      opener.last.fail(new Error('refused'));
      await clock.advance(1_500);
      const revived = opener.last.answer(); // the 2nd attempt succeeds
      await turns();
      expect(opener.calls).toHaveLength(3);

      revived.end();
      // The delay starts over at 1 s (not 2.25 s) and two more failures are allowed.
      await clock.advance(1_000);
      expect(opener.calls).toHaveLength(4);
      opener.last.fail(new Error('refused'));
      await clock.advance(1_500);
      expect(opener.calls).toHaveLength(5);
      expect(receiver.errors).not.toContain('Maximum reconnection attempts (2) exceeded.');
      opener.last.fail(new Error('refused'));
      await turns();
      expect(receiver.errors.at(-1)).toBe('Maximum reconnection attempts (2) exceeded.');
    });

    it('uses the server’s retry instead of the backoff, for every attempt', async () => {
      const { clock, opener, first } = await started();
      first.push('retry: 5000\n\n');
      first.end();
      await clock.advance(4_999);
      expect(opener.calls).toHaveLength(1);
      await clock.advance(1);
      expect(opener.calls).toHaveLength(2);
      opener.last.fail(new Error('refused'));
      // No growth: 5 s again.
      await clock.advance(4_999);
      expect(opener.calls).toHaveLength(2);
      await clock.advance(1);
      expect(opener.calls).toHaveLength(3);
    });

    it('keeps the server’s retry across reconnections, and a retry of 0 reconnects at once', async () => {
      const { clock, opener, first } = await started();
      first.push('retry: 0\n\n');
      first.end();
      await clock.advance(0);
      expect(opener.calls).toHaveLength(2);
      const second = opener.last.answer();
      await turns();
      second.end();
      await clock.advance(0);
      expect(opener.calls).toHaveLength(3);
    });

    it('follows a custom reconnection policy, capping the delay at maxDelayMs', async () => {
      const reconnection = { initialDelayMs: 100, maxDelayMs: 250, growFactor: 3, maxRetries: 4 };
      const { clock, opener, first, receiver } = await started({ reconnection });
      first.end();
      const at: number[] = [];
      for (let attempt = 0; attempt < 4; attempt++) {
        const before = opener.calls.length;
        await clock.advanceTo(clock.nextTimerAt ?? clock.now());
        expect(opener.calls).toHaveLength(before + 1);
        at.push(clock.now());
        opener.last.fail(new Error('refused'));
        await turns();
      }
      expect(at).toEqual([100, 100 + 250, 100 + 250 + 250, 100 + 250 + 250 + 250]);
      expect(receiver.errors.at(-1)).toBe('Maximum reconnection attempts (4) exceeded.');
      expect(clock.pendingTimers).toBe(0);
    });

    it('sends no last-event-id when no event carried an id', async () => {
      const { clock, opener, first } = await started();
      first.push('data: x\n\n');
      first.end();
      await clock.advance(1_000);
      expect(opener.last.headers.has('last-event-id')).toBe(false);
    });

    it('sends the last event id seen (a data-less priming event counts) on reconnection, keeping the other headers', async () => {
      const { clock, opener, first } = await started();
      first.push('id: 7\ndata: x\n\nid: 8\n\n');
      first.end();
      await clock.advance(1_000);
      expect(opener.last.headers.get('last-event-id')).toBe('8');
      expect(opener.last.headers.get('mcp-session-id')).toBe('sess-1');
      expect(opener.last.headers.get('accept')).toBe('text/event-stream');
      expect(new Headers(INIT.headers).has('last-event-id')).toBe(false); // the caller's init is not mutated

      // Still the latest one after a failed attempt, and ids of the new stream take over.
      opener.last.fail(new Error('refused'));
      await clock.advance(1_500);
      expect(opener.last.headers.get('last-event-id')).toBe('8');
      const third = opener.last.answer();
      await turns();
      third.push('id: 9\ndata: y\n\n');
      third.end();
      await clock.advance(1_000);
      expect(opener.last.headers.get('last-event-id')).toBe('9');
    });

    it('sends no last-event-id once the server reset the id with an empty `id:`', async () => {
      const { clock, opener, first } = await started();
      first.push('id: 7\ndata: x\n\nid:\ndata: y\n\n');
      first.end();
      await clock.advance(1_000);
      expect(opener.last.headers.has('last-event-id')).toBe(false);
    });

    it('ends quietly when a reconnection is answered 405 (the server no longer offers a stream)', async () => {
      const { clock, opener, first, receiver } = await started();
      first.end();
      await clock.advance(1_000);
      const refused = opener.last.answer({ status: 405, statusText: 'Method Not Allowed', contentType: 'text/plain' });
      await turns();
      expect(refused.closed).toBe(true);
      expect(receiver.errors).toEqual([]);
      expect(clock.pendingTimers).toBe(0);
      await clock.advance(120_000);
      expect(opener.calls).toHaveLength(2);
    });
  });

  describe('stop()', () => {
    it('closes the stream being read; nothing is delivered, reported or reopened after it', async () => {
      const { clock, opener, first, receiver, stream } = await started();
      first.push('data: before\n\n');
      await turns();
      stream.stop();
      expect(first.closed).toBe(true);

      first.push('data: after\n\n');
      first.end(new Error('reset after stop'));
      await clock.advance(120_000);
      expect(receiver.messages).toEqual(['before']);
      expect(receiver.errors).toEqual([]);
      expect(opener.calls).toHaveLength(1);
      expect(clock.pendingTimers).toBe(0);
    });

    it('drops messages decoded but not yet delivered when it stops', async () => {
      const { first, receiver, stream } = await started();
      first.push('data: 1\n\ndata: 2\n\ndata: 3\n\n');
      const delivered = [...receiver.messages];
      stream.stop();
      await turns();
      expect(receiver.messages).toEqual(delivered);
    });

    it('during the initial open: aborts the open’s signal, and closes the stream if it still arrives, unread', async () => {
      const { clock, opener, receiver, stream } = setup();
      const head = stream.start();
      const call = opener.last;
      expect(call.signal.aborted).toBe(false);
      stream.stop();
      expect(call.signal.aborted).toBe(true);
      expect((call.signal.reason as Error).message).toBe('The event stream was stopped');

      const body = call.answer(); // an opener that ignored the signal
      await head;
      expect(body.closed).toBe(true);
      expect(body.reads).toBe(0);
      body.push('data: late\n\n');
      await clock.advance(60_000);
      expect(receiver.messages).toEqual([]);
      expect(opener.calls).toHaveLength(1);
    });

    it('during the initial open, with an opener that honours the signal: start() rejects with the stop reason', async () => {
      const { stream } = setup({ honourSignal: true });
      const head = stream.start();
      stream.stop();
      await expect(head).rejects.toThrow('The event stream was stopped');
    });

    it('during a reconnection delay: cancels the timer, so no reconnection ever happens', async () => {
      const { clock, opener, first, stream } = await started();
      first.end();
      expect(clock.pendingTimers).toBe(1);
      stream.stop();
      expect(clock.pendingTimers).toBe(0);
      await clock.advance(120_000);
      expect(opener.calls).toHaveLength(1);
    });

    it('during a reconnection’s open: aborts it, closes the late stream unread, and reports nothing', async () => {
      const { clock, opener, first, receiver, stream } = await started();
      first.end();
      await clock.advance(1_000);
      const call = opener.last;
      stream.stop();
      expect(call.signal.aborted).toBe(true);
      const late = call.answer();
      await turns();
      expect(late.closed).toBe(true);
      expect(late.reads).toBe(0);
      await clock.advance(120_000);
      expect(opener.calls).toHaveLength(2);
      expect(receiver.errors).toEqual([]);
    });

    it('during a reconnection’s open that then fails: reports nothing and schedules nothing', async () => {
      const { clock, opener, first, receiver, stream } = await started({ honourSignal: true });
      first.end();
      await clock.advance(1_000);
      stream.stop();
      await turns();
      expect(receiver.errors).toEqual([]);
      expect(clock.pendingTimers).toBe(0);
      expect(opener.calls).toHaveLength(2);
    });

    it('is idempotent', async () => {
      const { first, stream, clock } = await started();
      stream.stop();
      stream.stop();
      expect(first.closed).toBe(true);
      expect(clock.pendingTimers).toBe(0);
    });
  });
});
