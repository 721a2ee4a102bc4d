import { describe, expect, it } from 'vitest';
import { SessionEvictedError } from '../src/index.js';
import { harness } from './support/harness.js';
import { request, track } from './support/track.js';

// SPEC §4.5 (eviction): evict / evictSession / evictUpstream remove entries at once, close in parallel, drain
// open leases first (bounded by closeTimeoutMs), and bound every close to 2 × closeTimeoutMs.

const CLOSE_MS = 1_000;

describe('evict(key)', () => {
  it('returns true, removes the session at once and closes it (reason evict)', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    const [connection] = await t.open(request('A'));

    const result = t.registry.evict({ downstreamSessionId: 'A', upstreamId: 'counter' });
    expect(t.registry.size).toBe(0);
    await expect(result).resolves.toBe(true);

    expect(connection!.closeCalls).toBe(1);
    expect(t.events.payloads('session:evicted').map((e) => [e.key, e.reason])).toEqual([[{ downstreamSessionId: 'A', upstreamId: 'counter' }, 'evict']]);
    expect(t.registry.snapshot().evictionsByReason.evict).toBe(1);
    await t.shutdown();
  });

  it('returns false for an unknown key and for a key already evicted', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    await t.open(request('A'));

    await expect(t.registry.evict({ downstreamSessionId: 'nobody', upstreamId: 'counter' })).resolves.toBe(false);
    await expect(t.registry.evict({ downstreamSessionId: 'A', upstreamId: 'elsewhere' })).resolves.toBe(false);
    await expect(t.registry.evict({ downstreamSessionId: 'A', upstreamId: 'counter' })).resolves.toBe(true);
    await expect(t.registry.evict({ downstreamSessionId: 'A', upstreamId: 'counter' })).resolves.toBe(false);

    expect(t.events.payloads('session:evicted')).toHaveLength(1);
    expect(t.factory.created[0]!.closeCalls).toBe(1);
    await t.shutdown();
  });

  it('leaves other keys alone', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    const [a, b, c] = await t.open(request('A'), request('B'), request('A', 'search'));

    await t.registry.evict({ downstreamSessionId: 'A', upstreamId: 'counter' });

    expect([a!.closed, b!.closed, c!.closed]).toEqual([true, false, false]);
    expect(t.registry.size).toBe(2);
    await t.shutdown();
  });

  it('counts a creation in progress: it is aborted and its waiters reject with SessionEvictedError', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    t.factory.nextCreate('hang');
    const waiters = [track(t.registry.acquire(request('A'))), track(t.registry.acquire(request('A')))];
    await t.clock.flush();
    expect(t.factory.createCalls).toBe(1);

    await expect(t.registry.evict({ downstreamSessionId: 'A', upstreamId: 'counter' })).resolves.toBe(true);
    await t.clock.flush();

    expect(t.factory.requests[0]!.signal.aborted).toBe(true);
    for (const waiter of waiters) {
      expect(waiter.settled).toBe(true);
      expect(waiter.error).toBeInstanceOf(SessionEvictedError);
      expect((waiter.error as SessionEvictedError).code).toBe('EVICTED');
    }
    await t.shutdown();
  });
});

describe('evictSession(downstreamSessionId)', () => {
  it('returns how many upstream sessions of that downstream session it removed (reason session)', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    const [a1, a2, a3, b1] = await t.open(request('A', 'u1'), request('A', 'u2'), request('A', 'u3'), request('B', 'u1'));

    await expect(t.registry.evictSession('A')).resolves.toBe(3);

    expect([a1!.closed, a2!.closed, a3!.closed, b1!.closed]).toEqual([true, true, true, false]);
    expect(t.events.payloads('session:evicted').map((e) => e.reason)).toEqual(['session', 'session', 'session']);
    expect(t.registry.size).toBe(1);
    await t.shutdown();
  });

  it('returns 0 for an unknown downstream session', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    await t.open(request('A'));

    await expect(t.registry.evictSession('nobody')).resolves.toBe(0);
    expect(t.registry.size).toBe(1);
    expect(t.events.payloads('session:evicted')).toEqual([]);
    await t.shutdown();
  });

  it('closes its sessions in parallel: every close() starts before any settles', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    t.factory.script.close = 'hang-until-signal';
    const connections = await t.open(request('A', 'u1'), request('A', 'u2'), request('A', 'u3'));

    const result = track(t.registry.evictSession('A'));
    await t.clock.flush();

    expect(connections.map((c) => c.closeCalls)).toEqual([1, 1, 1]);
    expect(connections.map((c) => c.closeSettled)).toEqual([false, false, false]);
    expect(result.settled).toBe(false);

    // One grace window for all three, not three windows one after the other.
    await t.clock.advance(CLOSE_MS);
    expect(connections.map((c) => c.closeSettled)).toEqual([true, true, true]);
    expect(result).toMatchObject({ settled: true, value: 3 });
    expect(t.events.payloads('close:timeout')).toEqual([]);
    await t.shutdown();
  });
});

