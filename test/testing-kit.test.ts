import { getEventListeners } from 'node:events';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { type UpstreamClient } from '../src/client.js';
import { type ConnectionEvents, type SessionCreateRequest, type SessionFactory, type UpstreamNotification } from '../src/factory.js';
import { createSessionCreateRequest } from '../src/request.js';
import {
  FakeConnection,
  FakeMcpError,
  FakeSessionFactory,
  FakeUpstreamClient,
  ManualClock,
  createConnectionClosedError,
  createConnectionRefusedError,
  createMethodNotFoundError,
  createSessionNotFoundError,
} from '../src/testing/index.js';
import { createProcessExitedError, createSpawnFailedError } from '../src/testing/fake-errors.js';

function createRequest(downstreamSessionId = 'A', upstreamId = 'counter', signal = new AbortController().signal): SessionCreateRequest {
  return createSessionCreateRequest({ downstreamSessionId, upstreamId, url: 'http://counter.test/mcp' }, 'streamable-http', signal);
}

function recordEvents(): ConnectionEvents & { closedWith: unknown[]; notifications: UpstreamNotification[] } {
  const closedWith: unknown[] = [];
  const notifications: UpstreamNotification[] = [];
  return {
    closedWith,
    notifications,
    closed: (reason) => closedWith.push(reason),
    notification: (n) => notifications.push(n),
  };
}

/** Settles `promise` into a state the test can inspect without awaiting it forever. */
function track<T>(promise: Promise<T>): { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } {
  const outcome: { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } = { state: 'pending' };
  promise.then(
    (value) => Object.assign(outcome, { state: 'resolved', value }),
    (error: unknown) => Object.assign(outcome, { state: 'rejected', error }),
  );
  return outcome;
}

