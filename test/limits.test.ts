import { describe, expect, it } from 'vitest';
import {
  CapacityError,
  CircuitOpenError,
  InvalidRequestError,
  NotOwnerError,
  SessionCreateError,
  SessionCreateTimeoutError,
} from '../src/index.js';
import { harness, type Harness } from './support/harness.js';
import { request, track, http } from './support/track.js';

// SPEC §4.6 (limits and freshness): idleTtlMs, maxAgeMs, maxSessions / maxSessionsPerUpstream, fingerprint
// change and the per-upstream circuit breaker, all driven by ManualClock.

const CLOSE_MS = 1_000;

describe('idleTtlMs', () => {
  it('closes a session idle for idleTtlMs (reason idle)', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS, idleTtlMs: 10_000 });
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
    const t = harness({ closeTimeoutMs: CLOSE_MS, idleTtlMs: 10_000 });
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
    const t = harness({ closeTimeoutMs: CLOSE_MS, idleTtlMs: 10_000 });
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
    const t = harness({ closeTimeoutMs: CLOSE_MS, idleTtlMs: 10_000 });
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
    const t = harness({ closeTimeoutMs: CLOSE_MS, idleTtlMs: 0 });
    const connection = await t.use(request('A'));

    await t.clock.advance(10 * 3_600_000);
    expect(t.registry.size).toBe(1);
    expect(connection.closed).toBe(false);
    expect(t.events.payloads('session:evicted')).toEqual([]);
    await t.shutdown();
  });
});

describe('maxAgeMs', () => {
  it('closes an idle session older than maxAgeMs (reason max-age), however recently it was used', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS, maxAgeMs: 10_000, idleTtlMs: 0 });
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
    const t = harness({ closeTimeoutMs: CLOSE_MS, maxAgeMs: 10_000, idleTtlMs: 0 });
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
    const t = harness({ closeTimeoutMs: CLOSE_MS, idleTtlMs: 0 });
    const connection = await t.use(request('A'));
    await t.clock.advance(10 * 3_600_000);
    expect(connection.closed).toBe(false);
    await t.shutdown();
  });
});

describe('maxSessions', () => {
  it('at the limit, evicts the least recently used idle session (reason capacity)', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS, maxSessions: 2 });
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
    const t = harness({ closeTimeoutMs: CLOSE_MS, maxSessions: 2 });
    const a = await t.use(request('A', 'u1'));
    await t.use(request('A', 'u2'));

    await t.use(request('B', 'u3'));

    expect(t.evictions()).toEqual(['A/u1:capacity']);
    expect(a.closeCalls).toBe(1);
    await t.shutdown();
  });

  it('throws CapacityError (scope registry, limit) when no session is idle, and creates nothing', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS, maxSessions: 2 });
    const leases = [await t.registry.acquire(request('A')), await t.registry.acquire(request('B'))];

    const error: unknown = await t.registry.acquire(request('C')).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CapacityError);
    expect(error).toMatchObject({ code: 'CAPACITY', scope: 'registry', limit: 2 });
    expect(t.factory.createCalls).toBe(2);
    expect(t.registry.size).toBe(2);
    expect(t.registry.snapshot()).toMatchObject({ pending: 0, sessions: 2 });
    expect(t.registry.snapshot().entries.map((e) => e.key.downstreamSessionId).sort()).toEqual(['A', 'B']);
    expect(t.events.payloads('session:evicted')).toEqual([]);

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
    const t = harness({ closeTimeoutMs: CLOSE_MS, maxSessionsPerUpstream: 2 });
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
    const t = harness({ closeTimeoutMs: CLOSE_MS, maxSessionsPerUpstream: 1 });
    const other = await t.use(request('B', 'u2')); // idle, but on another upstream
    const lease = await t.registry.acquire(request('A', 'u1'));

    const error: unknown = await t.registry.acquire(request('C', 'u1')).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CapacityError);
    expect(error).toMatchObject({ code: 'CAPACITY', scope: 'upstream', limit: 1 });
    expect(t.factory.createCalls).toBe(2);
    expect(other.closed).toBe(false);
    expect(t.events.payloads('session:evicted')).toEqual([]);
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
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    const old = await t.use(request('A'));

    const moved = { ...request('A'), url: 'http://127.0.0.1:10/counter/mcp' };
    const fresh = await t.use(moved);

    expect(fresh).not.toBe(old);
    expect(http([fresh.request])[0]!.url).toBe(moved.url);
    expect(old.closeCalls).toBe(1);
    expect(t.evictions()).toEqual(['A/counter:fingerprint-changed']);
    expect(t.factory.createCalls).toBe(2);
    expect(t.registry.size).toBe(1);
    await t.shutdown();
  });

  it('a different transport closes the old session and creates a new one', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    const old = await t.use(request('A'));

    const fresh = await t.use({ ...request('A'), transport: 'sse' });

    expect(fresh.request.transport).toBe('sse');
    expect(old.closeCalls).toBe(1);
    expect(t.evictions()).toEqual(['A/counter:fingerprint-changed']);
    await t.shutdown();
  });

  it('a different host-supplied fingerprint closes the old session; the same one reuses it', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
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
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    const first = await t.use({ ...request('A'), headers: { authorization: 'Bearer token-1' } });
    const second = await t.use({ ...request('A'), headers: { authorization: 'Bearer token-2', 'x-extra': 'yes' } });

    expect(second).toBe(first);
    expect(first.closed).toBe(false);
    expect(t.factory.createCalls).toBe(1);
    expect(t.events.payloads('session:evicted')).toEqual([]);
    await t.shutdown();
  });
});