describe('evictUpstream(upstreamId)', () => {
  it('returns how many downstream sessions of that upstream it removed (reason upstream)', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    const [a, b, c, other] = await t.open(request('A', 'u1'), request('B', 'u1'), request('C', 'u1'), request('A', 'u2'));

    await expect(t.registry.evictUpstream('u1')).resolves.toBe(3);

    expect([a!.closed, b!.closed, c!.closed, other!.closed]).toEqual([true, true, true, false]);
    expect(t.events.payloads('session:evicted').map((e) => e.reason)).toEqual(['upstream', 'upstream', 'upstream']);
    expect(t.registry.size).toBe(1);
    await t.shutdown();
  });

  it('returns 0 for an unknown upstream', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    await t.open(request('A', 'u1'));

    await expect(t.registry.evictUpstream('nothing-here')).resolves.toBe(0);
    expect(t.registry.size).toBe(1);
    await t.shutdown();
  });

  it('closes its sessions in parallel: every close() starts before any settles', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    t.factory.script.close = 'hang-until-signal';
    const connections = await t.open(request('A', 'u1'), request('B', 'u1'), request('C', 'u1'));

    const result = track(t.registry.evictUpstream('u1'));
    await t.clock.flush();

    expect(connections.map((c) => c.closeCalls)).toEqual([1, 1, 1]);
    expect(connections.map((c) => c.closeSettled)).toEqual([false, false, false]);

    await t.clock.advance(CLOSE_MS);
    expect(result).toMatchObject({ settled: true, value: 3 });
    await t.shutdown();
  });

  it('closes an idle session at once while a busy one of the same upstream drains', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    const [idle] = await t.open(request('A', 'u1'));
    const lease = await t.registry.acquire(request('B', 'u1'));
    const busy = t.factory.connectionsFor(request('B', 'u1'))[0]!;

    const result = track(t.registry.evictUpstream('u1'));
    await t.clock.flush();

    expect(idle!.closed).toBe(true);
    expect(busy.closed).toBe(false);
    expect(result.settled).toBe(false);

    lease.release();
    await t.clock.flush();
    expect(busy.closeCalls).toBe(1);
    expect(result).toMatchObject({ settled: true, value: 2 });
    await t.shutdown();
  });
});

describe('draining open leases', () => {
  it('closes the session when its last open lease is released, not before', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    const first = await t.registry.acquire(request('A'));
    const second = await t.registry.acquire(request('A'));
    const connection = t.factory.created[0]!;

    const result = track(t.registry.evict({ downstreamSessionId: 'A', upstreamId: 'counter' }));
    await t.clock.flush();

    expect(t.registry.size).toBe(0);
    expect(t.registry.snapshot().draining).toBe(1);
    expect(connection.closed).toBe(false);
    // The lease's client still works while it drains.
    await expect(first.client.callTool({ name: 'increment' })).resolves.toMatchObject({ content: [{ text: '1' }] });

    first.release();
    await t.clock.flush();
    expect(connection.closed).toBe(false);
    expect(result.settled).toBe(false);

    second.release();
    await t.clock.flush();
    expect(connection.closeCalls).toBe(1);
    expect(t.registry.snapshot().draining).toBe(0);
    expect(result).toMatchObject({ settled: true, value: true });
    await t.shutdown();
  });

  it('stops waiting for a lease that is never released after closeTimeoutMs', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    const lease = await t.registry.acquire(request('A'));
    const connection = t.factory.created[0]!;

    const result = track(t.registry.evict({ downstreamSessionId: 'A', upstreamId: 'counter' }));
    await t.clock.advance(CLOSE_MS - 1);
    expect(connection.closed).toBe(false);

    await t.clock.advance(1);
    expect(connection.closeCalls).toBe(1);
    expect(result).toMatchObject({ settled: true, value: true });

    // Releasing the lease late changes nothing and closes nothing twice.
    lease.release();
    lease.release();
    await t.clock.flush();
    expect(connection.closeCalls).toBe(1);
    expect(t.registry.snapshot().inFlight).toBe(0);
    await t.shutdown();
  });

  it('gives acquires during a drain a fresh session', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    const old = await t.registry.acquire(request('A'));
    await old.client.callTool({ name: 'increment' });

    const result = track(t.registry.evict({ downstreamSessionId: 'A', upstreamId: 'counter' }));
    const fresh = await t.registry.acquire(request('A'));

    expect(t.factory.createCalls).toBe(2);
    expect(fresh.client).not.toBe(old.client);
    // A fresh upstream session: its state starts over.
    await expect(fresh.client.callTool({ name: 'increment' })).resolves.toMatchObject({ content: [{ text: '1' }] });
    expect(t.factory.created[0]!.closed).toBe(false);
    expect(t.factory.created[1]!.closed).toBe(false);

    old.release();
    await t.clock.flush();
    expect(t.factory.created[0]!.closeCalls).toBe(1);
    expect(t.factory.created[1]!.closed).toBe(false);
    expect(result).toMatchObject({ settled: true, value: true });

    fresh.release();
    await t.shutdown();
  });
});

