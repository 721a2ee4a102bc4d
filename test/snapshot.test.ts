import { describe, expect, it } from 'vitest';
import { type EvictReason, type RegistrySnapshot } from '../src/index.js';
import { type HttpSessionRequest as SessionRequest } from '../src/types.js';
import { createConnectionClosedError } from '../src/testing/index.js';
import { harness } from './support/harness.js';

// SPEC §4.7: snapshot() returns fresh, plain, JSON-serializable data: workerId, closed, sessions, pending,
// inFlight, counters, evictionsByReason, a per-upstream breakdown and the entries (SessionInfo).

const EVICT_REASONS: readonly EvictReason[] = [
  'evict',
  'session',
  'upstream',
  'close-all',
  'probe-failed',
  'transport-closed',
  'transport-error',
  'idle',
  'max-age',
  'capacity',
  'fingerprint-changed',
];

const SPEC_COUNTERS = [
  'creates',
  'reuses',
  'createFailures',
  'probes',
  'probeFailures',
  'evictions',
  'closeTimeouts',
  'notifications',
] as const;

function request(downstreamSessionId: string, upstreamId = 'up-1', url = 'http://u:p@127.0.0.1:9/mcp?k=v'): SessionRequest {
  return { downstreamSessionId, upstreamId, url };
}

/** Counters with every value 0 except the ones given. */
function counters(snapshot: RegistrySnapshot, nonZero: Partial<Record<(typeof SPEC_COUNTERS)[number], number>>): void {
  for (const name of SPEC_COUNTERS) expect(snapshot.counters[name], name).toBe(nonZero[name] ?? 0);
}

/** The eviction counts by reason, every reason present, 0 unless given. */
function byReason(nonZero: Partial<Record<EvictReason, number>>): Record<EvictReason, number> {
  const out = {} as Record<EvictReason, number>;
  for (const reason of EVICT_REASONS) out[reason] = nonZero[reason] ?? 0;
  return out;
}

describe('snapshot of a fresh registry', () => {
  it('reports the worker, zero sessions, zero counters and every eviction reason at 0', async () => {
    const h = harness({ workerId: 'worker-1' });
    const snapshot = h.registry.snapshot();
    expect(snapshot).toMatchObject({
      workerId: 'worker-1',
      closed: false,
      sessions: 0,
      pending: 0,
      inFlight: 0,
      upstreams: [],
      entries: [],
    });
    for (const name of SPEC_COUNTERS) expect(snapshot.counters[name]).toBe(0);
    expect(Object.values(snapshot.counters).every((v) => v === 0)).toBe(true);
    expect(snapshot.evictionsByReason).toEqual(byReason({}));
    await h.shutdown();
  });
});

