/**
 * Acquire (SPEC §4.1, §4.2, §4.5; issue #2 items 1, 2, 3, 4 and 7): keying, shared creation, failed and timed-out
 * creations, eviction and `closeAll` during a creation, a caller's own `signal`, and sessions whose transport the
 * factory reports closed.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  RegistryClosedError,
  SessionCreateError,
  SessionCreateTimeoutError,
  SessionEvictedError,
  UpstreamSessionRegistry,
  type EvictReason,
  type RegistryOptions,
  type SessionFactory,
  type SessionKey,
  type SessionRequest,
} from '../src/index.js';
import { FakeSessionFactory, ManualClock, type FakeUpstreamClient } from '../src/testing/index.js';

type RegistryTuning = Omit<RegistryOptions<FakeUpstreamClient>, 'sessionFactory' | 'clock'>;

function requestFor(downstreamSessionId: string, upstreamId = 'counter'): SessionRequest {
  return { downstreamSessionId, upstreamId, url: `http://127.0.0.1:3001/${upstreamId}/mcp` };
}

const request = requestFor('A');
const key: SessionKey = { downstreamSessionId: 'A', upstreamId: 'counter' };

/**
 * A registry over `factory` (or over `sessionFactory`, which wraps it), both on `clock`, recording evictions, and
 * a shutdown that closes it with the clock driving and checks every connection was closed exactly once.
 */
function build(
  clock: ManualClock,
  factory: FakeSessionFactory,
  tuning: RegistryTuning,
  sessionFactory?: SessionFactory<FakeUpstreamClient>,
) {
  const registry = new UpstreamSessionRegistry<FakeUpstreamClient>({ ...tuning, sessionFactory: sessionFactory ?? factory, clock });
  const evictions: { key: SessionKey; reason: EvictReason }[] = [];
  registry.on('session:evicted', (event) => evictions.push({ key: event.key, reason: event.reason }));
  const closeTimeoutMs = tuning.closeTimeoutMs ?? 5_000;
  async function shutdown(): Promise<void> {
    const closing = registry.closeAll();
    await clock.advance(2 * closeTimeoutMs);
    await closing;
    expect(factory.open).toBe(0);
    expect(factory.doubleClosed).toEqual([]);
  }
  return { clock, factory, registry, evictions, shutdown };
}

/** A registry over a new fake factory on a new ManualClock. */
function fresh(tuning: RegistryTuning = {}) {
  const clock = new ManualClock();
  return build(clock, new FakeSessionFactory({ clock }), tuning);
}

/** Observes whether a promise has settled, and marks its rejection handled. */
function watch<T>(promise: Promise<T>): { readonly promise: Promise<T>; readonly settled: boolean } {
  let settled = false;
  void promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  return {
    promise,
    get settled() {
      return settled;
    },
  };
}

/** What each promise settled with: the rejection reason, or the value when it fulfilled. */
function outcomes(results: PromiseSettledResult<unknown>[]): unknown[] {
  return results.map((result): unknown => (result.status === 'rejected' ? result.reason : result.value));
}

