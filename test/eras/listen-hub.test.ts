import { describe, expect, it } from 'vitest';
import { type UpstreamNotification } from '../../src/factory.js';
import { ListenHub, type ListenCloseReason, type ListenStream } from '../../src/mcp/listen-hub.js';
import { ManualClock } from '../../src/testing/index.js';

/** A scripted stream: `end(reason)` ends it as the server would. */
class FakeStream implements ListenStream {
  closedLocally = false;
  #resolve!: (reason: ListenCloseReason) => void;
  readonly closed = new Promise<ListenCloseReason>((resolve) => {
    this.#resolve = resolve;
  });
  constructor(readonly deliver: (notification: UpstreamNotification) => void, readonly opener: string) {}
  end(reason: ListenCloseReason): void {
    this.#resolve(reason);
  }
  close(): Promise<void> {
    this.closedLocally = true;
    this.#resolve('local');
    return Promise.resolve();
  }
}

function setup() {
  const clock = new ManualClock();
  const hub = new ListenHub(clock, { initialMs: 100, maxMs: 1_000 });
  const streams: FakeStream[] = [];
  const received: Record<string, UpstreamNotification[]> = {};
  const member = (name: string) => ({
    deliver: (notification: UpstreamNotification) => void (received[name] ??= []).push(notification),
    open: (deliver: (notification: UpstreamNotification) => void) => {
      const stream = new FakeStream(deliver, name);
      streams.push(stream);
      return Promise.resolve(stream);
    },
  });
  return { clock, hub, streams, received, member };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the shared listen stream of one key', () => {
  it('is opened once for all members and fans notifications out without the subscription id', async () => {
    const { hub, streams, received, member } = setup();
    hub.join('k', member('a'));
    hub.join('k', member('b'));
    hub.join('k', member('c'));
    await settle();
    expect(streams).toHaveLength(1);
    streams[0]?.deliver({ method: 'notifications/tools/list_changed', params: { _meta: { 'io.modelcontextprotocol/subscriptionId': 'listen:0' } } });
    for (const name of ['a', 'b', 'c']) expect(received[name]).toEqual([{ method: 'notifications/tools/list_changed' }]);
  });

  it('keeps other meta keys', async () => {
    const { hub, streams, received, member } = setup();
    hub.join('k', member('a'));
    await settle();
    streams[0]?.deliver({ method: 'x', params: { uri: 'u', _meta: { 'io.modelcontextprotocol/subscriptionId': 's', trace: 't' } } });
    expect(received.a).toEqual([{ method: 'x', params: { uri: 'u', _meta: { trace: 't' } } }]);
  });

  it('moves to another member when its opener leaves, and closes with the last member', async () => {
    const { hub, streams, member } = setup();
    const leaveA = hub.join('k', member('a'));
    const leaveB = hub.join('k', member('b'));
    await settle();
    leaveA();
    await settle();
    expect(streams.map((s) => s.opener)).toEqual(['a', 'b']);
    expect(streams[0]?.closedLocally).toBe(true);
    leaveB();
    await settle();
    expect(streams[1]?.closedLocally).toBe(true);
    expect(hub.size).toBe(0);
  });

  it('reopens with backoff after a remote or graceful end, by the clock', async () => {
    const { clock, hub, streams, member } = setup();
    hub.join('k', member('a'));
    await settle();
    streams[0]?.end('remote');
    await settle();
    expect(streams).toHaveLength(1);
    await clock.advance(99);
    expect(streams).toHaveLength(1);
    await clock.advance(1);
    await settle();
    expect(streams).toHaveLength(2);
    streams[1]?.end('graceful');
    await settle();
    await clock.advance(199);
    expect(streams).toHaveLength(2);
    await clock.advance(1);
    await settle();
    expect(streams).toHaveLength(3);
  });

  it('retries a failed open with backoff and stops once the key has no members', async () => {
    const { clock, hub } = setup();
    let opens = 0;
    const leave = hub.join('k', {
      deliver: () => undefined,
      open: () => {
        opens += 1;
        return Promise.reject(new Error('refused'));
      },
    });
    await settle();
    await clock.advance(100);
    await settle();
    expect(opens).toBe(2);
    leave();
    await clock.advance(10_000);
    await settle();
    expect(opens).toBe(2);
  });
});
