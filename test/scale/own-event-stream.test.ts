// EventStream: the standalone GET event stream read by the library, driven by a fake opener and a ManualClock.
import { describe, expect, it } from 'vitest';
import { turns, URL_, setup, started } from './fixtures/event-stream-fakes.js';

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
