// SseDecoder: the WHATWG `text/event-stream` processing model, fed text chunks of any size.
import { describe, expect, it } from 'vitest';
import { SseDecoder, type SseEvent } from '../../src/mcp/sse-decoder.js';

interface Decoded {
  readonly events: SseEvent[];
  readonly ids: string[];
  readonly retries: number[];
  readonly decoder: SseDecoder;
}

/** Feeds `chunks` one by one and records everything the decoder reports. */
function decode(...chunks: string[]): Decoded {
  const events: SseEvent[] = [];
  const ids: string[] = [];
  const retries: number[] = [];
  const decoder = new SseDecoder({ event: (e) => events.push(e), id: (id) => ids.push(id), retry: (ms) => retries.push(ms) });
  for (const chunk of chunks) decoder.push(chunk);
  return { events, ids, retries, decoder };
}

/** The `data` of each dispatched event. */
function data(...chunks: string[]): string[] {
  return decode(...chunks).events.map((e) => e.data);
}

describe('SseDecoder', () => {
  describe('dispatching', () => {
    it('dispatches an event on a blank line, with the default type and no id', () => {
      expect(decode('data: hello\n\n').events).toEqual([{ event: undefined, data: 'hello', id: undefined }]);
    });

    it('does not dispatch an event until its blank line arrives (an unfinished event is held, not emitted)', () => {
      expect(data('data: a\n')).toEqual([]);
      expect(data('data: a\n', '\n')).toEqual(['a']);
    });

    it('dispatches several events from one chunk, in order', () => {
      expect(data('data: 1\n\ndata: 2\n\ndata: 3\n\n')).toEqual(['1', '2', '3']);
    });

    it('treats extra blank lines between events as nothing', () => {
      expect(data('\n\n\ndata: a\n\n\n\n\ndata: b\n\n\n')).toEqual(['a', 'b']);
    });

    it('does not dispatch an event without data lines (event type and id alone), and the type does not leak into the next event', () => {
      const { events } = decode('event: lonely\n\nid: 3\n\ndata: next\n\n');
      expect(events).toEqual([{ event: undefined, data: 'next', id: '3' }]);
    });
  });

  describe('line endings', () => {
    it('accepts LF, CRLF and CR alike, even mixed in one stream', () => {
      expect(data('data: a\n\n')).toEqual(['a']);
      expect(data('data: a\r\n\r\n')).toEqual(['a']);
      expect(data('data: a\r\r')).toEqual(['a']);
      expect(data('data: a\r\ndata: b\rdata: c\n\r\n')).toEqual(['a\nb\nc']);
    });

    it('counts a CRLF split across two chunks as one line ending', () => {
      expect(data('data: a\r', '\ndata: b\r\n\r', '\n')).toEqual(['a\nb']);
    });

    it('counts a CR at the end of a chunk followed by a non-LF chunk as a line ending', () => {
      expect(data('data: a\r', 'data: b\r', '\r')).toEqual(['a\nb']);
    });

    it('ignores empty chunks, also between the CR and the LF of a CRLF', () => {
      expect(data('', 'data: a\r', '', '\ndata: b\r\n', '', '\r', '', '\n')).toEqual(['a\nb']);
    });

    it('joins a line split across chunks, anywhere in the field name or value', () => {
      expect(data('da', 'ta: hel', 'lo\n', '\n')).toEqual(['hello']);
      expect(data('data', ':', ' x', '\n\n')).toEqual(['x']);
    });
  });

  describe('byte order mark', () => {
    it('drops a BOM at the start of the stream', () => {
      expect(data('\uFEFFdata: x\n\n')).toEqual(['x']);
    });

    it('drops a BOM that arrives alone as the first chunk (after empty chunks)', () => {
      expect(data('', '\uFEFF', 'data: x\n\n')).toEqual(['x']);
    });

    it('keeps a BOM anywhere else: at the start of a later line it makes the field unknown; in a value it is data', () => {
      expect(data('data: a\n', '\uFEFFdata: b\n\n')).toEqual(['a']);
      expect(data('data: \uFEFFb\n\n')).toEqual(['\uFEFFb']);
    });
  });

  describe('fields', () => {
    it('ignores comment lines (a leading colon), including a bare colon', () => {
      expect(data(': keep-alive\n:\ndata: a\n: between\ndata: b\n\n')).toEqual(['a\nb']);
    });

    it('a comment alone dispatches nothing', () => {
      expect(decode(': ping\n\n').events).toEqual([]);
    });

    it('removes exactly one leading space from a value', () => {
      expect(data('data:  two\n\n')).toEqual([' two']);
      expect(data('data:\tx\n\n')).toEqual(['\tx']);
    });

    it('reads `data` without a space after the colon', () => {
      expect(data('data:x\n\n')).toEqual(['x']);
    });

    it('keeps colons after the first one in the value', () => {
      expect(data('data: {"a":"b:c"}\n\n')).toEqual(['{"a":"b:c"}']);
    });

    it('treats a field without a colon as that field with an empty value', () => {
      expect(decode('data\n\n').events).toEqual([{ event: undefined, data: '', id: undefined }]);
      expect(decode('event\ndata: x\n\n').events).toEqual([{ event: undefined, data: 'x', id: undefined }]);
    });

    it('ignores unknown fields, and field names are case-sensitive', () => {
      const decoded = decode('foo: bar\nData: no\nID: 9\nRetry: 5\nEvent: e\ndata: yes\n\n');
      expect(decoded.events).toEqual([{ event: undefined, data: 'yes', id: undefined }]);
      expect(decoded.ids).toEqual([]);
      expect(decoded.retries).toEqual([]);
    });

    it('ignores an unknown field alone (no event)', () => {
      expect(decode('foo: bar\n\n').events).toEqual([]);
    });
  });

  describe('data', () => {
    it('joins multiple data lines with LF', () => {
      expect(data('data: line one\ndata: line two\ndata: three\n\n')).toEqual(['line one\nline two\nthree']);
    });

    it('an empty data line dispatches an event with empty data', () => {
      expect(data('data:\n\n')).toEqual(['']);
      expect(data('data: \n\n')).toEqual(['']);
    });

    it('empty data lines count as lines when joining', () => {
      expect(data('data: a\ndata:\n\n')).toEqual(['a\n']);
      expect(data('data:\ndata:\n\n')).toEqual(['\n']);
      expect(data('data:\ndata: b\n\n')).toEqual(['\nb']);
    });

    it('keeps non-ASCII text (including surrogate pairs split across chunks) as it is', () => {
      expect(data('data: héllo 😀\n\n')).toEqual(['héllo 😀']);
      const emoji = 'data: 😀\n\n';
      const cut = emoji.indexOf('😀') + 1; // between the two UTF-16 halves
      expect(data(emoji.slice(0, cut), emoji.slice(cut))).toEqual(['😀']);
    });
  });

  describe('event type', () => {
    it('sets the type of the event being built; the last `event` line wins', () => {
      expect(decode('event: ping\ndata: x\n\n').events[0]?.event).toBe('ping');
      expect(decode('event: a\nevent: b\ndata: x\n\n').events[0]?.event).toBe('b');
      expect(decode('event: message\ndata: x\n\n').events[0]?.event).toBe('message');
    });

    it('an empty type is the default type (undefined)', () => {
      expect(decode('event:\ndata: x\n\n').events[0]?.event).toBeUndefined();
    });

    it('resets after each dispatch', () => {
      expect(decode('event: first\ndata: 1\n\ndata: 2\n\n').events.map((e) => e.event)).toEqual(['first', undefined]);
    });
  });

  describe('id', () => {
    it('persists across events until the server sets another one', () => {
      const { events, decoder } = decode('id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n');
      expect(events.map((e) => e.id)).toEqual(['1', '1', '2']);
      expect(decoder.lastEventId).toBe('2');
    });

    it('is reported through `id` as soon as the field is read, also for an event without data', () => {
      const { events, ids, decoder } = decode('id: prime\n\n', 'id: 42\nevent: x\n\n');
      expect(ids).toEqual(['prime', '42']);
      expect(decoder.lastEventId).toBe('42');
      expect(events).toEqual([]);
    });

    it('an empty id resets the last event id to the empty string', () => {
      const { events, ids, decoder } = decode('id: 1\ndata: a\n\nid:\ndata: b\n\n');
      expect(events.map((e) => e.id)).toEqual(['1', '']);
      expect(ids).toEqual(['1', '']);
      expect(decoder.lastEventId).toBe('');
    });

    it('ignores an id containing NUL (neither reported nor remembered)', () => {
      const { events, ids, decoder } = decode('id: 1\ndata: a\n\nid: 2\u0000x\ndata: b\n\n');
      expect(events.map((e) => e.id)).toEqual(['1', '1']);
      expect(ids).toEqual(['1']);
      expect(decoder.lastEventId).toBe('1');
    });

    it('is undefined before any id was seen', () => {
      expect(new SseDecoder({ event: () => undefined }).lastEventId).toBeUndefined();
    });
  });

  describe('retry', () => {
    it('reports a value of ASCII digits as milliseconds, without dispatching anything', () => {
      const { retries, events } = decode('retry: 2500\n\nretry: 0\nretry:0099\n\n');
      expect(retries).toEqual([2500, 0, 99]);
      expect(events).toEqual([]);
    });

    it('ignores a value that is not only digits', () => {
      const lines = ['retry: 1.5', 'retry: -1', 'retry: 10a', 'retry: +5', 'retry:', 'retry', 'retry:  100', 'retry: 1e3', 'retry: ١٢'];
      expect(decode(lines.join('\n') + '\n\n').retries).toEqual([]);
    });

    it('is optional: a decoder without `retry` and `id` handlers still decodes', () => {
      const events: SseEvent[] = [];
      const decoder = new SseDecoder({ event: (e) => events.push(e) });
      decoder.push('retry: 10\nid: 1\ndata: x\n\n');
      expect(events).toEqual([{ event: undefined, data: 'x', id: '1' }]);
    });
  });

  describe('chunking', () => {
    // Every rule above in one stream: BOM, CRLF/CR/LF, comments, multi-line and empty data, types, ids
    // (persisted, NUL-rejected, empty), retries, unknown fields, a field without colon, non-ASCII text.
    const sample = [
      '\uFEFF: comment\r\n',
      'event: greeting\r\n',
      'data: héllo 😀\r\n',
      'id: 1\r\n',
      '\r\n',
      'data: line one\n',
      'data: line two\n',
      'data:no space\n',
      'unknown: field\n',
      '\n',
      'retry: 2500\r',
      'id: 2\u0000\r',
      'data:  two spaces\r',
      '\r',
      'event: only-type\n',
      'id: prime\n',
      '\n',
      'data\n',
      'data:\n',
      '\n',
      'retry: nope\r\n',
      'id:\r\n',
      'event: message\r\n',
      'data: {"jsonrpc":"2.0","method":"notifications/tools/list_changed"}\r\n',
      '\r\n',
      'data: unfinished',
    ].join('');

    const expected = {
      events: [
        { event: 'greeting', data: 'héllo 😀', id: '1' },
        { event: undefined, data: 'line one\nline two\nno space', id: '1' },
        { event: undefined, data: ' two spaces', id: '1' },
        { event: undefined, data: '\n', id: 'prime' },
        { event: 'message', data: '{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}', id: '' },
      ],
      ids: ['1', 'prime', ''],
      retries: [2500],
    };

    function outcome(decoded: Decoded): unknown {
      return { events: decoded.events, ids: decoded.ids, retries: decoded.retries, lastEventId: decoded.decoder.lastEventId };
    }

    const whole = outcome(decode(sample));

    it('decodes the sample stream as expected in one chunk', () => {
      expect(whole).toEqual({ events: expected.events, ids: expected.ids, retries: expected.retries, lastEventId: '' });
    });

    it('gives identical events, ids and retries however the stream is cut in two', () => {
      for (let cut = 0; cut <= sample.length; cut++) {
        expect(outcome(decode(sample.slice(0, cut), sample.slice(cut))), `cut at ${cut}`).toEqual(whole);
      }
    });

    it('gives identical results however the stream is cut in three', () => {
      for (let a = 0; a <= sample.length; a++) {
        for (let b = a; b <= sample.length; b++) {
          const got = outcome(decode(sample.slice(0, a), sample.slice(a, b), sample.slice(b)));
          // One expect per pair would be slow; compare first, report the failing cut.
          if (JSON.stringify(got) !== JSON.stringify(whole)) expect(got, `cuts at ${a} and ${b}`).toEqual(whole);
        }
      }
    });

    it('gives identical results fed one UTF-16 unit at a time', () => {
      expect(outcome(decode(...sample.split('')))).toEqual(whole);
    });

    it('gives identical results for pseudo-random chunk sizes (seeded), empty chunks included', () => {
      let seed = 20240611;
      const random = (): number => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      for (let run = 0; run < 500; run++) {
        const chunks: string[] = [];
        for (let at = 0; at < sample.length; ) {
          const size = Math.floor(random() * 8);
          chunks.push(sample.slice(at, at + size));
          at += size;
        }
        expect(outcome(decode(...chunks)), `run ${run}: ${JSON.stringify(chunks)}`).toEqual(whole);
      }
    });
  });
});