describe('counters', () => {
  it('creates and reuses: one create per key, a reuse per later lease', async () => {
    const h = harness({ workerId: 'worker-1' });
    const leases = await Promise.all([h.registry.acquire(request('A')), h.registry.acquire(request('A'))]);
    for (const lease of leases) lease.release();
    (await h.registry.acquire(request('A'))).release();
    (await h.registry.acquire(request('B'))).release();
    counters(h.registry.snapshot(), { creates: 2, reuses: 2 });
    await h.shutdown();
  });

  it('createFailures: failed and timed-out creations (not invalid requests)', async () => {
    const h = harness({ workerId: 'worker-1', createTimeoutMs: 1_000 });
    h.factory.nextCreate('fail');
    await expect(h.registry.acquire(request('A'))).rejects.toMatchObject({ code: 'CREATE_FAILED' });
    h.factory.nextCreate('hang');
    const timingOut = expect(h.registry.acquire(request('A'))).rejects.toMatchObject({ code: 'CREATE_TIMEOUT' });
    await h.clock.advance(1_000);
    await timingOut;
    await expect(h.registry.acquire(request(''))).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    counters(h.registry.snapshot(), { createFailures: 2 });
    await h.shutdown();
  });

  it('createFailures: one shared creation that fails counts once, however many waited for it', async () => {
    const h = harness({ workerId: 'worker-1' });
    h.factory.nextCreate({ delayMs: 10, outcome: 'fail' });
    const waiters = Array.from({ length: 5 }, () => h.registry.acquire(request('A')).catch((e: unknown) => e));
    await h.clock.advance(10);
    const errors = await Promise.all(waiters);
    expect(new Set(errors).size).toBe(1);
    counters(h.registry.snapshot(), { createFailures: 1 });
    await h.shutdown();
  });

  it('probes and probeFailures: one per chain run, shared by concurrent acquirers', async () => {
    const h = harness({ workerId: 'worker-1' });
    (await h.registry.acquire(request('A'))).release();
    await h.clock.advance(60_001);
    const healthy = await Promise.all([h.registry.acquire(request('A')), h.registry.acquire(request('A'))]);
    for (const lease of healthy) lease.release();
    counters(h.registry.snapshot(), { creates: 1, reuses: 2, probes: 1 });

    h.factory.created[0]!.client.script.ping = 'broken';
    await h.clock.advance(60_001);
    (await h.registry.acquire(request('A'))).release();
    const snapshot = h.registry.snapshot();
    counters(snapshot, { creates: 2, reuses: 2, probes: 2, probeFailures: 1, evictions: 1 });
    expect(snapshot.evictionsByReason).toEqual(byReason({ 'probe-failed': 1 }));
    await h.shutdown();
  });

  it('evictions and closeTimeouts: a hung close is abandoned and counted once', async () => {
    const h = harness({ workerId: 'worker-1', closeTimeoutMs: 1_000 });
    (await h.registry.acquire(request('A'))).release();
    (await h.registry.acquire(request('B'))).release();
    h.factory.created[0]!.closeBehavior = 'hang-ignoring-signal';
    const evicting = h.registry.evictUpstream('up-1');
    await h.clock.advance(2_000);
    await expect(evicting).resolves.toBe(2);
    counters(h.registry.snapshot(), { creates: 2, evictions: 2, closeTimeouts: 1 });
    await h.shutdown();
  });

  it('a close that fails is counted as an eviction, not as a close timeout', async () => {
    const h = harness({ workerId: 'worker-1' });
    (await h.registry.acquire(request('A'))).release();
    h.factory.created[0]!.closeBehavior = 'fail';
    await h.registry.evict(request('A'));
    const snapshot = h.registry.snapshot();
    counters(snapshot, { creates: 1, evictions: 1 });
    expect(snapshot.counters.closeErrors).toBe(1);
    await h.shutdown();
  });

  it('notifications: every server notification, list_changed or not', async () => {
    const h = harness({ workerId: 'worker-1' });
    (await h.registry.acquire(request('A'))).release();
    const conn = h.factory.created[0]!;
    conn.notify('notifications/tools/list_changed');
    conn.notify('notifications/message', { level: 'info' });
    conn.notify('notifications/resources/updated', { uri: 'x' });
    counters(h.registry.snapshot(), { creates: 1, notifications: 3 });
    await h.shutdown();
  });
});

describe('evictionsByReason', () => {
  it('counts each reason separately and sums to counters.evictions', async () => {
    const h = harness({ workerId: 'worker-1', idleTtlMs: 0 });
    (await h.registry.acquire(request('A'))).release();
    await h.registry.evict(request('A'));
    (await h.registry.acquire(request('A'))).release();
    (await h.registry.acquire(request('A', 'up-2'))).release();
    await h.registry.evictSession('A');
    (await h.registry.acquire(request('B'))).release();
    (await h.registry.acquire(request('C'))).release();
    await h.registry.evictUpstream('up-1');
    (await h.registry.acquire(request('D'))).release();
    (await h.registry.acquire({ ...request('D'), fingerprint: 'v2' })).release();
    const lease = await h.registry.acquire({ ...request('D'), fingerprint: 'v2' });
    lease.release(createConnectionClosedError());
    (await h.registry.acquire(request('E'))).release();
    h.factory.created.at(-1)!.dropTransport();
    await h.clock.flush();
    const snapshot = h.registry.snapshot();
    expect(snapshot.evictionsByReason).toEqual(
      byReason({ evict: 1, session: 2, upstream: 2, 'fingerprint-changed': 1, 'transport-error': 1, 'transport-closed': 1 }),
    );
    expect(Object.values(snapshot.evictionsByReason).reduce((a, b) => a + b, 0)).toBe(snapshot.counters.evictions);
    (await h.registry.acquire(request('F'))).release();
    await h.shutdown();
    const closed = h.registry.snapshot();
    expect(closed.evictionsByReason['close-all']).toBe(1);
    expect(Object.values(closed.evictionsByReason).reduce((a, b) => a + b, 0)).toBe(closed.counters.evictions);
  });

  it('counts idle, max-age and capacity', async () => {
    const h = harness({ workerId: 'worker-1', idleTtlMs: 1_000, maxAgeMs: 3_000, maxSessions: 1 });
    (await h.registry.acquire(request('A'))).release();
    await h.clock.advance(1_000); // idle
    (await h.registry.acquire(request('A'))).release();
    (await h.registry.acquire(request('B'))).release(); // capacity evicts A
    for (let i = 0; i < 4; i += 1) {
      await h.clock.advance(900);
      (await h.registry.acquire(request('B'))).release();
    }
    await h.clock.flush();
    expect(h.registry.snapshot().evictionsByReason).toEqual(byReason({ idle: 1, capacity: 1, 'max-age': 1 }));
    await h.shutdown();
  });
});