describe('circuit breaker', () => {
  const breaker = { failureThreshold: 3, resetMs: 10_000 };

  /** Fails `n` creations for upstream `counter`, each for its own downstream session. */
  async function failCreations(t: Harness, n: number, prefix = 'fail'): Promise<unknown[]> {
    const errors: unknown[] = [];
    for (let i = 0; i < n; i += 1) {
      errors.push(await t.registry.acquire(request(`${prefix}-${i}`)).catch((e: unknown) => e));
    }
    return errors;
  }

  it('opens after failureThreshold consecutive creation failures; creations then fail fast with retryAfterMs', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS, circuitBreaker: breaker });
    t.factory.script.create = 'fail';

    const errors = await failCreations(t, 3);
    expect(errors.every((e) => e instanceof SessionCreateError)).toBe(true);
    expect(t.events.payloads('circuit:open')).toEqual([{ upstreamId: 'counter', failures: 3, retryAfterMs: 10_000 }]);
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
    const t = harness({ closeTimeoutMs: CLOSE_MS, circuitBreaker: breaker });
    t.factory.script.create = 'fail';
    await failCreations(t, 2, 'first');
    t.factory.script.create = 'ok';
    await t.use(request('ok'));
    t.factory.script.create = 'fail';
    await failCreations(t, 2, 'second');

    expect(t.events.payloads('circuit:open')).toEqual([]);
    expect(t.factory.createCalls).toBe(5);
    await t.shutdown();
  });

  it('only affects the failing upstream', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS, circuitBreaker: breaker });
    t.factory.script.create = 'fail';
    await failCreations(t, 3);
    t.factory.script.create = 'ok';

    await t.use(request('A', 'healthy'));
    expect(t.registry.size).toBe(1);
    await t.shutdown();
  });

  it('after resetMs lets one trial creation through; concurrent ones fail fast; its success closes the circuit', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS, circuitBreaker: breaker });
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
    expect(t.events.payloads('circuit:close')).toEqual([{ upstreamId: 'counter' }]);
    expect(t.registry.snapshot().upstreams).toMatchObject([{ circuit: 'closed', consecutiveFailures: 0 }]);

    await t.use(request('concurrent'));
    expect(t.factory.createCalls).toBe(5);
    for (const waiter of [trialWaiter, sameKey]) (waiter.value as { release(): void }).release();
    await t.shutdown();
  });

  it('re-opens for twice as long when the trial fails', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS, circuitBreaker: breaker });
    t.factory.script.create = 'fail';
    await failCreations(t, 3);

    await t.clock.advance(10_000);
    await expect(t.registry.acquire(request('trial'))).rejects.toBeInstanceOf(SessionCreateError);
    expect(t.factory.createCalls).toBe(4);
    expect(t.events.payloads('circuit:open')).toHaveLength(2);
    expect(t.events.payloads('circuit:open')[1]).toMatchObject({ upstreamId: 'counter', retryAfterMs: 20_000 });

    await expect(t.registry.acquire(request('again'))).rejects.toMatchObject({ code: 'CIRCUIT_OPEN', retryAfterMs: 20_000 });
    expect(t.factory.createCalls).toBe(4);

    t.factory.script.create = 'ok';
    await t.clock.advance(20_000);
    await t.use(request('again'));
    expect(t.events.payloads('circuit:close')).toHaveLength(1);
    expect(t.factory.createCalls).toBe(5);
    await t.shutdown();
  });

  it('keeps live sessions working while it is open', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS, circuitBreaker: breaker });
    const live = await t.use(request('live'));
    t.factory.script.create = 'fail';
    await failCreations(t, 3);
    expect(t.events.payloads('circuit:open')).toHaveLength(1);

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
    const t = harness({ closeTimeoutMs: CLOSE_MS, circuitBreaker: { failureThreshold: 2, resetMs: 10_000 }, createTimeoutMs: 1_000 });
    t.factory.script.create = 'hang';

    for (const id of ['A', 'B']) {
      const waiter = track(t.registry.acquire(request(id)));
      await t.clock.advance(1_000);
      expect(waiter.error).toBeInstanceOf(SessionCreateTimeoutError);
    }

    expect(t.events.payloads('circuit:open')).toEqual([{ upstreamId: 'counter', failures: 2, retryAfterMs: 10_000 }]);
    await expect(t.registry.acquire(request('C'))).rejects.toBeInstanceOf(CircuitOpenError);
    expect(t.factory.createCalls).toBe(2);
    await t.shutdown();
  });

  it('`circuitBreaker: false` turns it off', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS, circuitBreaker: false });
    t.factory.script.create = 'fail';

    const errors = await failCreations(t, 10);

    expect(errors.every((e) => e instanceof SessionCreateError)).toBe(true);
    expect(t.factory.createCalls).toBe(10);
    expect(t.events.payloads('circuit:open')).toEqual([]);
    t.factory.script.create = 'ok';
    await t.use(request('after'));
    expect(t.registry.snapshot().upstreams).toMatchObject([{ upstreamId: 'counter', circuit: 'closed' }]);
    await t.shutdown();
  });

  it('is on by default: 5 failures open it for 1 s, doubling on each re-open up to 30 s', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    t.factory.script.create = 'fail';
    await failCreations(t, 5);

    expect(t.events.payloads('circuit:open')).toEqual([{ upstreamId: 'counter', failures: 5, retryAfterMs: 1_000 }]);
    await expect(t.registry.acquire(request('next'))).rejects.toMatchObject({ retryAfterMs: 1_000 });
    expect(t.factory.createCalls).toBe(5);
    const periods: number[] = [];
    for (let reopen = 0; reopen < 7; reopen++) {
      await t.clock.advance(t.events.payloads('circuit:open').at(-1)!.retryAfterMs);
      await expect(t.registry.acquire(request(`trial-${reopen}`))).rejects.toBeInstanceOf(SessionCreateError);
      periods.push(t.events.payloads('circuit:open').at(-1)!.retryAfterMs);
    }
    expect(periods).toEqual([2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    await t.shutdown();
  });

  it('recovers about a second after a one-second outage ends', async () => {
    const t = harness({ closeTimeoutMs: CLOSE_MS });
    t.factory.script.create = 'fail';
    await failCreations(t, 5);
    t.factory.script.create = 'ok';
    await t.clock.advance(1_000);
    await t.use(request('back'));
    expect(t.events.payloads('circuit:close')).toHaveLength(1);
    // The backoff was reset: the next outage starts again from 1 s.
    t.factory.script.create = 'fail';
    await failCreations(t, 5);
    expect(t.events.payloads('circuit:open').at(-1)).toMatchObject({ retryAfterMs: 1_000 });
    await t.shutdown();
  });
});

