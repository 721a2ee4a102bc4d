// A call's event-stream response is read by the library: messages in order, a 202 to the SDK, resumption of a
// broken resumable stream.
import { describe, expect, it } from 'vitest';
import { takeOverPostStream } from '../../src/mcp/post-stream.js';
import { ManualClock } from '../../src/testing/index.js';

function sseResponse(): { response: Response; send: (text: string) => void; end: () => void; fail: (error: Error) => void } {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const encoder = new TextEncoder();
  return {
    response: new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream', 'mcp-session-id': 's-1' } }),
    send: (text) => controller.enqueue(encoder.encode(text)),
    end: () => controller.close(),
    fail: (error) => controller.error(error),
  };
}

function recorder() {
  const messages: string[] = [];
  const errors: string[] = [];
  const resumed: string[] = [];
  return {
    messages,
    errors,
    resumed,
    receiver: {
      message: (data: string) => {
        messages.push(data);
        return data.includes('"result"');
      },
      error: (error: Error) => void errors.push(error.message),
      resume: (id: string) => void resumed.push(id),
    },
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await turn();
}

describe("a call's event-stream response", () => {
  it('answers the SDK with a bodiless 202 that keeps the headers', () => {
    const stream = sseResponse();
    const answer = takeOverPostStream(stream.response, recorder().receiver, new ManualClock());
    expect(answer.status).toBe(202);
    expect(answer.body).toBeNull();
    expect(answer.headers.get('mcp-session-id')).toBe('s-1');
  });

  it('delivers every message event in order, one per turn, and skips events without data and other types', async () => {
    const stream = sseResponse();
    const seen = recorder();
    takeOverPostStream(stream.response, seen.receiver, new ManualClock());
    stream.send('id: 1\ndata: \n\nevent: other\ndata: x\n\ndata: {"method":"progress"}\n\ndata: {"result":{}}\n\n');
    stream.end();
    await turns(5);
    expect(seen.messages).toEqual(['{"method":"progress"}', '{"result":{}}']);
    expect(seen.errors).toEqual([]);
    expect(seen.resumed).toEqual([]);
  });

  it('resumes a broken stream from the last event id after the server’s retry when no response came', async () => {
    const clock = new ManualClock();
    const stream = sseResponse();
    const seen = recorder();
    takeOverPostStream(stream.response, seen.receiver, clock);
    stream.send('retry: 250\nid: e-7\ndata: {"method":"progress"}\n\n');
    await turns(3);
    stream.fail(new Error('socket hang up'));
    await turns(3);
    expect(seen.errors).toEqual(['SSE stream disconnected: socket hang up']);
    expect(seen.resumed).toEqual([]);
    await clock.advance(250);
    expect(seen.resumed).toEqual(['e-7']);
  });

  it('does not resume once the response arrived, nor a stream without ids', async () => {
    const clock = new ManualClock();
    const answered = sseResponse();
    const a = recorder();
    takeOverPostStream(answered.response, a.receiver, clock);
    answered.send('id: 1\ndata: {"result":{}}\n\n');
    answered.end();
    const noIds = sseResponse();
    const b = recorder();
    takeOverPostStream(noIds.response, b.receiver, clock);
    noIds.send('data: {"method":"progress"}\n\n');
    noIds.end();
    await turns(4);
    await clock.advance(60_000);
    expect([a.resumed, b.resumed]).toEqual([[], []]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('reports nothing when the transport aborted the request', async () => {
    const stream = sseResponse();
    const seen = recorder();
    takeOverPostStream(stream.response, seen.receiver, new ManualClock());
    stream.send('id: 1\ndata: {"method":"progress"}\n\n');
    await turns(2);
    stream.fail(new DOMException('This operation was aborted', 'AbortError'));
    await turns(3);
    expect(seen.errors).toEqual([]);
    expect(seen.resumed).toEqual([]);
  });
});
