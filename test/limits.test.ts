import { describe, expect, it } from 'vitest';
import {
  CapacityError,
  CircuitOpenError,
  SessionCreateError,
  SessionCreateTimeoutError,
  UpstreamSessionRegistry,
  type CircuitCloseEvent,
  type CircuitOpenEvent,
  type RegistryOptions,
  type SessionEvictedEvent,
  type SessionRequest,
} from '../src/index.js';
import { FakeSessionFactory, ManualClock, type FakeUpstreamClient } from '../src/testing/index.js';
import { request, track } from './support/track.js';

// SPEC §4.6 (limits and freshness): idleTtlMs, maxAgeMs, maxSessions / maxSessionsPerUpstream, fingerprint
// change and the per-upstream circuit breaker, all driven by ManualClock.

const CLOSE_MS = 1_000;

function keyOf(r: SessionRequest): string {
  return `${r.downstreamSessionId}/${r.upstreamId}`;
}

type TestOptions = Omit<RegistryOptions<FakeUpstreamClient>, 'sessionFactory' | 'clock'>;

function setup(options: TestOptions = {}) {
  const clock = new ManualClock();
  const factory = new FakeSessionFactory({ clock });
  const registry = new UpstreamSessionRegistry({ sessionFactory: factory, clock, closeTimeoutMs: CLOSE_MS, ...options });
  const evicted: SessionEvictedEvent[] = [];
  const circuitOpened: CircuitOpenEvent[] = [];
  const circuitClosed: CircuitCloseEvent[] = [];
  registry.on('session:evicted', (event) => evicted.push(event));
  registry.on('circuit:open', (event) => circuitOpened.push(event));
  registry.on('circuit:close', (event) => circuitClosed.push(event));

  /** Uses one session briefly (creating it if needed) and returns its current connection. */
  async function use(r: SessionRequest) {
    await registry.withSession(r, () => undefined);
    const connection = factory.connectionsFor(r).at(-1);
    if (connection === undefined) throw new Error(`no connection for ${keyOf(r)}`);
    return connection;
  }

  /** `key → reason` of every eviction so far. */
  function evictions(): string[] {
    return evicted.map((e) => `${e.key.downstreamSessionId}/${e.key.upstreamId}:${e.reason}`);
  }

  /** Shuts down within the bound and checks nothing leaked and nothing was closed twice. */
  async function shutdown(): Promise<void> {
    const done = registry.closeAll();
    await clock.advance(2 * CLOSE_MS);
    await done;
    expect(factory.open).toBe(0);
    expect(factory.doubleClosed).toEqual([]);
  }

  return { clock, factory, registry, evicted, circuitOpened, circuitClosed, use, evictions, shutdown };
}

describe('idleTtlMs', () => {
  it('closes a session idle for idleTtlMs (reason idle)', async () => {
    const t = setup({ idleTtlMs: 10_000 });
    const connection = await t.use(request('A'));

    await t.clock.advance(9_999);
    expect(t.registry.size).toBe(1);
    expect(connection.closed).toBe(false);

    await t.clock.advance(1);
    expect(t.registry.size).toBe(0);
    expect(connection.closeCalls).toBe(1);
    expect(t.evictions()).toEqual(['A/counter:idle']);
    expect(t.registry.snapshot().evictionsByReason.idle).toBe(1);
    await t.shutdown();
  });

  it('counts idleness from the last use', async () => {
    const t = setup({ idleTtlMs: 10_000 });
    const connection = await t.use(request('A'));
    await t.clock.advance(6_000);
    await t.use(request('A'));

    await t.clock.advance(9_999);
    expect(connection.closed).toBe(false);
    await t.clock.advance(1);
    expect(connection.closeCalls).toBe(1);
    expect(t.factory.createCalls).toBe(1);
    await t.shutdown();
  });

  it('does not close a session with an open lease; the idle clock starts at release', async () => {
    const t = setup({ idleTtlMs: 10_000 });
    const lease = await t.registry.acquire(request('A'));
    const connection = t.factory.created[0]!;

    await t.clock.advance(50_000);
    expect(t.registry.size).toBe(1);
    expect(connection.closed).toBe(false);

    lease.release();
    await t.clock.advance(9_999);
    expect(connection.closed).toBe(false);
    await t.clock.advance(1);
    expect(connection.closeCalls).toBe(1);
    expect(t.evictions()).toEqual(['A/counter:idle']);
    await t.shutdown();
  });

  it('closes only the sessions that are idle long enough', async () => {
    const t = setup({ idleTtlMs: 10_000 });
    const a = await t.use(request('A'));
    await t.clock.advance(5_000);
    const b = await t.use(request('B'));

    await t.clock.advance(5_000);
    expect([a.closed, b.closed]).toEqual([true, false]);
    await t.clock.advance(5_000);
    expect([a.closed, b.closed]).toEqual([true, true]);
    expect(t.evictions()).toEqual(['A/counter:idle', 'B/counter:idle']);
    await t.shutdown();
  });

  it('0 turns it off', async () => {
    const t = setup({ idleTtlMs: 0 });
    const connection = await t.use(request('A'));

    await t.clock.advance(10 * 3_600_000);
    expect(t.registry.size).toBe(1);
    expect(connection.closed).toBe(false);
    expect(t.evicted).toEqual([]);
    await t.shutdown();
  });
});