describe('close errors', () => {
  it('are logged and counted as evictions, never thrown to the evicting caller', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    t.factory.script.close = 'fail';
    await t.open(request('A', 'u1'), request('A', 'u2'), request('B', 'u1'));

    await expect(t.registry.evict({ downstreamSessionId: 'B', upstreamId: 'u1' })).resolves.toBe(true);
    await expect(t.registry.evictSession('A')).resolves.toBe(2);

    expect(t.factory.created.map((c) => c.closeCalls)).toEqual([1, 1, 1]);
    const warnings = t.logs.filter((record) => record.level === 'warn' && /close/i.test(record.message));
    expect(warnings).toHaveLength(3);
    expect(warnings.map((record) => record.fields?.['upstreamId']).sort()).toEqual(['u1', 'u1', 'u2']);
    const { counters } = t.registry.snapshot();
    expect(counters.evictions).toBe(3);
    expect(counters.closeTimeouts).toBe(0);
    expect(t.events.payloads('close:timeout')).toEqual([]);
    await t.shutdown();
  });

  it('a close() that throws synchronously is handled the same way', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    const [connection] = await t.open(request('A'));
    connection!.close = () => {
      throw new Error('close exploded');
    };

    await expect(t.registry.evict({ downstreamSessionId: 'A', upstreamId: 'counter' })).resolves.toBe(true);
    expect(t.logs.some((record) => record.level === 'warn' && /close/i.test(record.message))).toBe(true);
    expect(t.registry.size).toBe(0);

    const done = t.registry.closeAll();
    await t.clock.advance(2 * CLOSE_MS);
    await done;
  });
});

describe('bounded close', () => {
  it('fires the close signal after closeTimeoutMs; a close that obeys it settles then', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    t.factory.script.close = 'hang-until-signal';
    const [connection] = await t.open(request('A'));

    const result = track(t.registry.evict({ downstreamSessionId: 'A', upstreamId: 'counter' }));
    await t.clock.advance(CLOSE_MS - 1);
    expect(connection!.closeSignal?.aborted).toBe(false);
    expect(result.settled).toBe(false);

    await t.clock.advance(1);
    expect(connection!.closeSignal?.aborted).toBe(true);
    expect(connection!.closeSettled).toBe(true);
    expect(result).toMatchObject({ settled: true, value: true });
    expect(t.events.payloads('close:timeout')).toEqual([]);
    expect(t.registry.snapshot().counters.closeTimeouts).toBe(0);
    await t.shutdown();
  });

  it('abandons a close that never settles closeTimeoutMs after the signal, with close:timeout and closeTimeouts', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    t.factory.script.close = 'hang-ignoring-signal';
    const [connection] = await t.open(request('A'));

    const result = track(t.registry.evict({ downstreamSessionId: 'A', upstreamId: 'counter' }));
    await t.clock.advance(CLOSE_MS);
    expect(connection!.closeSignal?.aborted).toBe(true);
    expect(result.settled).toBe(false);
    expect(t.events.payloads('close:timeout')).toEqual([]);
    expect(t.registry.snapshot().draining).toBe(0);

    await t.clock.advance(CLOSE_MS);
    expect(result).toMatchObject({ settled: true, value: true });
    expect(connection!.closeSettled).toBe(false);
    expect(t.events.payloads('close:timeout')).toEqual([{ key: { downstreamSessionId: 'A', upstreamId: 'counter' }, closeTimeoutMs: CLOSE_MS }]);
    expect(t.registry.snapshot().counters.closeTimeouts).toBe(1);
    expect(t.logs.some((record) => record.level === 'warn' && /timed out/i.test(record.message))).toBe(true);
    await t.shutdown();
  });

  it('bounds evictSession and evictUpstream the same way, however many closes hang', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    t.factory.script.close = 'hang-ignoring-signal';
    await t.open(request('A', 'u1'), request('A', 'u2'), request('B', 'u1'), request('C', 'u1'));

    const bySession = track(t.registry.evictSession('A'));
    const byUpstream = track(t.registry.evictUpstream('u1'));
    await t.clock.advance(CLOSE_MS);
    expect([bySession.settled, byUpstream.settled]).toEqual([false, false]);

    await t.clock.advance(CLOSE_MS);
    expect(bySession).toMatchObject({ settled: true, value: 2 });
    expect(byUpstream).toMatchObject({ settled: true, value: 2 });
    expect(t.events.payloads('close:timeout')).toHaveLength(4);
    expect(t.registry.snapshot().counters.closeTimeouts).toBe(4);
    await t.shutdown();
  });

  it('starts the close grace window when a drain ends by timeout', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    t.factory.script.close = 'hang-until-signal';
    await t.registry.acquire(request('A'));
    const connection = t.factory.created[0]!;

    const result = track(t.registry.evict({ downstreamSessionId: 'A', upstreamId: 'counter' }));
    await t.clock.advance(CLOSE_MS);
    expect(connection.closeCalls).toBe(1);
    expect(connection.closeSignal?.aborted).toBe(false);

    await t.clock.advance(CLOSE_MS);
    expect(connection.closeSignal?.aborted).toBe(true);
    expect(result).toMatchObject({ settled: true, value: true });
    await t.shutdown();
  });
});
