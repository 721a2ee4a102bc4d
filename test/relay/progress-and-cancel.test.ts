// Progress from the upstream is re-sent under the downstream client's own progress token, and a downstream
// cancel aborts the upstream call (the upstream gets notifications/cancelled).
import { type Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../examples/gateway/gateway.js';
import { startCounterUpstream, type CounterUpstream } from '../../examples/gateway/upstream-counter.js';
import { startEverythingUpstream, type EverythingUpstream } from '../../examples/gateway/upstream-everything.js';
import { connectDownstream, Opened } from './fixtures.js';

let everything: EverythingUpstream;
let counter: CounterUpstream;
let viaEverything: Gateway;
let viaCounter: Gateway;
const opened = new Opened();

beforeAll(async () => {
  [everything, counter] = await Promise.all([startEverythingUpstream(), startCounterUpstream()]);
  viaEverything = await startGateway({ upstream: { id: 'everything', url: everything.url } });
  viaCounter = await startGateway({ upstream: { id: 'counter', url: counter.url } });
});
afterEach(() => opened.closeAll());
afterAll(async () => {
  await viaEverything?.close();
  await viaCounter?.close();
  await everything?.close();
  await counter?.close();
});

describe('progress', () => {
  it('re-sends every upstream progress notification with the downstream token, as the upstream sends them directly', async () => {
    const run = async (url: string) => {
      // No GET stream: progress must come on the call's own response stream.
      const { client } = await connectDownstream(url, opened, { getStream: false });
      const seen: Progress[] = [];
      const result = await client.callTool(
        { name: 'trigger-long-running-operation', arguments: { duration: 0.03, steps: 3 } },
        undefined,
        { onprogress: (progress) => seen.push(progress) },
      );
      return { result, seen };
    };
    const direct = await run(everything.url);
    const relayed = await run(viaEverything.url);
    expect(relayed.seen).toEqual([
      { progress: 1, total: 3 },
      { progress: 2, total: 3 },
      { progress: 3, total: 3 },
    ]);
    expect(relayed).toEqual(direct);
  });

  it('asks the upstream for no progress when the downstream client asked for none', async () => {
    const { client } = await connectDownstream(viaCounter.url, opened);
    const started = new Promise<boolean>((resolve) => counter.events.once('wait-started', (_id, withProgress) => resolve(withProgress)));
    const controller = new AbortController();
    const call = client.callTool({ name: 'wait', arguments: {} }, undefined, { signal: controller.signal }).catch(() => 'aborted');
    expect(await started).toBe(false); // the upstream request carried no progress token
    controller.abort();
    expect(await call).toBe('aborted');
  });
});

describe('cancellation', () => {
  it('aborts the upstream call when the downstream client cancels, and keeps the session usable', async () => {
    const { client } = await connectDownstream(viaCounter.url, opened);
    const started = new Promise<string | undefined>((resolve) => counter.events.once('wait-started', resolve));
    const cancelled = new Promise<string | undefined>((resolve) => counter.events.once('wait-cancelled', resolve));
    const controller = new AbortController();
    const progress: Progress[] = [];
    let progressed: () => void = () => undefined;
    const firstProgress = new Promise<void>((resolve) => (progressed = resolve));
    const call = client.callTool({ name: 'wait', arguments: {} }, undefined, {
      signal: controller.signal,
      onprogress: (update) => {
        progress.push(update);
        progressed();
      },
    });
    const upstreamSession = await started;
    await firstProgress;
    controller.abort(new Error('user pressed stop'));
    await expect(call).rejects.toThrow('user pressed stop');
    expect(await cancelled).toBe(upstreamSession); // notifications/cancelled reached the upstream call
    expect(progress).toEqual([{ progress: 1, message: 'waiting' }]);

    // The upstream session survives a cancel: same counter, no new session.
    await client.callTool({ name: 'increment', arguments: {} });
    const before = counter.initializeCount;
    expect(await client.callTool({ name: 'get', arguments: {} })).toEqual({ content: [{ type: 'text', text: '1' }] });
    expect(counter.initializeCount).toBe(before);
  });
});