describe('maxAgeMs', () => {
  it('closes an idle session older than maxAgeMs (reason max-age), however recently it was used', async () => {
    const t = setup({ maxAgeMs: 10_000, idleTtlMs: 0 });
    const connection = await t.use(request('A'));
    await t.clock.advance(5_000);
    await t.use(request('A'));
    await t.clock.advance(4_999);
    await t.use(request('A'));
    expect(connection.closed).toBe(false);

    await t.clock.advance(1);
    expect(t.registry.size).toBe(0);
    expect(connection.closeCalls).toBe(1);
    expect(t.evictions()).toEqual(['A/counter:max-age']);

    // The next acquire gets a new session.
    const next = await t.use(request('A'));
    expect(next).not.toBe(connection);
    expect(t.factory.createCalls).toBe(2);
    await t.shutdown();
  });

  it('closes a busy old session when its last lease is released, not while it is in use', async () => {
    const t = setup({ maxAgeMs: 10_000, idleTtlMs: 0 });
    const first = await t.registry.acquire(request('A'));
    const second = await t.registry.acquire(request('A'));
    const connection = t.factory.created[0]!;

    await t.clock.advance(15_000);
    expect(t.registry.size).toBe(1);
    expect(connection.closed).toBe(false);

    first.release();
    await t.clock.flush();
    expect(connection.closed).toBe(false);

    second.release();
    await t.clock.flush();
    expect(connection.closeCalls).toBe(1);
    expect(t.registry.size).toBe(0);
    expect(t.evictions()).toEqual(['A/counter:max-age']);
    await t.shutdown();
  });

  it('is off by default', async () => {
    const t = setup({ idleTtlMs: 0 });
    const connection = await t.use(request('A'));
    await t.clock.advance(10 * 3_600_000);
    expect(connection.closed).toBe(false);
    await t.shutdown();
  });
});

describe('maxSessions', () => {
  it('at the limit, evicts the least recently used idle session (reason capacity)', async () => {
    const t = setup({ maxSessions: 2 });
    const a = await t.use(request('A'));
    await t.clock.advance(10);
    const b = await t.use(request('B'));
    await t.clock.advance(10);
    await t.use(request('A')); // A is now the most recently used

    const c = await t.use(request('C'));

    expect(t.evictions()).toEqual(['B/counter:capacity']);
    expect([a.closed, b.closeCalls, c.closed]).toEqual([false, 1, false]);
    expect(t.registry.size).toBe(2);
    expect(t.registry.snapshot().evictionsByReason.capacity).toBe(1);
    await t.shutdown();
  });

  it('counts sessions of every upstream', async () => {
    const t = setup({ maxSessions: 2 });
    const a = await t.use(request('A', 'u1'));
    await t.use(request('A', 'u2'));

    await t.use(request('B', 'u3'));

    expect(t.evictions()).toEqual(['A/u1:capacity']);
    expect(a.closeCalls).toBe(1);
    await t.shutdown();
  });

  it('throws CapacityError (scope registry, limit) when no session is idle, and creates nothing', async () => {
    const t = setup({ maxSessions: 2 });
    const leases = [await t.registry.acquire(request('A')), await t.registry.acquire(request('B'))];

    const error: unknown = await t.registry.acquire(request('C')).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CapacityError);
    expect(error).toMatchObject({ code: 'CAPACITY', scope: 'registry', limit: 2 });
    expect(t.factory.createCalls).toBe(2);
    expect(t.registry.size).toBe(2);
    expect(t.registry.snapshot()).toMatchObject({ pending: 0, sessions: 2 });
    expect(t.registry.snapshot().entries.map((e) => e.key.downstreamSessionId).sort()).toEqual(['A', 'B']);
    expect(t.evicted).toEqual([]);

    // Once a session is idle again, there is room.
    leases[0]!.release();
    await t.use(request('C'));
    expect(t.evictions()).toEqual(['A/counter:capacity']);
    leases[1]!.release();
    await t.shutdown();
  });
});

