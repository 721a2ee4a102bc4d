import { describe, expect, it } from 'vitest';
import { RegistryClosedError, type UpstreamSessionRegistry } from '../src/index.js';
import { type FakeUpstreamClient } from '../src/testing/index.js';
import { harness } from './support/harness.js';
import { request, track } from './support/track.js';

// SPEC §4.5 (shutdown): closeAll() sets `closed` first, refuses new acquires, aborts pending creations, evicts
// everything in parallel and resolves within about 2 × closeTimeoutMs however many closes hang. Idempotent.

const CLOSE_MS = 5_000;

describe('closeAll()', () => {
  it('resolves within 2 × closeTimeoutMs with 1,000 sessions whose close never settles', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    t.factory.script.close = 'hang-ignoring-signal';
    const requests = Array.from({ length: 1_000 }, (_, i) => request(`downstream-${i}`));
    const leases = await Promise.all(requests.map((r) => t.registry.acquire(r)));
    for (const lease of leases) lease.release();
    expect(t.registry.size).toBe(1_000);

    const done = track(t.registry.closeAll());
    await t.clock.flush();
    // Every close started at once (in parallel), none settled.
    expect(t.factory.created.every((c) => c.closeCalls === 1)).toBe(true);
    expect(t.factory.created.some((c) => c.closeSettled)).toBe(false);

    await t.clock.advance(CLOSE_MS);
    expect(t.factory.created.every((c) => c.closeSignal?.aborted === true)).toBe(true);
    expect(done.settled).toBe(false);
    expect(t.events.payloads('close:timeout')).toHaveLength(0);

    await t.clock.advance(CLOSE_MS);
    expect(done).toMatchObject({ settled: true, error: undefined });

    expect(t.events.payloads('close:timeout')).toHaveLength(1_000);
    expect(new Set(t.events.payloads('close:timeout').map((e) => e.key.downstreamSessionId)).size).toBe(1_000);
    expect(t.events.payloads('close:timeout').every((e) => e.closeTimeoutMs === CLOSE_MS)).toBe(true);
    const snapshot = t.registry.snapshot();
    expect(snapshot.counters.closeTimeouts).toBe(1_000);
    expect(snapshot.evictionsByReason['close-all']).toBe(1_000);
    expect(snapshot.sessions).toBe(0);
    expect(t.registry.size).toBe(0);
    expect(t.factory.open).toBe(0);
    expect(t.factory.doubleClosed).toEqual([]);
  });

  it('resolves without waiting for the clock when every close settles', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    await t.registry.withSession(request('A'), () => undefined);
    await t.registry.withSession(request('B'), () => undefined);

    await t.registry.closeAll();

    expect(t.events.payloads('session:evicted').map((e) => e.reason)).toEqual(['close-all', 'close-all']);
    expect(t.factory.open).toBe(0);
    expect(t.factory.doubleClosed).toEqual([]);
    expect(t.events.payloads('close:timeout')).toEqual([]);
  });

  it('sets `closed` synchronously, before anything settles', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    t.factory.script.close = 'hang-ignoring-signal';
    await t.registry.withSession(request('A'), () => undefined);
    expect(t.registry.closed).toBe(false);

    const done = t.registry.closeAll();
    expect(t.registry.closed).toBe(true);
    expect(t.registry.snapshot().closed).toBe(true);

    await t.clock.advance(2 * CLOSE_MS);
    await done;
    expect(t.registry.closed).toBe(true);
    expect(t.factory.doubleClosed).toEqual([]);
  });

  it('refuses acquires made after the call with RegistryClosedError, creating nothing', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    t.factory.script.close = 'hang-ignoring-signal';
    await t.registry.withSession(request('A'), () => undefined);

    const done = t.registry.closeAll();
    const during = track(t.registry.acquire(request('A')));
    await t.clock.advance(2 * CLOSE_MS);
    await done;

    expect(during.error).toBeInstanceOf(RegistryClosedError);
    await expect(t.registry.acquire(request('A'))).rejects.toBeInstanceOf(RegistryClosedError);
    await expect(t.registry.acquire(request('new'))).rejects.toMatchObject({ code: 'REGISTRY_CLOSED' });
    const fn = (): number => 1;
    await expect(t.registry.withSession(request('new'), fn)).rejects.toBeInstanceOf(RegistryClosedError);
    expect(t.factory.createCalls).toBe(1);
    expect(t.registry.size).toBe(0);
    expect(t.factory.doubleClosed).toEqual([]);
  });

  it('returns the same promise to concurrent and repeated calls, and to Symbol.asyncDispose', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    t.factory.script.close = 'hang-ignoring-signal';
    await t.registry.withSession(request('A'), () => undefined);

    const first = t.registry.closeAll();
    const second = t.registry.closeAll();
    const disposed = t.registry[Symbol.asyncDispose]();
    expect(second).toBe(first);
    expect(disposed).toBe(first);

    await t.clock.advance(2 * CLOSE_MS);
    await first;
    expect(t.registry.closeAll()).toBe(first);

    // One shutdown: each session evicted and closed once, one close:timeout.
    expect(t.events.payloads('session:evicted')).toHaveLength(1);
    expect(t.events.payloads('close:timeout')).toHaveLength(1);
    expect(t.factory.created[0]!.closeCalls).toBe(1);
    expect(t.factory.doubleClosed).toEqual([]);
  });

  it('works with `await using`', async () => {
    const { factory, registry: built } = harness({ closeTimeoutMs: CLOSE_MS });
    let seen: UpstreamSessionRegistry<FakeUpstreamClient> | undefined;
    {
      await using registry = built;
      seen = registry;
      await registry.withSession(request('A'), (client) => client.callTool({ name: 'increment' }));
      expect(registry.closed).toBe(false);
      expect(factory.open).toBe(1);
    }
    expect(seen.closed).toBe(true);
    expect(seen.size).toBe(0);
    expect(factory.open).toBe(0);
    expect(factory.doubleClosed).toEqual([]);
  });

  it('aborts pending creations; their waiters reject with RegistryClosedError', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    t.factory.nextCreate('hang');
    const waiters = [track(t.registry.acquire(request('A'))), track(t.registry.acquire(request('A')))];
    const other = track(t.registry.acquire(request('B')));
    await t.clock.flush();
    expect(t.factory.createCalls).toBe(2);
    expect(t.registry.snapshot().pending).toBe(1);

    const done = t.registry.closeAll();
    await t.clock.flush();

    expect(t.factory.requests[0]!.signal.aborted).toBe(true);
    for (const waiter of waiters) {
      expect(waiter.settled).toBe(true);
      expect(waiter.error).toBeInstanceOf(RegistryClosedError);
    }
    expect(t.registry.snapshot().pending).toBe(0);
    // B's creation had finished before closeAll: its caller got a lease; the session is closed with the rest.
    expect(other.error).toBeUndefined();
    (other.value as { release(): void } | undefined)?.release();

    await t.clock.advance(2 * CLOSE_MS);
    await done;
    expect(t.factory.open).toBe(0);
    expect(t.factory.doubleClosed).toEqual([]);
  });

  it('closes a connection that arrives after closeAll aborted its creation', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    const late = t.factory.nextCreate('manual');
    const waiter = track(t.registry.acquire(request('A')));
    await t.clock.flush();
    expect(late.started).toBe(true);

    const done = t.registry.closeAll();
    await t.clock.flush();
    expect(waiter.error).toBeInstanceOf(RegistryClosedError);
    expect(late.request?.signal.aborted).toBe(true);

    const connection = late.resolve();
    await t.clock.advance(2 * CLOSE_MS);
    await done;

    expect(connection.closeCalls).toBe(1);
    expect(t.registry.size).toBe(0);
    expect(t.factory.open).toBe(0);
    expect(t.factory.doubleClosed).toEqual([]);
  });

  it('closes sessions with open leases within the same 2 × closeTimeoutMs bound', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    t.factory.script.close = 'hang-ignoring-signal';
    const held = await t.registry.acquire(request('A'));
    await t.registry.withSession(request('B'), () => undefined);
    const [busy, idle] = t.factory.created;

    const done = track(t.registry.closeAll());
    await t.clock.flush();
    // closeAll evicts, and eviction drains open leases first (SPEC §4.5), within the shared window.
    expect(idle!.closed).toBe(true);
    expect(busy!.closed).toBe(false);

    await t.clock.advance(CLOSE_MS);
    // The lease was never released: the drain ended, the close started with whatever window was left.
    expect(busy!.closeCalls).toBe(1);
    expect(done.settled).toBe(false);

    await t.clock.advance(CLOSE_MS);
    expect(done).toMatchObject({ settled: true, error: undefined });
    expect(t.events.payloads('close:timeout').map((e) => e.key.downstreamSessionId).sort()).toEqual(['A', 'B']);

    held.release();
    await t.clock.flush();
    expect(busy!.closeCalls).toBe(1);
    expect(t.factory.open).toBe(0);
    expect(t.factory.doubleClosed).toEqual([]);
  });

  it('closes a busy session as soon as its lease is released during the shutdown', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    const held = await t.registry.acquire(request('A'));
    const connection = t.factory.created[0]!;

    const done = track(t.registry.closeAll());
    await t.clock.flush();
    // Drained first (SPEC §4.5): not closed under the open lease.
    expect(connection.closed).toBe(false);
    expect(done.settled).toBe(false);

    held.release();
    await t.clock.flush();
    expect(connection.closeCalls).toBe(1);
    expect(done).toMatchObject({ settled: true, error: undefined });
    expect(t.factory.doubleClosed).toEqual([]);
  });

  it('cuts short the drains of sessions evicted earlier, staying within the bound', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    t.factory.script.close = 'hang-ignoring-signal';
    const held = await t.registry.acquire(request('A'));
    const connection = t.factory.created[0]!;
    const eviction = track(t.registry.evict({ downstreamSessionId: 'A', upstreamId: 'counter' }));
    await t.clock.advance(CLOSE_MS / 2);
    expect(connection.closed).toBe(false);

    const done = track(t.registry.closeAll());
    await t.clock.flush();
    expect(connection.closeCalls).toBe(1);

    await t.clock.advance(2 * CLOSE_MS);
    expect(done).toMatchObject({ settled: true, error: undefined });
    expect(eviction).toMatchObject({ settled: true, value: true });
    expect(t.events.payloads('close:timeout')).toHaveLength(1);

    held.release();
    await t.clock.flush();
    expect(t.factory.open).toBe(0);
    expect(t.factory.doubleClosed).toEqual([]);
  });
});