describe('keys: one upstream session per (downstreamSessionId, upstreamId)', () => {
  it('gives two downstream sessions on one upstream two upstream sessions', async () => {
    const { factory, registry, shutdown } = fresh();

    const a = await registry.withSession(requestFor('A'), (client) => client.callTool({ name: 'increment' }));
    const b = await registry.withSession(requestFor('B'), (client) => client.callTool({ name: 'increment' }));

    expect(factory.createCalls).toBe(2);
    expect(a.content[0]?.text).toBe('1');
    expect(b.content[0]?.text).toBe('1'); // B never sees A's counter (#4205)
    expect(factory.connectionsFor({ downstreamSessionId: 'A', upstreamId: 'counter' })).toHaveLength(1);
    expect(factory.connectionsFor({ downstreamSessionId: 'B', upstreamId: 'counter' })).toHaveLength(1);
    expect(factory.created[0]!.client).not.toBe(factory.created[1]!.client);
    expect(registry.size).toBe(2);
    await shutdown();
  });

  it('creates one upstream session for ten calls in one downstream session', async () => {
    const { factory, registry, shutdown } = fresh();

    const results: string[] = [];
    for (let call = 0; call < 10; call += 1) {
      const result = await registry.withSession(request, (client) => client.callTool({ name: 'increment' }));
      results.push(result.content[0]?.text ?? '');
    }

    expect(factory.createCalls).toBe(1);
    expect(results).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    expect(registry.snapshot().counters).toMatchObject({ creates: 1, reuses: 9 });
    await shutdown();
  });

  it('gives one downstream session on two upstreams two upstream sessions', async () => {
    const { factory, registry, shutdown } = fresh();

    const search = await registry.acquire(requestFor('A', 'search'));
    const github = await registry.acquire(requestFor('A', 'github'));

    expect(factory.createCalls).toBe(2);
    expect(search.client).not.toBe(github.client);
    expect(factory.requests.map((r) => [r.downstreamSessionId, r.upstreamId])).toEqual([
      ['A', 'search'],
      ['A', 'github'],
    ]);
    search.release();
    github.release();
    await shutdown();
  });

  it('keeps keys apart that would collide if the two ids were joined into one string', async () => {
    const { factory, registry, shutdown } = fresh();

    await registry.withSession({ ...requestFor('a:b', 'c'), url: 'http://127.0.0.1:3001/mcp' }, () => undefined);
    await registry.withSession({ ...requestFor('a', 'b:c'), url: 'http://127.0.0.1:3001/mcp' }, () => undefined);
    await registry.withSession({ ...requestFor('a', 'b:c'), url: 'http://127.0.0.1:3001/mcp' }, () => undefined);

    expect(factory.createCalls).toBe(2);
    expect(registry.size).toBe(2);
    await shutdown();
  });
});

describe('shared creation: concurrent acquires for one key', () => {
  it('shares one creation among 50 concurrent acquires for one key', async () => {
    const { clock, factory, registry, shutdown } = fresh();
    factory.nextCreate({ delayMs: 100 });

    const pending = Array.from({ length: 50 }, () => registry.acquire(request));
    await clock.flush();
    expect(factory.createCalls).toBe(1);
    expect(registry.snapshot().pending).toBe(1);

    await clock.advance(100);
    const leases = await Promise.all(pending);

    expect(factory.createCalls).toBe(1);
    expect(new Set(leases.map((lease) => lease.client)).size).toBe(1);
    expect(leases[0]!.client).toBe(factory.created[0]!.client);
    for (const lease of leases) lease.release();
    await shutdown();
  });

  it('lets all 50 leases on one session be open at once', async () => {
    const { clock, factory, registry, shutdown } = fresh();

    const first = await Promise.all(Array.from({ length: 50 }, () => registry.acquire(request)));
    // None released, yet 50 more are handed out at once: leases are not serialized.
    const second = await Promise.all(Array.from({ length: 50 }, () => registry.acquire(request)));
    expect(registry.snapshot().inFlight).toBe(100);
    expect(registry.snapshot().entries[0]?.inFlight).toBe(100);

    // Requests on those leases run side by side: 50 calls that each take 1 s are all answered after 1 s.
    const client = factory.created[0]!.client;
    client.script.callTool = { delayMs: 1_000 };
    const calls = first.map((lease) => lease.client.callTool({ name: 'increment' }));
    await clock.advance(1_000);
    const answers = await Promise.all(calls);
    expect(answers).toHaveLength(50);
    expect(client.count).toBe(50);

    expect(factory.createCalls).toBe(1);
    for (const lease of [...first, ...second]) lease.release();
    expect(registry.snapshot().inFlight).toBe(0);
    await shutdown();
  });

  it('rejects every waiter of a failed creation with the same SessionCreateError, with category and cause', async () => {
    const { clock, factory, registry, shutdown } = fresh();
    const failures: { category: string; error: unknown }[] = [];
    registry.on('session:create-failed', ({ category, error }) => failures.push({ category, error }));
    factory.nextCreate({ delayMs: 100, outcome: 'fail' });

    const settled = Promise.allSettled(Array.from({ length: 50 }, () => registry.acquire(request)));
    await clock.advance(100);
    const reasons = outcomes(await settled);

    const error = reasons[0];
    expect(error).toBeInstanceOf(SessionCreateError);
    expect(error).toMatchObject({ code: 'CREATE_FAILED', category: 'connection_refused', upstreamId: 'counter' });
    expect((error as SessionCreateError).cause).toMatchObject({ code: 'ECONNREFUSED', syscall: 'connect' });
    for (const reason of reasons) expect(reason).toBe(error);
    expect(factory.createCalls).toBe(1);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.category).toBe('connection_refused');
    expect(registry.size).toBe(0);
    expect(registry.snapshot()).toMatchObject({ pending: 0, counters: { createFailures: 1 } });
    await shutdown();
  });

  it("keeps the factory's own error as the SessionCreateError's cause", async () => {
    const { factory, registry, shutdown } = fresh();
    const cause = new Error('upstream exploded');
    factory.nextCreate(cause);

    const error: unknown = await registry.acquire(request).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SessionCreateError);
    expect((error as SessionCreateError).cause).toBe(cause);
    expect((error as SessionCreateError).category).toBe('unknown');
    await shutdown();
  });

  it('tries again on the next acquire after a failed creation', async () => {
    const { factory, registry, shutdown } = fresh();
    factory.nextCreate('fail');

    await expect(registry.acquire(request)).rejects.toBeInstanceOf(SessionCreateError);
    const lease = await registry.acquire(request);

    expect(factory.createCalls).toBe(2);
    expect(lease.client).toBe(factory.created[0]!.client);
    lease.release();
    await shutdown();
  });
});