describe('maxSessionsPerUpstream', () => {
  it('at the limit, evicts that upstream’s least recently used idle session, not another upstream’s', async () => {
    const t = setup({ maxSessionsPerUpstream: 2 });
    const other = await t.use(request('A', 'u2')); // least recently used overall, but another upstream
    await t.clock.advance(10);
    const a = await t.use(request('A', 'u1'));
    await t.clock.advance(10);
    const b = await t.use(request('B', 'u1'));

    await t.use(request('C', 'u1'));

    expect(t.evictions()).toEqual(['A/u1:capacity']);
    expect([other.closed, a.closeCalls, b.closed]).toEqual([false, 1, false]);
    expect(t.registry.size).toBe(3);
    await t.shutdown();
  });

  it('throws CapacityError (scope upstream, limit) when none of its sessions is idle, and creates nothing', async () => {
    const t = setup({ maxSessionsPerUpstream: 1 });
    const other = await t.use(request('B', 'u2')); // idle, but on another upstream
    const lease = await t.registry.acquire(request('A', 'u1'));

    const error: unknown = await t.registry.acquire(request('C', 'u1')).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CapacityError);
    expect(error).toMatchObject({ code: 'CAPACITY', scope: 'upstream', limit: 1 });
    expect(t.factory.createCalls).toBe(2);
    expect(other.closed).toBe(false);
    expect(t.evicted).toEqual([]);
    expect(t.registry.size).toBe(2);

    // Other upstreams are not limited by it.
    await t.use(request('C', 'u3'));
    expect(t.registry.size).toBe(3);
    lease.release();
    await t.shutdown();
  });
});

describe('fingerprint change', () => {
  it('a different url closes the old session (reason fingerprint-changed) and creates a new one', async () => {
    const t = setup();
    const old = await t.use(request('A'));

    const moved = { ...request('A'), url: 'http://127.0.0.1:10/counter/mcp' };
    const fresh = await t.use(moved);

    expect(fresh).not.toBe(old);
    expect(fresh.request.url).toBe(moved.url);
    expect(old.closeCalls).toBe(1);
    expect(t.evictions()).toEqual(['A/counter:fingerprint-changed']);
    expect(t.factory.createCalls).toBe(2);
    expect(t.registry.size).toBe(1);
    await t.shutdown();
  });

  it('a different transport closes the old session and creates a new one', async () => {
    const t = setup();
    const old = await t.use(request('A'));

    const fresh = await t.use({ ...request('A'), transport: 'sse' });

    expect(fresh.request.transport).toBe('sse');
    expect(old.closeCalls).toBe(1);
    expect(t.evictions()).toEqual(['A/counter:fingerprint-changed']);
    await t.shutdown();
  });

  it('a different host-supplied fingerprint closes the old session; the same one reuses it', async () => {
    const t = setup();
    const v1 = await t.use({ ...request('A'), fingerprint: 'credentials-v1' });
    await t.use({ ...request('A'), fingerprint: 'credentials-v1' });
    expect(t.factory.createCalls).toBe(1);

    const v2 = await t.use({ ...request('A'), fingerprint: 'credentials-v2' });

    expect(v2).not.toBe(v1);
    expect(v1.closeCalls).toBe(1);
    expect(t.evictions()).toEqual(['A/counter:fingerprint-changed']);
    expect(t.factory.createCalls).toBe(2);
    await t.shutdown();
  });

  it('changed headers alone reuse the session', async () => {
    const t = setup();
    const first = await t.use({ ...request('A'), headers: { authorization: 'Bearer token-1' } });
    const second = await t.use({ ...request('A'), headers: { authorization: 'Bearer token-2', 'x-extra': 'yes' } });

    expect(second).toBe(first);
    expect(first.closed).toBe(false);
    expect(t.factory.createCalls).toBe(1);
    expect(t.evicted).toEqual([]);
    await t.shutdown();
  });
});

