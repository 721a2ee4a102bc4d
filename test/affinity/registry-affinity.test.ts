import { afterEach, describe, expect, it } from 'vitest';
import {
  InMemoryAffinityStore,
  NotOwnerError,
  UpstreamSessionRegistry,
  type AffinityErrorEvent,
  type AffinityStore,
  type Clock,
  type LogFields,
} from '../../src/index.js';
import { FakeSessionFactory, ManualClock } from '../../src/testing/index.js';
import { ScriptedStore } from './scripted-store.js';

const HEARTBEAT_MS = 1_000;
const TTL_MS = 30_000;

const registries: { closeAll(): Promise<void> }[] = [];

afterEach(async () => {
  await Promise.all(registries.splice(0).map((registry) => registry.closeAll()));
});

function request(downstreamSessionId: string, upstreamId = 'counter') {
  return { downstreamSessionId, upstreamId, url: 'http://127.0.0.1:1/mcp' };
}

function gateway(workerId: string, affinity: AffinityStore, clock: Clock) {
  const factory = new FakeSessionFactory({ clock });
  const warnings: { message: string; fields: LogFields | undefined }[] = [];
  const noop = (): void => undefined;
  const registry = new UpstreamSessionRegistry({
    sessionFactory: factory,
    clock,
    workerId,
    affinity,
    heartbeatMs: HEARTBEAT_MS,
    affinityTtlMs: TTL_MS,
    logger: { debug: noop, info: noop, error: noop, warn: (message, fields) => warnings.push({ message, fields }) },
  });
  registries.push(registry);
  const errors: AffinityErrorEvent[] = [];
  registry.on('affinity:error', (event) => errors.push(event));
  return { registry, factory, errors, warnings };
}

function setup() {
  const clock = new ManualClock();
  const inner = new InMemoryAffinityStore({ clock });
  const store = new ScriptedStore(inner);
  return { clock, inner, store };
}

describe('registry.route', () => {
  it('without an affinity store, every session is local to this worker', async () => {
    const registry = new UpstreamSessionRegistry({ sessionFactory: new FakeSessionFactory(), workerId: 'solo' });
    registries.push(registry);
    await expect(registry.route('s1')).resolves.toEqual({ local: true, owner: 'solo' });
  });

  it('routes a session to exactly one worker; the other sees it as remote', async () => {
    const { clock, inner } = setup();
    const a = gateway('a', inner, clock);
    const b = gateway('b', inner, clock);
    const [fromA, fromB] = await Promise.all([a.registry.route('s1'), b.registry.route('s1')]);
    expect([fromA.local, fromB.local].filter(Boolean)).toHaveLength(1);
    expect(fromA.owner).toBe(fromB.owner);
  });

  it('fails open to local with an affinity:error event and a warning when the store fails', async () => {
    const { clock, store } = setup();
    const { registry, errors, warnings } = gateway('a', store, clock);
    store.behaviour.claim = 'reject';
    await expect(registry.route('s1')).resolves.toEqual({ local: true, owner: 'a' });
    expect(errors).toEqual([{ operation: 'claim', downstreamSessionId: 's1', error: expect.any(Error) }]);
    expect(warnings).toHaveLength(1);
  });
});