describe('createTimeoutMs', () => {
  it('rejects a hanging creation with SessionCreateTimeoutError after createTimeoutMs, for every waiter', async () => {
    const { clock, factory, registry, shutdown } = fresh({ createTimeoutMs: 1_000 });
    factory.nextCreate('hang');

    const first = watch(registry.acquire(request));
    const second = watch(registry.acquire(request));
    await clock.advance(999);
    expect(first.settled).toBe(false);
    await clock.advance(1);

    const error: unknown = await first.promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionCreateTimeoutError);
    expect(error).toMatchObject({ code: 'CREATE_TIMEOUT', timeoutMs: 1_000, upstreamId: 'counter' });
    await expect(second.promise).rejects.toBe(error);
    expect(registry.snapshot()).toMatchObject({ sessions: 0, pending: 0, counters: { createFailures: 1 } });
    await shutdown();
  });

  it("aborts the create request's signal when the creation times out", async () => {
    const { clock, factory, registry, shutdown } = fresh({ createTimeoutMs: 1_000 });
    factory.nextCreate('hang');

    const pending = watch(registry.acquire(request));
    await clock.flush();
    const createRequest = factory.requests[0]!;
    expect(createRequest.signal.aborted).toBe(false);
    await clock.advance(1_000);

    expect(createRequest.signal.aborted).toBe(true);
    await expect(pending.promise).rejects.toBeInstanceOf(SessionCreateTimeoutError);
    await shutdown();
  });

  it('closes a connection that arrives after the creation timed out, and creates afresh on the next acquire', async () => {
    const { clock, factory, registry, shutdown } = fresh({ createTimeoutMs: 1_000 });
    const creation = factory.nextCreate('manual');

    const pending = watch(registry.acquire(request));
    await clock.advance(1_000);
    await expect(pending.promise).rejects.toBeInstanceOf(SessionCreateTimeoutError);

    const late = creation.resolve();
    await clock.flush();
    expect(late.closeCalls).toBe(1);
    expect(registry.size).toBe(0);

    const lease = await registry.acquire(request);
    expect(factory.createCalls).toBe(2);
    expect(lease.client).not.toBe(late.client);
    lease.release();
    await shutdown();
  });
});

