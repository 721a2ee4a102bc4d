// The two stream openers against a real node:http server on 127.0.0.1.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { fetchStreamOpener, nodeHttpStreamOpener, type OpenedStream, type StreamOpener } from '../../src/mcp/stream-openers.js';
import { ManualClock } from '../../src/testing/index.js';

/** Polls `predicate` every few ms; rejects after `ms` (a hard bound, the only real waiting in this file). */
async function waitFor(predicate: () => boolean, what: string, ms = 1_500): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  }
}

/** A few event-loop turns, for "nothing more happens" checks after an observed fact. */
async function turns(count = 10): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** One request the server received, and whether its connection has closed. */
interface Seen {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  closed: boolean;
}

let server: Server;
let url: URL;
const seen: Seen[] = [];
/** What the server does with each request; set per test (default: hold it, answer nothing). */
let handle: (req: IncomingMessage, res: ServerResponse) => void;

beforeEach(async () => {
  seen.length = 0;
  handle = () => undefined;
  server = createServer((req, res) => {
    const entry: Seen = { req, res, closed: false };
    seen.push(entry);
    res.once('close', () => {
      entry.closed = true;
    });
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Starts an event stream answer: 200, text/event-stream, headers flushed, body left open. */
function streamHead(res: ServerResponse, extra: Record<string, string | string[]> = {}): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...extra });
  res.flushHeaders();
}

/** Reads an opened stream, recording its text and how it ended. */
function reading(stream: OpenedStream): { text: string[]; ends: unknown[]; ended: () => boolean } {
  const text: string[] = [];
  const ends: unknown[] = [];
  stream.read(
    (chunk) => text.push(chunk),
    (error) => ends.push(error),
  );
  return { text, ends, ended: () => ends.length > 0 };
}

const HEADERS = { accept: 'text/event-stream', 'mcp-session-id': 'sess-1', 'mcp-protocol-version': '2025-06-18', 'last-event-id': '41' };

/** What both openers must do the same way. */
function sharedBehaviour(name: string, make: () => StreamOpener): void {
  describe(`${name}: shared behaviour`, () => {
    it('sends a GET to the URL with the given headers (ignoring a method in the init) and returns the head', async () => {
      handle = (_req, res) => streamHead(res, { 'mcp-session-id': 'sess-1', 'x-many': ['a', 'b'] });
      const stream = await make()(url, { method: 'POST', headers: new Headers(HEADERS) }, new AbortController().signal);
      try {
        const req = seen[0]!.req;
        expect(req.method).toBe('GET');
        expect(req.url).toBe('/mcp');
        for (const [header, value] of Object.entries(HEADERS)) expect(req.headers[header], header).toBe(value);
        expect(stream.status).toBe(200);
        expect(stream.statusText).toBe('OK');
        expect(stream.headers.get('content-type')).toBe('text/event-stream');
        expect(stream.headers.get('mcp-session-id')).toBe('sess-1');
        expect(stream.headers.get('x-many')).toBe('a, b');
      } finally {
        stream.close();
      }
    });

    it('accepts headers given as a record', async () => {
      handle = (_req, res) => streamHead(res);
      const stream = await make()(url, { headers: { 'mcp-session-id': 'rec' } }, new AbortController().signal);
      stream.close();
      expect(seen[0]!.req.headers['mcp-session-id']).toBe('rec');
    });

    it('returns a non-2xx head as it is', async () => {
      handle = (_req, res) => res.writeHead(405, 'Method Not Allowed', { 'content-type': 'text/plain' }).end('no');
      const stream = await make()(url, { headers: HEADERS }, new AbortController().signal);
      expect(stream.status).toBe(405);
      expect(stream.statusText).toBe('Method Not Allowed');
      expect(stream.headers.get('content-type')).toBe('text/plain');
      stream.close();
    });

    it('delivers the body as text and decodes a UTF-8 character split across two writes', async () => {
      handle = (_req, res) => streamHead(res);
      const stream = await make()(url, { headers: HEADERS }, new AbortController().signal);
      const body = reading(stream);
      const res = seen[0]!.res;
      const euro = Buffer.from('€', 'utf8'); // 3 bytes
      res.write(Buffer.concat([Buffer.from('data: caf'), euro.subarray(0, 1)]));
      await waitFor(() => body.text.join('').includes('caf'), 'the first half');
      res.write(Buffer.concat([euro.subarray(1), Buffer.from(' é\n\n')]));
      await waitFor(() => body.text.join('').endsWith('\n\n'), 'the second half');
      expect(body.text.join('')).toBe('data: caf€ é\n\n');
      expect(body.text.join('')).not.toContain('\uFFFD');
      expect(body.ends).toEqual([]);
      stream.close();
    });

    it('calls end() once, without an error, when the server ends the body', async () => {
      handle = (_req, res) => streamHead(res);
      const stream = await make()(url, { headers: HEADERS }, new AbortController().signal);
      const body = reading(stream);
      seen[0]!.res.end('data: last\n\n');
      await waitFor(body.ended, 'end()');
      await turns();
      expect(body.text.join('')).toBe('data: last\n\n');
      expect(body.ends).toEqual([undefined]);
    });

    it.each([
      ['destroys the connection', (socket: Socket) => void socket.destroy()],
      ['resets the connection (TCP RST)', (socket: Socket) => void socket.resetAndDestroy()],
    ])('calls end() once with an error when the server %s mid-stream', async (_how, drop) => {
      handle = (_req, res) => streamHead(res);
      const stream = await make()(url, { headers: HEADERS }, new AbortController().signal);
      const body = reading(stream);
      const res = seen[0]!.res;
      res.write('data: partial\n');
      await waitFor(() => body.text.length > 0, 'the first bytes');
      drop(res.socket!);
      await waitFor(body.ended, 'end(error)');
      await turns();
      expect(body.ends).toHaveLength(1);
      expect(body.ends[0]).toBeInstanceOf(Error);
    });

    it('close(): the server sees the connection closed, and end() is never called', async () => {
      handle = (_req, res) => streamHead(res);
      const stream = await make()(url, { headers: HEADERS }, new AbortController().signal);
      const body = reading(stream);
      seen[0]!.res.write('data: x\n\n');
      await waitFor(() => body.text.length > 0, 'the first event');
      stream.close();
      stream.close(); // idempotent
      await waitFor(() => seen[0]!.closed, 'the server to see the connection closed');
      await turns();
      expect(body.ends).toEqual([]);
    });

    it('close() of a head that was never read closes the connection too', async () => {
      handle = (_req, res) => streamHead(res);
      const stream = await make()(url, { headers: HEADERS }, new AbortController().signal);
      stream.close();
      await waitFor(() => seen[0]!.closed, 'the server to see the connection closed');
    });

    it('a signal aborted before the head drops the request and rejects with its reason', async () => {
      const controller = new AbortController();
      const opening = make()(url, { headers: HEADERS }, controller.signal);
      await waitFor(() => seen.length === 1, 'the request to arrive');
      const reason = new Error('stopped by the test');
      controller.abort(reason);
      await expect(opening).rejects.toBe(reason);
      await waitFor(() => seen[0]!.closed, 'the server to see the request closed');
    });

    it('an already aborted signal rejects with its reason and sends nothing', async () => {
      const reason = new Error('already stopped');
      await expect(make()(url, { headers: HEADERS }, AbortSignal.abort(reason))).rejects.toBe(reason);
      await turns();
      expect(seen).toEqual([]);
    });

    it('aborting the signal after the head changes nothing: the stream keeps flowing', async () => {
      handle = (_req, res) => streamHead(res);
      const controller = new AbortController();
      const stream = await make()(url, { headers: HEADERS }, controller.signal);
      const body = reading(stream);
      controller.abort(new Error('too late'));
      seen[0]!.res.write('data: still here\n\n');
      await waitFor(() => body.text.join('').includes('still here'), 'text after the abort');
      expect(body.ends).toEqual([]);
      expect(seen[0]!.closed).toBe(false);
      stream.close();
    });

    it('rejects when nothing listens on the port', async () => {
      const dead = new URL(url);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await expect(make()(dead, { headers: HEADERS }, new AbortController().signal)).rejects.toBeInstanceOf(Error);
      // afterEach closes again: listen once more so that close() has something to close.
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
  });
}

sharedBehaviour('nodeHttpStreamOpener', () => nodeHttpStreamOpener(systemClock));
sharedBehaviour('fetchStreamOpener', () => fetchStreamOpener((input, init) => globalThis.fetch(input, init)));

describe('nodeHttpStreamOpener', () => {
  it('rejects when no head arrives within 30 s (clock time), and the server sees the request closed', async () => {
    const clock = new ManualClock();
    const opening = nodeHttpStreamOpener(clock)(url, { headers: HEADERS }, new AbortController().signal);
    const outcome = opening.then(
      () => 'resolved',
      (error: unknown) => (error as Error).message,
    );
    await waitFor(() => seen.length === 1, 'the request to arrive');
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(29_999);
    expect(seen[0]!.closed).toBe(false);
    await clock.advance(1);
    expect(await outcome).toBe('The event stream did not answer in time');
    await waitFor(() => seen[0]!.closed, 'the server to see the request closed');
  });

  it('clears the head timer once the head arrives', async () => {
    const clock = new ManualClock();
    handle = (_req, res) => streamHead(res);
    const stream = await nodeHttpStreamOpener(clock)(url, { headers: HEADERS }, new AbortController().signal);
    expect(clock.pendingTimers).toBe(0);
    const body = reading(stream);
    await clock.advance(60_000);
    expect(body.ends).toEqual([]);
    expect(seen[0]!.closed).toBe(false);
    stream.close();
  });

  it('clears the head timer when the signal aborts', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const opening = nodeHttpStreamOpener(clock)(url, { headers: HEADERS }, controller.signal);
    await waitFor(() => seen.length === 1, 'the request to arrive');
    controller.abort(new Error('stop'));
    await expect(opening).rejects.toThrow('stop');
    expect(clock.pendingTimers).toBe(0);
  });

  it('uses a connection of its own for every stream (no keep-alive pooling)', async () => {
    handle = (_req, res) => streamHead(res);
    const open = nodeHttpStreamOpener(systemClock);
    const first = await open(url, { headers: HEADERS }, new AbortController().signal);
    first.close();
    await waitFor(() => seen[0]!.closed, 'the first stream to close');
    const second = await open(url, { headers: HEADERS }, new AbortController().signal);
    expect(seen[1]!.req.socket).not.toBe(seen[0]!.req.socket);
    expect(seen[1]!.req.headers.connection).not.toBe('keep-alive');
    second.close();
  });
});

describe('fetchStreamOpener', () => {
  it('calls the given fetch with GET, the headers, a signal of its own and the dispatcher when one is given', async () => {
    handle = (_req, res) => streamHead(res);
    const calls: RequestInit[] = [];
    const dispatcher = { kind: 'test dispatcher' };
    const spy = (input: string | URL, init?: RequestInit): Promise<Response> => {
      calls.push(init ?? {});
      const { dispatcher: _dropped, ...rest } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
      return globalThis.fetch(input, rest);
    };
    const signal = new AbortController().signal;
    const stream = await fetchStreamOpener(spy, dispatcher)(url, { method: 'POST', headers: HEADERS }, signal);
    stream.close();
    expect(calls).toHaveLength(1);
    const init = calls[0] as RequestInit & { dispatcher?: unknown };
    expect(init.method).toBe('GET');
    expect(new Headers(init.headers).get('mcp-session-id')).toBe('sess-1');
    expect(init.signal).toBeInstanceOf(AbortSignal);
    expect(init.signal).not.toBe(signal);
    expect(init.dispatcher).toBe(dispatcher);
  });

  it('passes no dispatcher when none is given', async () => {
    handle = (_req, res) => streamHead(res);
    let init: (RequestInit & { dispatcher?: unknown }) | undefined;
    const spy = (input: string | URL, given?: RequestInit): Promise<Response> => {
      init = given;
      return globalThis.fetch(input, given);
    };
    const stream = await fetchStreamOpener(spy)(url, { headers: HEADERS }, new AbortController().signal);
    stream.close();
    expect(init).toBeDefined();
    expect('dispatcher' in init!).toBe(false);
  });

  it('ends at once, without an error, for a response without a body', async () => {
    const fake = (): Promise<Response> => Promise.resolve(new Response(null, { status: 204, headers: { 'content-type': 'text/event-stream' } }));
    const stream = await fetchStreamOpener(fake)(url, { headers: HEADERS }, new AbortController().signal);
    const body = reading(stream);
    expect(body.ends).toEqual([undefined]);
  });

  it('decodes a character split across three body chunks, and hands over no empty chunk', async () => {
    const bytes = Buffer.from('data: ok €\n\n'); // € is the 3 bytes before the last 2
    const fake = (): Promise<Response> =>
      Promise.resolve(
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new Uint8Array(bytes.subarray(0, bytes.length - 4)));
              controller.enqueue(new Uint8Array(bytes.subarray(bytes.length - 4, bytes.length - 3)));
              controller.enqueue(new Uint8Array(bytes.subarray(bytes.length - 3)));
              controller.close();
            },
          }),
          { headers: { 'content-type': 'text/event-stream' } },
        ),
      );
    const stream = await fetchStreamOpener(fake)(url, { headers: HEADERS }, new AbortController().signal);
    const body = reading(stream);
    await waitFor(body.ended, 'end()');
    expect(body.text.join('')).toBe('data: ok €\n\n');
    expect(body.text).not.toContain('');
    expect(body.ends).toEqual([undefined]);
  });
});