describe('per-upstream breakdown', () => {
  it('reports sessions, pending creations, open leases and circuit state per upstream', async () => {
    const h = harness({ workerId: 'worker-1', circuitBreaker: { failureThreshold: 2, resetMs: 10_000 } });
    const a1 = await h.registry.acquire(request('A'));
    const a2 = await h.registry.acquire(request('A'));
    (await h.registry.acquire(request('B'))).release();
    h.factory.nextCreate('hang');
    const pending = h.registry.acquire(request('A', 'up-2')).catch((e: unknown) => e);
    const pendingToo = h.registry.acquire(request('A', 'up-2')).catch((e: unknown) => e); // shares the creation
    h.factory.script.create = 'fail';
    for (let i = 0; i < 2; i += 1) await h.registry.acquire(request(`F${i}`, 'up-3')).catch(() => undefined);
    await h.clock.flush();

    const byUpstream = Object.fromEntries(h.registry.snapshot().upstreams.map((u) => [u.upstreamId, u]));
    expect(byUpstream['up-1']).toMatchObject({ upstreamId: 'up-1', sessions: 2, pending: 0, inFlight: 2, circuit: 'closed' });
    expect(byUpstream['up-2']).toMatchObject({ upstreamId: 'up-2', sessions: 0, pending: 1, inFlight: 0, circuit: 'closed' });
    expect(byUpstream['up-3']).toMatchObject({ upstreamId: 'up-3', sessions: 0, pending: 0, inFlight: 0, circuit: 'open' });
    expect(Object.keys(byUpstream).sort()).toEqual(['up-1', 'up-2', 'up-3']);

    a1.release();
    expect(h.registry.snapshot().upstreams.find((u) => u.upstreamId === 'up-1')).toMatchObject({ sessions: 2, inFlight: 1 });
    a2.release();

    // After resetMs the circuit lets one trial through: half-open while it runs.
    await h.clock.advance(10_000);
    h.factory.script.create = 'ok';
    h.factory.nextCreate({ delayMs: 100 });
    const trial = h.registry.acquire(request('T', 'up-3'));
    await h.clock.flush();
    expect(h.registry.snapshot().upstreams.find((u) => u.upstreamId === 'up-3')).toMatchObject({ circuit: 'half-open', pending: 1 });
    await h.clock.advance(100);
    (await trial).release();
    expect(h.registry.snapshot().upstreams.find((u) => u.upstreamId === 'up-3')).toMatchObject({
      circuit: 'closed',
      sessions: 1,
      pending: 0,
    });

    await h.shutdown();
    await Promise.all([pending, pendingToo]);
  });

  it('drops an upstream from the breakdown once it has no sessions and a closed circuit', async () => {
    const h = harness({ workerId: 'worker-1' });
    (await h.registry.acquire(request('A', 'up-9'))).release();
    expect(h.registry.snapshot().upstreams.map((u) => u.upstreamId)).toEqual(['up-9']);
    await h.registry.evictUpstream('up-9');
    expect(h.registry.snapshot().upstreams).toEqual([]);
    await h.shutdown();
  });
});

describe('entries', () => {
  it('describes each session with its SessionInfo fields and a sanitized url', async () => {
    const h = harness({ workerId: 'worker-1' });
    await h.clock.advance(1_000);
    const lease = await h.registry.acquire({ ...request('A'), transport: 'sse' });
    await h.clock.advance(500);
    (await h.registry.acquire({ ...request('A'), transport: 'sse' })).release();
    const entries = h.registry.snapshot().entries;
    expect(entries).toEqual([
      {
        key: { downstreamSessionId: 'A', upstreamId: 'up-1' },
        url: 'http://***:***@127.0.0.1:9/mcp?k=***',
        transport: 'sse',
        createdAt: 1_000,
        lastUsedAt: 1_500,
        useCount: 2,
        inFlight: 1,
        state: 'ready',
        suspect: false,
      },
    ]);
    lease.release();
    await h.shutdown();
  });

  it('lists creations in progress, probing sessions and sessions still draining', async () => {
    const h = harness({ workerId: 'worker-1' });
    (await h.registry.acquire(request('P'))).release();
    const held = await h.registry.acquire(request('D'));
    await h.clock.advance(60_001);
    h.factory.nextCreate('hang');
    const creating = h.registry.acquire(request('C')).catch((e: unknown) => e);
    h.factory.created[0]!.client.script.ping = 'timeout';
    const probing = h.registry.acquire(request('P'));
    const evicting = h.registry.evict(request('D')); // D has an open lease: it drains
    await h.clock.flush();

    const states = Object.fromEntries(h.registry.snapshot().entries.map((e) => [e.key.downstreamSessionId, e.state]));
    expect(states).toEqual({ P: 'probing', D: 'draining', C: 'creating' });
    const snapshot = h.registry.snapshot();
    expect(snapshot.sessions).toBe(1); // only P is live; C is pending, D is draining
    expect(snapshot.pending).toBe(1);

    held.release();
    await evicting;
    await h.clock.advance(5_000); // the probe times out, P is recreated
    (await probing).release();
    expect(h.registry.snapshot().entries.map((e) => e.key.downstreamSessionId).sort()).toEqual(['C', 'P']);
    await h.shutdown();
    await creating;
  });
});