describe('eviction and closeAll during creation', () => {
  const evictions: [EvictReason, (registry: UpstreamSessionRegistry<FakeUpstreamClient>) => Promise<boolean | number>, boolean | number][] = [
    ['evict', (registry) => registry.evict(key), true],
    ['session', (registry) => registry.evictSession('A'), 1],
    ['upstream', (registry) => registry.evictUpstream('counter'), 1],
  ];

  it.each(evictions)(
    'eviction (reason %s) during creation rejects every waiter with SessionEvictedError, aborts the signal and closes a late connection',
    async (reason, evict, removed) => {
      const { clock, factory, registry, shutdown } = fresh();
      const creation = factory.nextCreate('manual');

      const settled = Promise.allSettled([registry.acquire(request), registry.acquire(request), registry.acquire(request)]);
      await clock.flush();
      expect(creation.started).toBe(true);

      await expect(evict(registry)).resolves.toBe(removed);
      const reasons = outcomes(await settled);
      expect(reasons[0]).toBeInstanceOf(SessionEvictedError);
      expect(reasons[0]).toMatchObject({ code: 'EVICTED', reason });
      for (const error of reasons) expect(error).toBe(reasons[0]);
      expect(creation.request?.signal.aborted).toBe(true);

      const late = creation.resolve();
      await clock.flush();
      expect(late.closeCalls).toBe(1);
      expect(registry.size).toBe(0);

      const lease = await registry.acquire(request);
      expect(lease.client).not.toBe(late.client);
      expect(factory.createCalls).toBe(2);
      lease.release();
      await shutdown();
    },
  );

  it("rejects waiters with SessionEvictedError, not the abort rejection of a factory that honours its signal", async () => {
    const { clock, factory, registry, shutdown } = fresh();
    factory.nextCreate('hang');

    const pending = watch(registry.acquire(request));
    await clock.flush();
    await registry.evict(key);

    await expect(pending.promise).rejects.toBeInstanceOf(SessionEvictedError);
    expect(factory.requests[0]!.signal.aborted).toBe(true);
    expect(registry.snapshot().counters.createFailures).toBe(0);
    await shutdown();
  });

  it('closeAll during creation rejects every waiter with RegistryClosedError, aborts the signal and closes a late connection', async () => {
    const { clock, factory, registry } = fresh();
    const creation = factory.nextCreate('manual');

    const settled = Promise.allSettled([registry.acquire(request), registry.acquire(request)]);
    await clock.flush();
    const closing = registry.closeAll();
    const reasons = outcomes(await settled);
    expect(reasons[0]).toBeInstanceOf(RegistryClosedError);
    expect(reasons[0]).toMatchObject({ code: 'REGISTRY_CLOSED' });
    expect(reasons[1]).toBe(reasons[0]);
    expect(creation.request?.signal.aborted).toBe(true);
    await clock.advance(10_000);
    await closing;

    const late = creation.resolve();
    await clock.flush();
    await clock.advance(10_000);
    expect(late.closeCalls).toBe(1);
    expect(factory.open).toBe(0);
    expect(factory.doubleClosed).toEqual([]);
    await expect(registry.acquire(request)).rejects.toBeInstanceOf(RegistryClosedError);
  });

  it('closeAll during a health probe rejects its waiters with RegistryClosedError', async () => {
    const { clock, factory, registry, shutdown } = fresh({ idleValidationMs: 60_000 });
    await registry.withSession(request, () => undefined);
    factory.created[0]!.client.script.ping = 'timeout';
    await clock.advance(60_001);

    const pending = watch(registry.acquire(request));
    await clock.flush();
    const closing = registry.closeAll();

    await expect(pending.promise).rejects.toBeInstanceOf(RegistryClosedError);
    expect(factory.createCalls).toBe(1);
    await clock.advance(10_000);
    await closing;
    await shutdown();
  });

  it('closeAll does not wait for a factory that ignores its signal', async () => {
    const { clock, factory, registry } = fresh();
    factory.nextCreate('hang-ignoring-signal');

    const pending = watch(registry.acquire(request));
    await clock.flush();
    const closing = watch(registry.closeAll());
    await clock.flush();

    expect(closing.settled).toBe(true);
    await expect(pending.promise).rejects.toBeInstanceOf(RegistryClosedError);
    expect(factory.requests[0]!.signal.aborted).toBe(true);
    expect(factory.open).toBe(0);
  });
});