describe('circuit breaker', () => {
  const breaker = { failureThreshold: 3, resetMs: 10_000 };

  /** Fails `n` creations for upstream `counter`, each for its own downstream session. */
  async function failCreations(t: ReturnType<typeof setup>, n: number, prefix = 'fail'): Promise<unknown[]> {
    const errors: unknown[] = [];
    for (let i = 0; i < n; i += 1) {
      errors.push(await t.registry.acquire(request(`${prefix}-${i}`)).catch((e: unknown) => e));
    }
    return errors;
  }

  it('opens after failureThreshold consecutive creation failures; creations then fail fast with retryAfterMs', async () => {
    const t = setup({ circuitBreaker: breaker });
    t.factory.script.create = 'fail';

    const errors = await failCreations(t, 3);
    expect(errors.every((e) => e instanceof SessionCreateError)).toBe(true);
    expect(t.circuitOpened).toEqual([{ upstreamId: 'counter', failures: 3, retryAfterMs: 10_000 }]);
    expect(t.registry.snapshot().upstreams).toMatchObject([{ upstreamId: 'counter', circuit: 'open' }]);

    t.factory.script.create = 'ok';
    const fast: unknown = await t.registry.acquire(request('next')).catch((e: unknown) => e);
    expect(fast).toBeInstanceOf(CircuitOpenError);
    expect(fast).toMatchObject({ code: 'CIRCUIT_OPEN', upstreamId: 'counter', retryAfterMs: 10_000 });

    await t.clock.advance(4_000);
    await expect(t.registry.acquire(request('next'))).rejects.toMatchObject({ retryAfterMs: 6_000 });
    expect(t.factory.createCalls).toBe(3);
    expect(t.registry.size).toBe(0);
    await t.shutdown();
  });

  it('counts only consecutive failures', async () => {
    const t = setup({ circuitBreaker: breaker });
    t.factory.script.create = 'fail';
    await failCreations(t, 2, 'first');
    t.factory.script.create = 'ok';
    await t.use(request('ok'));
    t.factory.script.create = 'fail';
    await failCreations(t, 2, 'second');

    expect(t.circuitOpened).toEqual([]);
    expect(t.factory.createCalls).toBe(5);
    await t.shutdown();
  });

  it('only affects the failing upstream', async () => {
    const t = setup({ circuitBreaker: breaker });
    t.factory.script.create = 'fail';
    await failCreations(t, 3);
    t.factory.script.create = 'ok';

    await t.use(request('A', 'healthy'));
    expect(t.registry.size).toBe(1);
    await t.shutdown();
  });

  it('after resetMs lets one trial creation through; concurrent ones fail fast; its success closes the circuit', async () => {
    const t = setup({ circuitBreaker: breaker });
    t.factory.script.create = 'fail';
    await failCreations(t, 3);
    t.factory.script.create = 'ok';

    await t.clock.advance(9_999);
    await expect(t.registry.acquire(request('early'))).rejects.toMatchObject({ retryAfterMs: 1 });
    await t.clock.advance(1);

    const trial = t.factory.nextCreate('manual');
    const trialWaiter = track(t.registry.acquire(request('trial')));
    const sameKey = track(t.registry.acquire(request('trial')));
    await t.clock.flush();
    expect(trial.started).toBe(true);
    expect(t.factory.createCalls).toBe(4);
    expect(t.registry.snapshot().upstreams).toMatchObject([{ circuit: 'half-open' }]);

    const concurrent: unknown = await t.registry.acquire(request('concurrent')).catch((e: unknown) => e);
    expect(concurrent).toBeInstanceOf(CircuitOpenError);
    expect((concurrent as CircuitOpenError).retryAfterMs).toBeGreaterThan(0);
    expect(t.factory.createCalls).toBe(4);

    trial.resolve();
    await t.clock.flush();
    expect(trialWaiter.error).toBeUndefined();
    expect(sameKey.error).toBeUndefined();
    expect(t.circuitClosed).toEqual([{ upstreamId: 'counter' }]);
    expect(t.registry.snapshot().upstreams).toMatchObject([{ circuit: 'closed', consecutiveFailures: 0 }]);

    await t.use(request('concurrent'));
    expect(t.factory.createCalls).toBe(5);
    for (const waiter of [trialWaiter, sameKey]) (waiter.value as { release(): void }).release();
    await t.shutdown();
  });

  it('re-opens for another resetMs when the trial fails', async () => {
    const t = setup({ circuitBreaker: breaker });
    t.factory.script.create = 'fail';
    await failCreations(t, 3);

    await t.clock.advance(10_000);
    await expect(t.registry.acquire(request('trial'))).rejects.toBeInstanceOf(SessionCreateError);
    expect(t.factory.createCalls).toBe(4);
    expect(t.circuitOpened).toHaveLength(2);
    expect(t.circuitOpened[1]).toMatchObject({ upstreamId: 'counter', retryAfterMs: 10_000 });

    await expect(t.registry.acquire(request('again'))).rejects.toMatchObject({ code: 'CIRCUIT_OPEN', retryAfterMs: 10_000 });
    expect(t.factory.createCalls).toBe(4);

    t.factory.script.create = 'ok';
    await t.clock.advance(10_000);
    await t.use(request('again'));
    expect(t.circuitClosed).toHaveLength(1);
    expect(t.factory.createCalls).toBe(5);
    await t.shutdown();
  });

  it('keeps live sessions working while it is open', async () => {
    const t = setup({ circuitBreaker: breaker });
    const live = await t.use(request('live'));
    t.factory.script.create = 'fail';
    await failCreations(t, 3);
    expect(t.circuitOpened).toHaveLength(1);

    const result = await t.registry.withSession(request('live'), (client) => client.callTool({ name: 'increment' }));
    expect(result.content[0]?.text).toBe('1');
    expect(t.factory.connectionsFor(request('live'))).toEqual([live]);
    expect(t.factory.createCalls).toBe(4);

    // Also after the idle window, when reuse runs the health probe first.
    await t.clock.advance(60_001);
    const again = await t.registry.withSession(request('live'), (client) => client.callTool({ name: 'increment' }));
    expect(again.content[0]?.text).toBe('2');
    expect(t.factory.createCalls).toBe(4);
    await t.shutdown();
  });

  it('counts create timeouts as failures', async () => {
    const t = setup({ circuitBreaker: { failureThreshold: 2, resetMs: 10_000 }, createTimeoutMs: 1_000 });
    t.factory.script.create = 'hang';

    for (const id of ['A', 'B']) {
      const waiter = track(t.registry.acquire(request(id)));
      await t.clock.advance(1_000);
      expect(waiter.error).toBeInstanceOf(SessionCreateTimeoutError);
    }

    expect(t.circuitOpened).toEqual([{ upstreamId: 'counter', failures: 2, retryAfterMs: 10_000 }]);
    await expect(t.registry.acquire(request('C'))).rejects.toBeInstanceOf(CircuitOpenError);
    expect(t.factory.createCalls).toBe(2);
    await t.shutdown();
  });

  it('`circuitBreaker: false` turns it off', async () => {
    const t = setup({ circuitBreaker: false });
    t.factory.script.create = 'fail';

    const errors = await failCreations(t, 10);

    expect(errors.every((e) => e instanceof SessionCreateError)).toBe(true);
    expect(t.factory.createCalls).toBe(10);
    expect(t.circuitOpened).toEqual([]);
    t.factory.script.create = 'ok';
    await t.use(request('after'));
    expect(t.registry.snapshot().upstreams).toMatchObject([{ upstreamId: 'counter', circuit: 'closed' }]);
    await t.shutdown();
  });

  it('is on by default: 5 failures open it for 30 s', async () => {
    const t = setup();
    t.factory.script.create = 'fail';
    await failCreations(t, 5);

    expect(t.circuitOpened).toEqual([{ upstreamId: 'counter', failures: 5, retryAfterMs: 30_000 }]);
    await expect(t.registry.acquire(request('next'))).rejects.toMatchObject({ retryAfterMs: 30_000 });
    expect(t.factory.createCalls).toBe(5);
    await t.shutdown();
  });
});