describe('ManualClock', () => {
  describe('jump: the clock moves without running timers (a VM pause)', () => {
    it('moves now() and leaves due timers pending until the next advance, which runs them in due order', async () => {
      const clock = new ManualClock();
      const fired: [string, number][] = [];
      clock.setTimeout(() => fired.push(['b', clock.now()]), 200);
      clock.setTimeout(() => fired.push(['a', clock.now()]), 100);
      clock.jump(1_000);
      expect(clock.now()).toBe(1_000);
      await clock.flush();
      expect(fired).toEqual([]);
      await clock.advance(0);
      expect(fired).toEqual([
        ['a', 1_000],
        ['b', 1_000],
      ]);
      expect(clock.now()).toBe(1_000);
    });

    it('schedules new timers from the jumped time', async () => {
      const clock = new ManualClock();
      clock.jump(500);
      let at = -1;
      clock.setTimeout(() => (at = clock.now()), 100);
      await clock.advance(99);
      expect(at).toBe(-1);
      await clock.advance(1);
      expect(at).toBe(600);
    });

    it('rejects a negative or non-finite jump', () => {
      const clock = new ManualClock();
      expect(() => clock.jump(-1)).toThrow(RangeError);
      expect(() => clock.jump(Number.NaN)).toThrow(RangeError);
      expect(clock.now()).toBe(0);
    });
  });

  it('starts at startMs (default 0) and only moves when advanced', async () => {
    expect(new ManualClock().now()).toBe(0);
    const clock = new ManualClock(1_000);
    expect(clock.now()).toBe(1_000);
    await clock.advance(250);
    expect(clock.now()).toBe(1_250);
  });

  it('runs due timers in time order, ties in scheduling order, and leaves later ones pending', async () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('c@30'), 30);
    clock.setTimeout(() => fired.push('a@10'), 10);
    clock.setTimeout(() => fired.push('b1@20'), 20);
    clock.setTimeout(() => fired.push('b2@20'), 20);
    clock.setTimeout(() => fired.push('d@31'), 31);
    await clock.advance(30);
    expect(fired).toEqual(['a@10', 'b1@20', 'b2@20', 'c@30']);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextTimerAt).toBe(31);
  });

  it('shows each callback the time its timer fell due, and ends at the target time', async () => {
    const clock = new ManualClock(100);
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.now()), 5);
    clock.setTimeout(() => seen.push(clock.now()), 40);
    await clock.advance(60);
    expect(seen).toEqual([105, 140]);
    expect(clock.now()).toBe(160);
  });

  it('runs timers scheduled by timers when they fall due within the window', async () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    const tick = (): void => {
      fired.push(clock.now());
      clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    await clock.advance(35);
    expect(fired).toEqual([10, 20, 30]);
    expect(clock.nextTimerAt).toBe(40);
  });

  it('lets async chains started by a timer settle before the next timer fires', async () => {
    const clock = new ManualClock();
    const order: string[] = [];
    clock.setTimeout(() => {
      void (async () => {
        await Promise.resolve();
        await new Promise<void>((resolve) => setImmediate(resolve));
        order.push('first chain done');
      })();
    }, 10);
    clock.setTimeout(() => order.push('second timer'), 10);
    await clock.advance(10);
    expect(order).toEqual(['first chain done', 'second timer']);
  });

  it('runs timers that async work schedules for "now" at the end of the window', async () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.setTimeout(() => {
      void Promise.resolve().then(() => clock.setTimeout(() => fired.push('follow-up'), 0));
    }, 10);
    await clock.advance(10);
    expect(fired).toEqual(['follow-up']);
  });

  it('advance(0) runs timers due now, and a negative or non-finite delay counts as 0', async () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('zero'), 0);
    clock.setTimeout(() => fired.push('negative'), -5);
    clock.setTimeout(() => fired.push('nan'), Number.NaN);
    await clock.advance(0);
    expect(fired).toEqual(['zero', 'negative', 'nan']);
  });

  it('clearTimeout cancels a timer; fired, cancelled and foreign handles are ignored', async () => {
    const clock = new ManualClock();
    const other = new ManualClock();
    const fired: string[] = [];
    const cancelled = clock.setTimeout(() => fired.push('cancelled'), 10);
    const kept = clock.setTimeout(() => fired.push('kept'), 10);
    const foreign = other.setTimeout(() => undefined, 10);
    expect(clock.pendingTimers).toBe(2);
    clock.clearTimeout(cancelled);
    clock.clearTimeout(cancelled);
    clock.clearTimeout(foreign);
    clock.clearTimeout(undefined);
    clock.clearTimeout({ dueAt: 10 });
    expect(clock.pendingTimers).toBe(1);
    expect(other.pendingTimers).toBe(1);
    await clock.advance(10);
    clock.clearTimeout(kept);
    expect(fired).toEqual(['kept']);
    expect(clock.pendingTimers).toBe(0);
    expect(clock.nextTimerAt).toBeUndefined();
  });

  it('exposes when a timer falls due on its handle', () => {
    const clock = new ManualClock(50);
    expect(clock.setTimeout(() => undefined, 25).dueAt).toBe(75);
  });

  it('keeps running timers when a callback throws, then rejects with that error at the target time', async () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    const boom = new Error('boom');
    clock.setTimeout(() => {
      throw boom;
    }, 10);
    clock.setTimeout(() => fired.push('after'), 20);
    await expect(clock.advance(30)).rejects.toBe(boom);
    expect(fired).toEqual(['after']);
    expect(clock.now()).toBe(30);
  });

  it('reports several throwing callbacks as one AggregateError', async () => {
    const clock = new ManualClock();
    clock.setTimeout(() => {
      throw new Error('one');
    }, 1);
    clock.setTimeout(() => {
      throw new Error('two');
    }, 2);
    const error: unknown = await clock.advance(5).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as AggregateError).errors.map((e: Error) => e.message)).toEqual(['one', 'two']);
  });

  it('rejects a negative or non-finite advance without moving', async () => {
    const clock = new ManualClock();
    await expect(clock.advance(-1)).rejects.toThrow(RangeError);
    await expect(clock.advance(Number.POSITIVE_INFINITY)).rejects.toThrow(RangeError);
    expect(clock.now()).toBe(0);
  });

  it('runs overlapping advance calls one after the other', async () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.now()), 15);
    const first = clock.advance(10);
    const second = clock.advance(10);
    await Promise.all([first, second]);
    expect(seen).toEqual([15]);
    expect(clock.now()).toBe(20);
  });

  it('advanceTo moves to an absolute time and refuses to go back', async () => {
    const clock = new ManualClock(100);
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), 50);
    await clock.advanceTo(150);
    expect(fired).toEqual([150]);
    await expect(clock.advanceTo(149)).rejects.toThrow(/back in time/);
    expect(clock.now()).toBe(150);
  });

  it('runAll runs every timer, moving time to each, and is bounded for timers that reschedule forever', async () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), 1_000);
    clock.setTimeout(() => clock.setTimeout(() => fired.push(clock.now()), 500), 2_000);
    await clock.runAll();
    expect(fired).toEqual([1_000, 2_500]);
    expect(clock.now()).toBe(2_500);
    expect(clock.pendingTimers).toBe(0);

    const forever = (): void => {
      clock.setTimeout(forever, 10);
    };
    clock.setTimeout(forever, 10);
    await expect(clock.runAll(50)).rejects.toThrow(/ran 50 timers/);
  });

  it('bounds one advance against a timer rescheduling itself with a 0 ms delay', async () => {
    const clock = new ManualClock(0, { maxTimersPerRun: 20 });
    const spin = (): void => {
      clock.setTimeout(spin, 0);
    };
    clock.setTimeout(spin, 0);
    await expect(clock.advance(1)).rejects.toThrow(/ran 20 timers/);
    expect(() => new ManualClock(0, { maxTimersPerRun: 0 })).toThrow(RangeError);
    expect(() => new ManualClock(Number.NaN)).toThrow(RangeError);
  });

  it('flush lets promise chains settle without moving time', async () => {
    const clock = new ManualClock(7);
    let done = false;
    void (async () => {
      await Promise.resolve();
      await new Promise<void>((resolve) => setImmediate(resolve));
      done = true;
    })();
    await clock.flush();
    expect(done).toBe(true);
    expect(clock.now()).toBe(7);
  });

  it('handles thousands of timers, with cancellations, in due order', async () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    const handles: unknown[] = [];
    for (let i = 0; i < 3_000; i += 1) {
      const dueIn = (i * 7_919) % 1_000;
      handles.push(clock.setTimeout(() => fired.push(dueIn), dueIn));
    }
    for (let i = 0; i < 3_000; i += 2) clock.clearTimeout(handles[i]);
    expect(clock.pendingTimers).toBe(1_500);
    await clock.advance(1_000);
    expect(fired).toHaveLength(1_500);
    expect(fired).toEqual([...fired].sort((a, b) => a - b));
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('FakeUpstreamClient', () => {
  it('implements UpstreamClient and answers every probe method by default', async () => {
    const client = new FakeUpstreamClient();
    expectTypeOf(client).toExtend<UpstreamClient>();
    await expect(client.ping()).resolves.toEqual({});
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(['increment', 'get']);
    await expect(client.listPrompts()).resolves.toEqual({ prompts: [] });
    await expect(client.listResources()).resolves.toEqual({ resources: [] });
  });

  it('counts calls per method and records the options of each request', async () => {
    const client = new FakeUpstreamClient();
    const first = new AbortController();
    const second = new AbortController();
    await client.ping({ signal: first.signal, timeout: 5_000 });
    await client.ping({ signal: second.signal });
    await client.listTools({ cursor: 'next' });
    expect(client.calls).toEqual({ ping: 2, listTools: 1, listPrompts: 0, listResources: 0, callTool: 0 });
    expect(client.requests.map((r) => r.method)).toEqual(['ping', 'ping', 'listTools']);
    expect(client.requests[0]!.options).toEqual({ signal: first.signal, timeout: 5_000 });
    expect(client.requests[1]!.options?.signal).toBe(second.signal);
    expect(client.requests[2]!.params).toEqual({ cursor: 'next' });
  });

  it('method-not-found rejects with an McpError-shaped -32601', async () => {
    const client = new FakeUpstreamClient({ script: { ping: 'method-not-found' } });
    const error: unknown = await client.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'McpError', code: -32601, message: 'MCP error -32601: Method not found' });
    await expect(client.listTools()).resolves.toBeDefined();
  });

  it('broken rejects with a ConnectionClosed-shaped -32000', async () => {
    const client = new FakeUpstreamClient({ script: { listTools: 'broken' } });
    await expect(client.listTools()).rejects.toMatchObject({
      name: 'McpError',
      code: -32000,
      message: 'MCP error -32000: Connection closed',
    });
  });

  it('session-not-found rejects like the SDK on HTTP 404', async () => {
    const client = new FakeUpstreamClient({ script: { callTool: 'session-not-found' } });
    await expect(client.callTool({ name: 'get' })).rejects.toMatchObject({ code: 404, message: expect.stringMatching(/Session not found/) });
  });

  it('a scripted Error is the rejection', async () => {
    const custom = new FakeMcpError(-32603, 'Internal error', { detail: 1 });
    const client = new FakeUpstreamClient({ script: { listResources: custom } });
    await expect(client.listResources()).rejects.toBe(custom);
    expect(custom).toMatchObject({ message: 'MCP error -32603: Internal error', data: { detail: 1 } });
  });

  it('timeout never settles until the signal aborts, then rejects with the reason and removes its listener', async () => {
    const client = new FakeUpstreamClient({ script: { ping: 'timeout' } });
    const controller = new AbortController();
    const outcome = track(client.ping({ signal: controller.signal }));
    await new ManualClock().flush();
    expect(outcome.state).toBe('pending');
    expect(client.pendingRequests).toBe(1);
    const reason = new Error('probe timed out');
    controller.abort(reason);
    await new ManualClock().flush();
    expect(outcome).toMatchObject({ state: 'rejected', error: reason });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(client.pendingRequests).toBe(0);
  });

  it('rejects at once with the reason when the signal is already aborted', async () => {
    const client = new FakeUpstreamClient();
    const signal = AbortSignal.abort(new Error('gone'));
    await expect(client.listPrompts(undefined, { signal })).rejects.toThrow('gone');
    expect(client.calls.listPrompts).toBe(1);
  });

  it('a { delayMs } answer arrives on the client clock', async () => {
    const clock = new ManualClock();
    const client = new FakeUpstreamClient({ clock, script: { ping: { delayMs: 300 } } });
    const outcome = track(client.ping());
    await clock.advance(299);
    expect(outcome.state).toBe('pending');
    await clock.advance(1);
    expect(outcome).toMatchObject({ state: 'resolved', value: {} });

    const controller = new AbortController();
    const aborted = track(client.ping({ signal: controller.signal }));
    controller.abort();
    await clock.flush();
    expect(aborted.state).toBe('rejected');
    expect(clock.pendingTimers).toBe(0);
  });

  it('applies script changes to the next request', async () => {
    const client = new FakeUpstreamClient();
    await expect(client.ping()).resolves.toEqual({});
    client.script.ping = 'broken';
    await expect(client.ping()).rejects.toMatchObject({ code: -32000 });
    delete client.script.ping;
    await expect(client.ping()).resolves.toEqual({});
  });

  it('callTool keeps a per-instance counter: increment (by, default 1) and get', async () => {
    const client = new FakeUpstreamClient();
    const other = new FakeUpstreamClient();
    await expect(client.callTool({ name: 'increment' })).resolves.toEqual({ content: [{ type: 'text', text: '1' }] });
    await expect(client.callTool({ name: 'increment', arguments: { by: 4 } })).resolves.toEqual({
      content: [{ type: 'text', text: '5' }],
    });
    await expect(client.callTool({ name: 'get' })).resolves.toEqual({ content: [{ type: 'text', text: '5' }] });
    expect(client.count).toBe(5);
    expect(other.count).toBe(0);
    expect(client.calls.callTool).toBe(3);
  });

  it('callTool answers an unknown tool or a bad argument with an isError result, like an MCP server', async () => {
    const client = new FakeUpstreamClient();
    await expect(client.callTool({ name: 'nope' })).resolves.toMatchObject({ isError: true });
    await expect(client.callTool({ name: 'increment', arguments: { by: 'x' } })).resolves.toMatchObject({ isError: true });
    expect(client.count).toBe(0);
  });

  it('callTool takes SDK-style (params, resultSchema, options) and honours the signal and script', async () => {
    const client = new FakeUpstreamClient({ script: { callTool: 'timeout' } });
    const controller = new AbortController();
    const outcome = track(client.callTool({ name: 'increment' }, undefined, { signal: controller.signal }));
    controller.abort(new Error('cancelled'));
    await new ManualClock().flush();
    expect(outcome.state).toBe('rejected');
    expect(client.count).toBe(0);
  });

  it('after close, pending and later requests reject with a ConnectionClosed-shaped error', async () => {
    const client = new FakeUpstreamClient({ script: { ping: 'timeout' } });
    const pending = track(client.ping());
    await client.close();
    await client.close();
    await new ManualClock().flush();
    expect(client.closed).toBe(true);
    expect(client.dropped).toBe(false);
    expect(pending).toMatchObject({ state: 'rejected', error: { code: -32000 } });
    await expect(client.callTool({ name: 'get' })).rejects.toMatchObject(createConnectionClosedError());
  });

  it('drop marks the connection closed and dropped', async () => {
    const client = new FakeUpstreamClient();
    client.drop();
    expect(client.closed).toBe(true);
    expect(client.dropped).toBe(true);
    await expect(client.listTools()).rejects.toMatchObject({ message: 'MCP error -32000: Connection closed' });
  });

  it('error helpers build the shapes the registry classifies', () => {
    expect(createMethodNotFoundError()).toMatchObject({ name: 'McpError', code: -32601 });
    expect(createConnectionClosedError()).toMatchObject({ name: 'McpError', code: -32000 });
    expect(createSessionNotFoundError()).toMatchObject({ code: 404 });
    expect(createConnectionRefusedError('x')).toMatchObject({ code: 'ECONNREFUSED', syscall: 'connect' });
  });
});