describe("a caller's signal", () => {
  it("aborts only that caller's wait; the shared creation goes on for the others", async () => {
    const { clock, factory, registry, shutdown } = fresh();
    factory.nextCreate({ delayMs: 100 });
    const controller = new AbortController();
    const reason = new Error('the downstream client went away');

    const abandoned = watch(registry.acquire({ ...request, signal: controller.signal }));
    const patient = watch(registry.acquire(request));
    await clock.flush();
    controller.abort(reason);
    await clock.flush();

    await expect(abandoned.promise).rejects.toBe(reason);
    expect(patient.settled).toBe(false);
    expect(factory.requests[0]!.signal.aborted).toBe(false);

    await clock.advance(100);
    const lease = await patient.promise;
    expect(lease.client).toBe(factory.created[0]!.client);
    expect(factory.createCalls).toBe(1);
    lease.release();
    await shutdown();
  });

  it("rejects at once with an already-aborted signal's reason, creating nothing", async () => {
    const { factory, registry, shutdown } = fresh();
    const controller = new AbortController();
    const reason = new Error('too late');
    controller.abort(reason);

    await expect(registry.acquire({ ...request, signal: controller.signal })).rejects.toBe(reason);

    expect(factory.createCalls).toBe(0);
    expect(registry.snapshot()).toMatchObject({ sessions: 0, pending: 0 });
    await shutdown();
  });

  it("rejects with the signal's default AbortError when aborted without a reason", async () => {
    const { clock, factory, registry, shutdown } = fresh();
    factory.nextCreate({ delayMs: 100 });
    const controller = new AbortController();

    const pending = watch(registry.acquire({ ...request, signal: controller.signal }));
    await clock.flush();
    controller.abort();

    await expect(pending.promise).rejects.toBe(controller.signal.reason);
    await expect(pending.promise).rejects.toMatchObject({ name: 'AbortError' });
    await clock.advance(100);
    await shutdown();
  });

  it('lets the creation finish for the next caller when its only waiter gave up', async () => {
    const { clock, factory, registry, shutdown } = fresh();
    factory.nextCreate({ delayMs: 100 });
    const controller = new AbortController();

    const pending = watch(registry.acquire({ ...request, signal: controller.signal }));
    await clock.flush();
    controller.abort();
    await expect(pending.promise).rejects.toMatchObject({ name: 'AbortError' });
    await clock.advance(100);

    const lease = await registry.acquire(request);
    expect(factory.createCalls).toBe(1);
    expect(lease.client).toBe(factory.created[0]!.client);
    lease.release();
    await shutdown();
  });

  it("aborts only that caller's wait for a shared health probe", async () => {
    const { clock, factory, registry, shutdown } = fresh({ idleValidationMs: 60_000 });
    await registry.withSession(request, () => undefined);
    const client = factory.created[0]!.client;
    client.script.ping = { delayMs: 100 };
    await clock.advance(60_001);
    const controller = new AbortController();
    const reason = new Error('gave up');

    const abandoned = watch(registry.acquire({ ...request, signal: controller.signal }));
    const patient = watch(registry.acquire(request));
    await clock.flush();
    controller.abort(reason);
    await expect(abandoned.promise).rejects.toBe(reason);
    expect(patient.settled).toBe(false);

    await clock.advance(100);
    const lease = await patient.promise;
    expect(lease.client).toBe(client);
    expect(client.calls.ping).toBe(1);
    expect(factory.createCalls).toBe(1);
    lease.release();
    await shutdown();
  });

  it("leaves no abort listener on the caller's signal once its wait ends", async () => {
    const { clock, factory, registry, shutdown } = fresh();
    factory.nextCreate({ delayMs: 100 });
    const controller = new AbortController();

    const pending = registry.acquire({ ...request, signal: controller.signal });
    await clock.advance(100);
    const lease = await pending;
    const reused = await registry.acquire({ ...request, signal: controller.signal });

    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    lease.release();
    reused.release();
    await shutdown();
  });

  it('changes nothing once the lease was handed out', async () => {
    const { factory, registry, shutdown } = fresh();
    const controller = new AbortController();

    const lease = await registry.acquire({ ...request, signal: controller.signal });
    controller.abort();
    const result = await lease.client.callTool({ name: 'increment' });

    expect(result.content[0]?.text).toBe('1');
    expect(registry.snapshot()).toMatchObject({ sessions: 1, inFlight: 1 });
    expect(factory.created[0]!.closed).toBe(false);
    lease.release();
    await shutdown();
  });
});