describe('size, inFlight and pending', () => {
  it('size counts live sessions, inFlight open leases, pending creations in progress (shared ones once)', async () => {
    const h = harness({ workerId: 'worker-1' });
    const leases = [
      await h.registry.acquire(request('A')),
      await h.registry.acquire(request('A')),
      await h.registry.acquire(request('B')),
    ];
    h.factory.nextCreate({ delayMs: 50 });
    const waiting = [h.registry.acquire(request('C')), h.registry.acquire(request('C')), h.registry.acquire(request('C'))];
    await h.clock.flush();
    let snapshot = h.registry.snapshot();
    expect(h.registry.size).toBe(2);
    expect(snapshot.sessions).toBe(2);
    expect(snapshot.inFlight).toBe(3);
    expect(snapshot.pending).toBe(1);

    await h.clock.advance(50);
    leases.push(...(await Promise.all(waiting)));
    snapshot = h.registry.snapshot();
    expect(h.registry.size).toBe(3);
    expect(snapshot).toMatchObject({ sessions: 3, inFlight: 6, pending: 0 });

    for (const lease of leases) lease.release();
    leases[0]!.release(); // idempotent: no double count
    expect(h.registry.snapshot()).toMatchObject({ sessions: 3, inFlight: 0, pending: 0 });
    await h.shutdown();
    expect(h.registry.size).toBe(0);
    expect(h.registry.snapshot()).toMatchObject({ closed: true, sessions: 0, inFlight: 0, pending: 0, entries: [] });
  });
});

describe('plain data, fresh per call', () => {
  it('survives a JSON round trip unchanged (plain data only)', async () => {
    const h = harness({ workerId: 'worker-1', circuitBreaker: { failureThreshold: 1, resetMs: 1_000 } });
    const lease = await h.registry.acquire(request('A'));
    (await h.registry.acquire(request('B', 'up-2'))).release();
    h.factory.script.create = 'fail';
    await h.registry.acquire(request('C', 'up-3')).catch(() => undefined);
    h.factory.created[0]!.notify('notifications/tools/list_changed');
    const snapshot = h.registry.snapshot();
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
    expect(structuredClone(snapshot)).toEqual(snapshot);
    const isPlain = (value: unknown): boolean => {
      if (value === null || typeof value !== 'object') return typeof value !== 'function' && typeof value !== 'symbol';
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== Array.prototype) return false;
      return Object.values(value).every(isPlain);
    };
    expect(isPlain(snapshot)).toBe(true);
    lease.release();
    await h.shutdown();
  });

  it('returns a fresh object on every call, sharing nothing with the registry or earlier snapshots', async () => {
    const h = harness({ workerId: 'worker-1' });
    const lease = await h.registry.acquire(request('A'));
    const first = h.registry.snapshot();
    const second = h.registry.snapshot();
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    expect(second.counters).not.toBe(first.counters);
    expect(second.evictionsByReason).not.toBe(first.evictionsByReason);
    expect(second.upstreams).not.toBe(first.upstreams);
    expect(second.upstreams[0]).not.toBe(first.upstreams[0]);
    expect(second.entries).not.toBe(first.entries);
    expect(second.entries[0]).not.toBe(first.entries[0]);
    expect(second.entries[0]!.key).not.toBe(first.entries[0]!.key);

    // Mutating a snapshot changes nothing else.
    first.counters.creates = 99;
    first.evictionsByReason.evict = 99;
    first.entries.length = 0;
    first.upstreams.length = 0;
    (second.entries[0] as { state: string }).state = 'closed';
    (second.entries[0]!.key as { upstreamId: string }).upstreamId = 'mutated';
    const third = h.registry.snapshot();
    expect(third.counters.creates).toBe(1);
    expect(third.evictionsByReason.evict).toBe(0);
    expect(third.entries).toHaveLength(1);
    expect(third.entries[0]).toMatchObject({ state: 'ready', key: { upstreamId: 'up-1' } });
    expect(third.upstreams).toHaveLength(1);
    expect(lease.info.key.upstreamId).toBe('up-1');

    // Later activity does not show up in an old snapshot.
    lease.release();
    (await h.registry.acquire(request('B'))).release();
    expect(third.sessions).toBe(1);
    expect(third.inFlight).toBe(1);
    await h.shutdown();
  });
});