describe('FakeSessionFactory', () => {
  it('records each create request and the connection it made', async () => {
    const factory = new FakeSessionFactory();
    const events = recordEvents();
    const request = createRequest('A', 'counter');
    const connection = await factory.create(request, events);
    expect(factory.requests).toEqual([request]);
    expect(factory.created).toEqual([connection]);
    expect(connection).toBeInstanceOf(FakeConnection);
    expect(connection.id).toBe(1);
    expect(connection.request).toBe(request);
    expect(connection.events).toBe(events);
    expect(connection.client).toBeInstanceOf(FakeUpstreamClient);
    expect(factory.createCalls).toBe(1);
    expect(factory.open).toBe(1);
    expect(factory.connectionsFor({ downstreamSessionId: 'A', upstreamId: 'counter' })).toEqual([connection]);
    expect(factory.connectionsFor({ downstreamSessionId: 'B', upstreamId: 'counter' })).toEqual([]);
  });

  it('gives every connection its own client state', async () => {
    const factory = new FakeSessionFactory();
    const a = await factory.create(createRequest('A'), recordEvents());
    const b = await factory.create(createRequest('B'), recordEvents());
    await a.client.callTool({ name: 'increment', arguments: { by: 2 } });
    expect(a.client.count).toBe(2);
    expect(b.client.count).toBe(0);
  });

  it("'fail' rejects with an ECONNREFUSED-shaped error and creates nothing", async () => {
    const factory = new FakeSessionFactory();
    factory.script.create = 'fail';
    await expect(factory.create(createRequest('A', 'search'), recordEvents())).rejects.toMatchObject({
      code: 'ECONNREFUSED',
      message: expect.stringContaining('search'),
    });
    expect(factory.createCalls).toBe(1);
    expect(factory.created).toHaveLength(0);
  });

  it('a scripted Error is the rejection', async () => {
    const factory = new FakeSessionFactory();
    const error = new Error('401 Unauthorized');
    factory.script.create = error;
    await expect(factory.create(createRequest(), recordEvents())).rejects.toBe(error);
  });

  it('nextCreate queues behaviours for the next calls, then falls back to script.create', async () => {
    const factory = new FakeSessionFactory();
    const custom = new Error('custom');
    factory.nextCreate('fail').nextCreate('fail', custom);
    expect(factory.queuedCreates).toBe(2);
    await expect(factory.create(createRequest(), recordEvents())).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(factory.create(createRequest(), recordEvents())).rejects.toBe(custom);
    await expect(factory.create(createRequest(), recordEvents())).resolves.toBeInstanceOf(FakeConnection);
    expect(factory.queuedCreates).toBe(0);
  });

  it("'hang' waits until the request signal aborts, then rejects with its reason", async () => {
    const factory = new FakeSessionFactory();
    const controller = new AbortController();
    factory.nextCreate('hang');
    const outcome = track(factory.create(createRequest('A', 'counter', controller.signal), recordEvents()));
    await new ManualClock().flush();
    expect(outcome.state).toBe('pending');
    const reason = new Error('create timed out');
    controller.abort(reason);
    await new ManualClock().flush();
    expect(outcome).toMatchObject({ state: 'rejected', error: reason });
    expect(factory.created).toHaveLength(0);
  });

  it("'hang-ignoring-signal' never settles, even after an abort", async () => {
    const factory = new FakeSessionFactory();
    const controller = new AbortController();
    factory.script.create = 'hang-ignoring-signal';
    const outcome = track(factory.create(createRequest('A', 'counter', controller.signal), recordEvents()));
    controller.abort();
    await new ManualClock().flush();
    expect(outcome.state).toBe('pending');
  });

  it('rejects at once when the request signal is already aborted', async () => {
    const factory = new FakeSessionFactory();
    const reason = new Error('already gone');
    await expect(factory.create(createRequest('A', 'counter', AbortSignal.abort(reason)), recordEvents())).rejects.toBe(reason);
    expect(factory.created).toHaveLength(0);
  });

  it('{ delayMs } resolves after the delay on the factory clock', async () => {
    const clock = new ManualClock();
    const factory = new FakeSessionFactory({ clock });
    factory.nextCreate({ delayMs: 1_000 }).nextCreate({ delayMs: 500, outcome: 'fail' });
    const slow = track(factory.create(createRequest('A'), recordEvents()));
    const failing = track(factory.create(createRequest('B'), recordEvents()));
    await clock.advance(500);
    expect(failing).toMatchObject({ state: 'rejected', error: { code: 'ECONNREFUSED' } });
    expect(slow.state).toBe('pending');
    await clock.advance(500);
    expect(slow.state).toBe('resolved');
    expect(factory.created).toHaveLength(1);
  });

  it('{ delayMs } rejects early and cancels its timer when the signal aborts', async () => {
    const clock = new ManualClock();
    const factory = new FakeSessionFactory({ clock });
    const controller = new AbortController();
    factory.script.create = { delayMs: 1_000 };
    const outcome = track(factory.create(createRequest('A', 'counter', controller.signal), recordEvents()));
    await clock.advance(100);
    controller.abort(new Error('evicted'));
    await clock.flush();
    expect(outcome).toMatchObject({ state: 'rejected', error: { message: 'evicted' } });
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(1_000);
    expect(factory.created).toHaveLength(0);
  });

  it("'manual' holds a creation until the test resolves it, even after the signal aborted", async () => {
    const factory = new FakeSessionFactory();
    const late = factory.nextCreate('manual');
    expect(late.started).toBe(false);
    expect(() => late.resolve()).toThrow(/before the factory's create/);
    const controller = new AbortController();
    const request = createRequest('A', 'counter', controller.signal);
    const outcome = track(factory.create(request, recordEvents()));
    expect(late.started).toBe(true);
    expect(late.request).toBe(request);
    controller.abort();
    await new ManualClock().flush();
    expect(outcome.state).toBe('pending');
    const connection = late.resolve();
    await new ManualClock().flush();
    expect(outcome).toMatchObject({ state: 'resolved', value: connection });
    expect(late.settled).toBe(true);
    expect(factory.created).toEqual([connection]);
    expect(() => late.resolve()).toThrow(/twice/);
  });

  it("'manual' can be rejected by hand", async () => {
    const factory = new FakeSessionFactory();
    const handle = factory.nextCreate('manual');
    const outcome = track(factory.create(createRequest(), recordEvents()));
    const error = new Error('upstream said no');
    handle.reject(error);
    await new ManualClock().flush();
    expect(outcome).toMatchObject({ state: 'rejected', error });
    expect(() => handle.reject()).toThrow(/twice/);
  });

  describe('close', () => {
    it("'ok' resolves, records the signal and marks the client closed", async () => {
      const factory = new FakeSessionFactory();
      const connection = await factory.create(createRequest(), recordEvents());
      const signal = new AbortController().signal;
      await connection.close(signal);
      expect(connection).toMatchObject({ closeCalls: 1, closed: true, closeSettled: true, closeSignal: signal });
      expect(connection.client.closed).toBe(true);
      expect(factory.open).toBe(0);
      expect(factory.doubleClosed).toEqual([]);
    });

    it("'fail' rejects; the connection still counts as closed", async () => {
      const factory = new FakeSessionFactory();
      factory.script.close = 'fail';
      const connection = await factory.create(createRequest(), recordEvents());
      await expect(connection.close(new AbortController().signal)).rejects.toThrow(/failed to close/);
      expect(connection.closeSettled).toBe(true);
      expect(factory.open).toBe(0);
    });

    it("'hang' means what it means for create: waits, then rejects with the signal's reason when it fires", async () => {
      const factory = new FakeSessionFactory();
      factory.script.close = 'hang';
      const connection = await factory.create(createRequest(), recordEvents());
      const controller = new AbortController();
      const outcome = track(connection.close(controller.signal));
      await new ManualClock().flush();
      expect(outcome.state).toBe('pending');
      const reason = new Error('grace window ended');
      controller.abort(reason);
      await new ManualClock().flush();
      expect(outcome).toMatchObject({ state: 'rejected', error: reason });
      expect(connection.closeSettled).toBe(true);
    });

    it("'hang-ignoring-signal' never settles, even when the close signal fires (as for create)", async () => {
      const factory = new FakeSessionFactory();
      factory.script.close = 'hang-ignoring-signal';
      const connection = await factory.create(createRequest(), recordEvents());
      const controller = new AbortController();
      const outcome = track(connection.close(controller.signal));
      controller.abort();
      await new ManualClock().flush();
      expect(outcome.state).toBe('pending');
      expect(connection.closeSettled).toBe(false);
      expect(connection.closed).toBe(true);
    });

    it("'hang-until-signal' settles when the close signal fires", async () => {
      const factory = new FakeSessionFactory();
      factory.script.close = 'hang-until-signal';
      const connection = await factory.create(createRequest(), recordEvents());
      const controller = new AbortController();
      const outcome = track(connection.close(controller.signal));
      await new ManualClock().flush();
      expect(outcome.state).toBe('pending');
      controller.abort();
      await new ManualClock().flush();
      expect(outcome.state).toBe('resolved');
      await expect(connection.close(AbortSignal.abort())).resolves.toBeUndefined();
    });

    it('a per-connection closeBehavior overrides script.close', async () => {
      const factory = new FakeSessionFactory();
      const error = new Error('DELETE failed');
      const a = await factory.create(createRequest('A'), recordEvents());
      const b = await factory.create(createRequest('B'), recordEvents());
      a.closeBehavior = error;
      await expect(a.close(new AbortController().signal)).rejects.toBe(error);
      await expect(b.close(new AbortController().signal)).resolves.toBeUndefined();
    });

    it('counts close calls and lists connections closed more than once', async () => {
      const factory = new FakeSessionFactory();
      const a = await factory.create(createRequest('A'), recordEvents());
      const b = await factory.create(createRequest('B'), recordEvents());
      const signal = new AbortController().signal;
      await a.close(signal);
      expect(factory.open).toBe(1);
      await a.close(new AbortController().signal);
      expect(a.closeCalls).toBe(2);
      expect(a.closeSignal).toBe(signal);
      expect(factory.doubleClosed).toEqual([a]);
      expect(factory.open).toBe(1);
      await b.close(signal);
      expect(factory.open).toBe(0);
    });
  });

  it('dropTransport breaks the client and reports events.closed(reason)', async () => {
    const factory = new FakeSessionFactory();
    const events = recordEvents();
    const connection = await factory.create(createRequest(), events);
    const reason = new Error('socket hang up');
    connection.dropTransport(reason);
    expect(events.closedWith).toEqual([reason]);
    expect(connection.dropped).toBe(true);
    expect(connection.closed).toBe(false);
    expect(factory.open).toBe(1);
    await expect(connection.client.ping()).rejects.toMatchObject({ code: -32000 });
  });

  it('exit() reports a stdio-like process exit: events.closed with a process_exited error', async () => {
    const { classifyError, isTransportError } = await import('../src/classify/index.js');
    const factory = new FakeSessionFactory();
    const events = recordEvents();
    const connection = await factory.create(createRequest(), events);
    connection.exit();
    expect(connection.dropped).toBe(true);
    const [reason] = events.closedWith;
    expect(classifyError(reason)).toBe('process_exited');
    expect(isTransportError(reason)).toBe(true);
    expect(reason).toMatchObject({ exitCode: 1, signalCode: null });
    const killed = await factory.create(createRequest('B'), events);
    killed.exit(createProcessExitedError('srv', null, 'SIGKILL'));
    expect(events.closedWith[1]).toMatchObject({ exitCode: null, signalCode: 'SIGKILL', message: expect.stringMatching(/SIGKILL/) as unknown });
  });

  it('a failed spawn is scripted with createSpawnFailedError', async () => {
    const { classifyError } = await import('../src/classify/index.js');
    const factory = new FakeSessionFactory();
    factory.nextCreate(createSpawnFailedError('missing-server'));
    const error: unknown = await factory.create(createRequest(), recordEvents()).catch((e: unknown) => e);
    expect(classifyError(error)).toBe('spawn_failed');
  });

  describe('script.connection: what each connection says about itself', () => {
    it('has no era, no own probe and is proven by default', async () => {
      const factory = new FakeSessionFactory();
      const connection = await factory.create(createRequest(), recordEvents());
      expect(connection.era).toBeUndefined();
      expect(connection.unproven).toBeUndefined();
      expect(connection.probe).toBeUndefined();
      expect('probe' in connection && typeof connection.probe === 'function').toBe(false);
    });

    it('sets era, protocolVersion and unproven on new connections', async () => {
      const factory = new FakeSessionFactory();
      factory.script.connection = { era: 'modern', protocolVersion: '2026-07-28', unproven: true };
      const modern = await factory.create(createRequest('A'), recordEvents());
      factory.script.connection = {};
      const plain = await factory.create(createRequest('B'), recordEvents());
      expect(modern).toMatchObject({ era: 'modern', protocolVersion: '2026-07-28', unproven: true });
      expect(plain.era).toBeUndefined();
    });

    it('gives connections their own probe, recording each call', async () => {
      const factory = new FakeSessionFactory();
      factory.script.connection = {
        probe: (_options, connection) =>
          connection.id === 1
            ? { healthy: true, method: 'server/discover' }
            : { healthy: false, method: 'server/discover', error: new Error('unhealthy') },
      };
      const connection = await factory.create(createRequest(), recordEvents());
      const signal = new AbortController().signal;
      await expect(connection.probe?.({ probes: ['ping'], timeoutMs: 100, signal })).resolves.toMatchObject({
        healthy: true,
        method: 'server/discover',
      });
      expect(connection.probeCalls).toEqual([{ probes: ['ping'], timeoutMs: 100, signal }]);
      factory.script.connection = { probe: { healthy: true, method: 'server/discover' } };
      const fixed = await factory.create(createRequest('B'), recordEvents());
      await expect(fixed.probe?.({ probes: [], timeoutMs: 1, signal })).resolves.toEqual({ healthy: true, method: 'server/discover' });
    });
  });

  it('notify forwards a server notification to events.notification', async () => {
    const factory = new FakeSessionFactory();
    const events = recordEvents();
    const connection = await factory.create(createRequest(), events);
    connection.notify('notifications/tools/list_changed');
    connection.notify('notifications/message', { level: 'info', data: 'hi' });
    expect(events.notifications).toEqual([
      { method: 'notifications/tools/list_changed' },
      { method: 'notifications/message', params: { level: 'info', data: 'hi' } },
    ]);
    expect(Object.keys(events.notifications[0]!)).toEqual(['method']);
  });

  it('script.probes scripts new clients only, and each connection can be rescripted', async () => {
    const factory = new FakeSessionFactory();
    factory.script.probes = { ping: 'method-not-found', listTools: 'timeout' };
    const first = await factory.create(createRequest('A'), recordEvents());
    factory.script.probes = {};
    const second = await factory.create(createRequest('B'), recordEvents());
    await expect(first.client.ping()).rejects.toMatchObject({ code: -32601 });
    await expect(second.client.ping()).resolves.toEqual({});
    first.client.script.ping = 'ok';
    await expect(first.client.ping()).resolves.toEqual({});
    expect(first.client.script.listTools).toBe('timeout');
  });

  it('uses the factory clock for the clients it builds', async () => {
    const clock = new ManualClock();
    const factory = new FakeSessionFactory({ clock });
    factory.script.probes = { ping: { delayMs: 50 } };
    const connection = await factory.create(createRequest(), recordEvents());
    const outcome = track(connection.client.ping());
    await clock.advance(50);
    expect(outcome.state).toBe('resolved');
  });

  it('createClient builds a host-specific client type', async () => {
    class HostClient implements UpstreamClient {
      constructor(readonly upstreamId: string) {}
      ping = async (): Promise<unknown> => ({});
      listTools = async (): Promise<unknown> => ({ tools: [] });
      listPrompts = async (): Promise<unknown> => ({ prompts: [] });
      listResources = async (): Promise<unknown> => ({ resources: [] });
    }
    const factory = new FakeSessionFactory({ createClient: (request) => new HostClient(request.upstreamId) });
    expectTypeOf(factory).toEqualTypeOf<FakeSessionFactory<HostClient>>();
    const connection = await factory.create(createRequest('A', 'search'), recordEvents());
    expect(connection.client).toBeInstanceOf(HostClient);
    expect(connection.client.upstreamId).toBe('search');
    connection.dropTransport();
    expect(factory.open).toBe(1);
    // A client type the default FakeUpstreamClient does not satisfy needs createClient:
    // @ts-expect-error createClient is required for HostClient
    void (() => new FakeSessionFactory<HostClient>());
    expectTypeOf(new FakeSessionFactory<UpstreamClient>()).toEqualTypeOf<FakeSessionFactory<UpstreamClient>>();
  });

  it('infers FakeUpstreamClient by default and is a SessionFactory of it', () => {
    const factory = new FakeSessionFactory({ clock: new ManualClock() });
    expectTypeOf(factory).toEqualTypeOf<FakeSessionFactory<FakeUpstreamClient>>();
    expectTypeOf(factory).toExtend<SessionFactory<FakeUpstreamClient>>();
    expectTypeOf<(typeof factory)['created'][number]['client']>().toEqualTypeOf<FakeUpstreamClient>();
  });
});