describe('events.closed() from the factory: the session is never handed out again', () => {
  it('replaces an idle session whose transport closed, closing what is left of it', async () => {
    const { clock, factory, registry, evictions, shutdown } = fresh();
    await registry.withSession(request, () => undefined);
    const dead = factory.created[0]!;

    dead.dropTransport(new Error('socket hang up'));
    await clock.flush();

    expect(evictions).toEqual([{ key, reason: 'transport-closed' }]);
    expect(registry.size).toBe(0);
    expect(dead.closeCalls).toBe(1);
    const lease = await registry.acquire(request);
    expect(lease.client).not.toBe(dead.client);
    expect(factory.createCalls).toBe(2);
    lease.release();
    await shutdown();
  });

  it('does not hand out a session with open leases once its transport closed, and closes it after they are released', async () => {
    const { clock, factory, registry, evictions, shutdown } = fresh();
    const held = await registry.acquire(request);
    const dead = factory.created[0]!;

    dead.dropTransport();
    await clock.flush();
    const next = await registry.acquire(request);

    expect(next.client).not.toBe(dead.client);
    expect(factory.createCalls).toBe(2);
    expect(evictions).toEqual([{ key, reason: 'transport-closed' }]);
    held.release();
    await clock.flush();
    expect(dead.closeCalls).toBe(1);
    next.release();
    await shutdown();
  });

  it('shares one replacement among concurrent acquires after the transport closed', async () => {
    const { clock, factory, registry, shutdown } = fresh();
    await registry.withSession(request, () => undefined);

    factory.created[0]!.dropTransport();
    const leases = await Promise.all(Array.from({ length: 10 }, () => registry.acquire(request)));

    expect(factory.createCalls).toBe(2);
    expect(new Set(leases.map((lease) => lease.client))).toEqual(new Set([factory.created[1]!.client]));
    for (const lease of leases) lease.release();
    await clock.flush();
    await shutdown();
  });

  it('replaces a session whose transport closes during its health probe', async () => {
    const { clock, factory, registry, evictions, shutdown } = fresh({ idleValidationMs: 60_000 });
    await registry.withSession(request, () => undefined);
    const dead = factory.created[0]!;
    dead.client.script.ping = 'timeout';
    await clock.advance(60_001);

    const pending = watch(registry.acquire(request));
    await clock.flush();
    expect(dead.client.calls.ping).toBe(1);
    dead.dropTransport();
    const lease = await pending.promise;

    expect(lease.client).toBe(factory.created[1]!.client);
    expect(factory.createCalls).toBe(2);
    expect(evictions).toHaveLength(1);
    await clock.flush();
    expect(dead.closeCalls).toBe(1);
    lease.release();
    await shutdown();
  });

  it('never hands out a connection whose transport closed before its creation resolved', async () => {
    const clock = new ManualClock();
    const factory = new FakeSessionFactory({ clock });
    let first = true;
    const dying: SessionFactory<FakeUpstreamClient> = {
      async create(createRequest, events) {
        const connection = await factory.create(createRequest, events);
        if (first) {
          first = false;
          connection.dropTransport(new Error('closed during initialize'));
        }
        return connection;
      },
    };
    const { registry, shutdown } = build(clock, factory, {}, dying);

    const lease = await registry.acquire(request);

    expect(factory.createCalls).toBe(2);
    expect(lease.client).toBe(factory.created[1]!.client);
    await clock.flush();
    expect(factory.created[0]!.closeCalls).toBe(1);
    lease.release();
    await shutdown();
  });

  it('ignores closed() reported again, or by a connection that was already evicted', async () => {
    const { clock, factory, registry, evictions, shutdown } = fresh();
    await registry.withSession(request, () => undefined);
    const old = factory.created[0]!;
    await registry.evict(key);
    const lease = await registry.acquire(request);

    old.dropTransport();
    old.events.closed(new Error('again'));
    await clock.flush();

    expect(evictions).toEqual([{ key, reason: 'evict' }]);
    expect(old.closeCalls).toBe(1);
    expect(registry.size).toBe(1);
    const again = await registry.acquire(request);
    expect(again.client).toBe(lease.client);
    expect(factory.createCalls).toBe(2);
    lease.release();
    again.release();
    await shutdown();
  });
});