describe('acquire with affinity', () => {
  it('claims the downstream session before creating its first upstream session', async () => {
    const { clock, inner, store } = setup();
    const { registry } = gateway('a', store, clock);
    await registry.withSession(request('s1'), () => undefined);
    await expect(inner.owner('s1')).resolves.toBe('a');
    expect(store.operations()).toEqual(['heartbeat', 'claim']);
  });

  it('refuses to create a session owned by another live worker: NotOwnerError with owner, no factory call', async () => {
    const { clock, inner } = setup();
    const a = gateway('a', inner, clock);
    const b = gateway('b', inner, clock);
    await a.registry.withSession(request('s1'), () => undefined);
    const error = await b.registry.acquire(request('s1')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotOwnerError);
    expect((error as NotOwnerError).owner).toBe('a');
    expect(b.factory.createCalls).toBe(0);
    expect(b.registry.size).toBe(0);
  });

  it('reuses a live local session without touching the store', async () => {
    const { clock, store } = setup();
    const { registry } = gateway('a', store, clock);
    await registry.withSession(request('s1'), () => undefined);
    const before = store.calls.length;
    for (let i = 0; i < 10; i += 1) await registry.withSession(request('s1'), () => undefined);
    expect(store.calls.length).toBe(before);
  });

  it('claims before every creation (any upstream of the downstream session), never on reuse', async () => {
    const { clock, store } = setup();
    const { registry } = gateway('a', store, clock);
    await registry.withSession(request('s1', 'u1'), () => undefined);
    await registry.withSession(request('s1', 'u2'), () => undefined);
    expect(store.count('claim')).toBe(2);
    await registry.withSession(request('s1', 'u1'), () => undefined);
    await registry.withSession(request('s1', 'u2'), () => undefined);
    expect(store.count('claim')).toBe(2);
  });

  it('still creates the session when the store is down (fail open), with an affinity:error event', async () => {
    const { clock, store } = setup();
    const { registry, errors, factory } = gateway('a', store, clock);
    store.behaviour.heartbeat = 'reject';
    store.behaviour.claim = 'reject';
    await registry.withSession(request('s1'), () => undefined);
    expect(factory.createCalls).toBe(1);
    expect(errors.length).toBeGreaterThan(0);
  });

  it('a throwing logger with a failing store never changes routing, never fails a creation or the circuit, never leaks a rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const { clock, store } = setup();
      const explode = (): never => {
        throw new Error('logger is broken');
      };
      const factory = new FakeSessionFactory({ clock });
      const registry = new UpstreamSessionRegistry({
        sessionFactory: factory,
        clock,
        workerId: 'a',
        affinity: store,
        heartbeatMs: HEARTBEAT_MS,
        affinityTtlMs: TTL_MS,
        circuitBreaker: { failureThreshold: 1, resetMs: 1_000, maxResetMs: 30_000 },
        logger: { debug: explode, info: explode, warn: explode, error: explode },
      });
      registries.push(registry);
      registry.on('affinity:error', explode);
      for (const operation of ['heartbeat', 'claim', 'refresh', 'release', 'isAlive', 'reclaim'] as const) {
        store.behaviour[operation] = 'reject';
      }
      await expect(registry.route('s1')).resolves.toEqual({ local: true, owner: 'a' });
      for (let i = 0; i < 3; i++) {
        await expect(registry.withSession(request(`s${i}`), () => 'ok')).resolves.toBe('ok');
      }
      expect(factory.createCalls).toBe(3);
      await clock.advance(TTL_MS);
      await registry.evictSession('s0');
      await clock.flush();
      const snapshot = registry.snapshot();
      expect(snapshot.counters.createFailures).toBe(0);
      expect(snapshot.upstreams.find((u) => u.upstreamId === 'counter')).toMatchObject({ circuit: 'closed', consecutiveFailures: 0 });
      await registry.closeAll();
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('keeps the claims of live sessions alive past their TTL with batched refreshes', async () => {
    const { clock, inner, store } = setup();
    const { registry } = gateway('a', store, clock);
    for (const id of ['s1', 's2', 's3']) await registry.withSession(request(id), () => undefined);
    await clock.advance(3 * TTL_MS);
    for (const id of ['s1', 's2', 's3']) await expect(inner.owner(id)).resolves.toBe('a');
    expect(store.count('refresh')).toBe(27); // 9 batches of 3
  });
});

describe('releasing ownership', () => {
  it('releases the claim when the last upstream session of a downstream session is evicted', async () => {
    const { clock, inner } = setup();
    const { registry } = gateway('a', inner, clock);
    await registry.withSession(request('s1', 'u1'), () => undefined);
    await registry.withSession(request('s1', 'u2'), () => undefined);
    await registry.evict({ downstreamSessionId: 's1', upstreamId: 'u1' });
    await clock.flush();
    await expect(inner.owner('s1')).resolves.toBe('a');
    await registry.evict({ downstreamSessionId: 's1', upstreamId: 'u2' });
    await clock.flush();
    await expect(inner.owner('s1')).resolves.toBeNull();
  });

  it('evictSession releases the claim, so another worker can take the session', async () => {
    const { clock, inner } = setup();
    const a = gateway('a', inner, clock);
    const b = gateway('b', inner, clock);
    await a.registry.withSession(request('s1'), () => undefined);
    await a.registry.evictSession('s1');
    await clock.flush();
    await expect(b.registry.route('s1')).resolves.toEqual({ local: true, owner: 'b' });
  });

  it('closeAll releases every claim and stops heartbeats', async () => {
    const { clock, inner } = setup();
    const { registry } = gateway('a', inner, clock);
    for (const id of ['s1', 's2']) await registry.withSession(request(id), () => undefined);
    const closing = registry.closeAll();
    await clock.advance(20_000);
    await closing;
    await expect(inner.owner('s1')).resolves.toBeNull();
    await expect(inner.owner('s2')).resolves.toBeNull();
    await clock.advance(3 * HEARTBEAT_MS);
    await expect(inner.isAlive('a')).resolves.toBe(false);
  });
});

describe('worker death', () => {
  it('a survivor reclaims the sessions of a worker whose heartbeat expired, each exactly once', async () => {
    const storeClock = new ManualClock();
    const inner = new InMemoryAffinityStore({ clock: storeClock });
    const frozen = new ManualClock(); // the crashed worker's timers never run again
    const crashed = gateway('dead', inner, frozen);
    const ids = Array.from({ length: 10 }, (_, i) => `s${i}`);
    for (const id of ids) await crashed.registry.withSession(request(id), () => undefined);
    const survivors = [gateway('b', inner, storeClock), gateway('c', inner, storeClock)];
    for (const id of ids) {
      for (const { registry } of survivors) await expect(registry.route(id)).resolves.toEqual({ local: false, owner: 'dead' });
    }
    await storeClock.advance(3 * HEARTBEAT_MS);
    const decisions = await Promise.all(ids.flatMap((id) => survivors.map(({ registry }) => registry.route(id))));
    for (const [i, id] of ids.entries()) {
      const forId = decisions.slice(2 * i, 2 * i + 2);
      expect(forId.filter((d) => d.local)).toHaveLength(1);
      const owner = forId.find((d) => d.local)!.owner;
      expect(forId.every((d) => d.owner === owner)).toBe(true);
      await expect(inner.owner(id)).resolves.toBe(owner);
    }
  });
});