describe('circuit breaker: the half-open trial and what never counts', () => {
  const breaker = { failureThreshold: 2, resetMs: 1_000 };
  const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });

  async function openCircuit(h: ReturnType<typeof harness>): Promise<void> {
    for (const id of ['f1', 'f2']) {
      h.factory.nextCreate(refused());
      await h.registry.acquire(h.request(id)).catch(() => undefined);
    }
    expect(h.events.payloads('circuit:open')).toHaveLength(1);
  }

  it('lets exactly one trial through once the open period has passed', async () => {
    const h = harness({ circuitBreaker: breaker });
    await openCircuit(h);
    await h.clock.advance(1_000);
    const trial = h.factory.nextCreate('manual');
    const first = track(h.registry.acquire(h.request('t1')));
    const second = track(h.registry.acquire(h.request('t2')));
    await h.clock.flush();
    expect(second.error).toBeInstanceOf(CircuitOpenError);
    expect(first.settled).toBe(false);
    trial.resolve();
    await h.clock.flush();
    expect(h.events.payloads('circuit:close')).toHaveLength(1);
    (first.value as { release(): void }).release();
    await h.shutdown();
  });

  it('abandoning another creation (one started before the circuit opened) never frees the trial slot', async () => {
    const h = harness({ circuitBreaker: breaker, createTimeoutMs: 60_000 });
    const straggler = h.factory.nextCreate('manual');
    const early = track(h.registry.acquire(h.request('early')));
    await h.clock.flush();
    await openCircuit(h);
    await h.clock.advance(1_000);
    const trial = h.factory.nextCreate('manual');
    const inTrial = track(h.registry.acquire(h.request('trial')));
    await h.clock.flush();
    await h.registry.evict({ downstreamSessionId: 'early', upstreamId: 'counter' });
    expect(early.error).toMatchObject({ code: 'EVICTED' });
    expect(straggler.request?.signal.aborted).toBe(true);

    await expect(h.registry.acquire(h.request('third'))).rejects.toBeInstanceOf(CircuitOpenError);
    trial.reject(refused());
    await h.clock.flush();
    expect(inTrial.error).toBeInstanceOf(SessionCreateError);
    expect(h.events.payloads('circuit:open')).toHaveLength(2);
    await h.shutdown();
  });

  it('an InvalidRequestError or NotOwnerError from the factory never counts as an upstream failure', async () => {
    const h = harness({ circuitBreaker: breaker });
    for (let i = 0; i < 5; i++) {
      h.factory.nextCreate(i % 2 === 0 ? new InvalidRequestError('headers', 'the transport cannot send this header') : new NotOwnerError(`d${i}`, 'w2'));
      await expect(h.registry.acquire(h.request(`d${i}`))).rejects.toMatchObject({ code: i % 2 === 0 ? 'INVALID_REQUEST' : 'NOT_OWNER' });
    }
    expect(h.events.payloads('circuit:open')).toEqual([]);
    expect(h.registry.snapshot().counters.createFailures).toBe(0);
    (await h.registry.acquire(h.request('ok'))).release();
    await h.shutdown();
  });

  it('five requests with header values fetch cannot send never open the circuit for other tenants', async () => {
    const h = harness({ circuitBreaker: breaker });
    for (const [i, value] of ['李雷', 'tok€n', '\x01', '\x7f', 'a\u0100'].entries()) {
      await expect(h.registry.acquire({ ...h.request(`tenant-${i}`), headers: { 'x-user': value } })).rejects.toMatchObject({
        code: 'INVALID_REQUEST',
        field: 'headers',
      });
    }
    expect(h.factory.createCalls).toBe(0);
    expect(h.events.payloads('circuit:open')).toEqual([]);
    (await h.registry.acquire(h.request('other-tenant'))).release();
    await h.shutdown();
  });

  it('caller aborts and evictions during creation never count', async () => {
    const h = harness({ circuitBreaker: breaker });
    for (let i = 0; i < 4; i++) {
      h.factory.nextCreate('hang');
      const controller = new AbortController();
      const pending = track(h.registry.acquire({ ...h.request(`d${i}`), signal: controller.signal }));
      await h.clock.flush();
      controller.abort(new Error('caller went away'));
      await h.registry.evict({ downstreamSessionId: `d${i}`, upstreamId: 'counter' });
      await h.clock.flush();
      expect(pending.error).toBeDefined();
    }
    expect(h.events.payloads('circuit:open')).toEqual([]);
    expect(h.registry.snapshot().upstreams).toEqual([]);
    await h.shutdown();
  });

  it('drops per-upstream state of an upstream with no sessions and a closed circuit', async () => {
    const h = harness({ circuitBreaker: { failureThreshold: 5, resetMs: 1_000, maxResetMs: 30_000 } });
    for (let i = 0; i < 50; i++) {
      h.factory.nextCreate(refused());
      await h.registry.acquire(h.request('d', `dynamic-${i}`)).catch(() => undefined);
    }
    expect(h.registry.snapshot().upstreams).toHaveLength(50);
    await h.clock.advance(30_000);
    expect(h.registry.snapshot().upstreams).toEqual([]);
    // A success forgets the failures at once.
    h.factory.nextCreate(refused());
    await h.registry.acquire(h.request('d', 'flaky')).catch(() => undefined);
    (await h.registry.acquire(h.request('e', 'flaky'))).release();
    await h.registry.evictUpstream('flaky');
    expect(h.registry.snapshot().upstreams).toEqual([]);
    await h.shutdown();
  });
});
