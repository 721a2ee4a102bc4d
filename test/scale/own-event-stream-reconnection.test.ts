// EventStream reconnection: after the server ends the stream or it breaks, with backoff, retry and Last-Event-ID.
import { describe, expect, it } from 'vitest';
import { turns, URL_, INIT, started } from './fixtures/event-stream-fakes.js';

describe('EventStream', () => {
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
});
