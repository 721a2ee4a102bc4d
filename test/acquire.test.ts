/**
 * Acquire (SPEC §4.1, §4.2, §4.5; issue #2 items 1, 2, 3, 4 and 7): keying, shared creation, failed and timed-out
 * creations, eviction and `closeAll` during a creation, a caller's own `signal`, and sessions whose transport the
 * factory reports closed.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  RegistryClosedError,
  SessionCreateError,
  SessionCreateTimeoutError,
  SessionEvictedError,
  InMemoryAffinityStore,
  UpstreamSessionRegistry,
  type EvictReason,
  type SessionFactory,
  type SessionKey,
} from '../src/index.js';
import { type HttpSessionRequest as SessionRequest } from '../src/types.js';
import { FakeSessionFactory, ManualClock, type FakeUpstreamClient } from '../src/testing/index.js';
import { harness } from './support/harness.js';
import { http, track } from './support/track.js';

function requestFor(downstreamSessionId: string, upstreamId = 'counter'): SessionRequest {
  return { downstreamSessionId, upstreamId, url: `http://127.0.0.1:3001/${upstreamId}/mcp` };
}

const request = requestFor('A');
const key: SessionKey = { downstreamSessionId: 'A', upstreamId: 'counter' };

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
    const { factory, registry, shutdown } = harness();

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
    const { factory, registry, shutdown } = harness();

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
    const { factory, registry, shutdown } = harness();

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
    const { factory, registry, shutdown } = harness();

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
    const { clock, factory, registry, shutdown } = harness();
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
    const { clock, factory, registry, shutdown } = harness();

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
    const { clock, factory, registry, shutdown } = harness();
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
    const { factory, registry, shutdown } = harness();
    const cause = new Error('upstream exploded');
    factory.nextCreate(cause);

    const error: unknown = await registry.acquire(request).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SessionCreateError);
    expect((error as SessionCreateError).cause).toBe(cause);
    expect((error as SessionCreateError).category).toBe('unknown');
    await shutdown();
  });

  it('tries again on the next acquire after a failed creation', async () => {
    const { factory, registry, shutdown } = harness();
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
    const { clock, factory, registry, shutdown } = harness({ createTimeoutMs: 1_000 });
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
    const { clock, factory, registry, shutdown } = harness({ createTimeoutMs: 1_000 });
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
    const { clock, factory, registry, shutdown } = harness({ createTimeoutMs: 1_000 });
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
      const { clock, factory, registry, shutdown } = harness();
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
    const { clock, factory, registry, shutdown } = harness();
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
    const { clock, factory, registry } = harness();
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
    const { clock, factory, registry, shutdown } = harness({ idleValidationMs: 60_000 });
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
    const { clock, factory, registry } = harness();
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
    const { clock, factory, registry, shutdown } = harness();
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
    const { factory, registry, shutdown } = harness();
    const controller = new AbortController();
    const reason = new Error('too late');
    controller.abort(reason);

    await expect(registry.acquire({ ...request, signal: controller.signal })).rejects.toBe(reason);

    expect(factory.createCalls).toBe(0);
    expect(registry.snapshot()).toMatchObject({ sessions: 0, pending: 0 });
    await shutdown();
  });

  it("rejects with the signal's default AbortError when aborted without a reason", async () => {
    const { clock, factory, registry, shutdown } = harness();
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
    const { clock, factory, registry, shutdown } = harness();
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
    const { clock, factory, registry, shutdown } = harness({ idleValidationMs: 60_000 });
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
    const { clock, factory, registry, shutdown } = harness();
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
    const { factory, registry, shutdown } = harness();
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
    const { clock, factory, registry, evicted, shutdown } = harness();
    await registry.withSession(request, () => undefined);
    const dead = factory.created[0]!;

    dead.dropTransport(new Error('socket hang up'));
    await clock.flush();

    expect(evicted()).toEqual([{ key, reason: 'transport-closed' }]);
    expect(registry.size).toBe(0);
    expect(dead.closeCalls).toBe(1);
    const lease = await registry.acquire(request);
    expect(lease.client).not.toBe(dead.client);
    expect(factory.createCalls).toBe(2);
    lease.release();
    await shutdown();
  });

  it('does not hand out a session with open leases once its transport closed, and closes it after they are released', async () => {
    const { clock, factory, registry, evicted, shutdown } = harness();
    const held = await registry.acquire(request);
    const dead = factory.created[0]!;

    dead.dropTransport();
    await clock.flush();
    const next = await registry.acquire(request);

    expect(next.client).not.toBe(dead.client);
    expect(factory.createCalls).toBe(2);
    expect(evicted()).toEqual([{ key, reason: 'transport-closed' }]);
    held.release();
    await clock.flush();
    expect(dead.closeCalls).toBe(1);
    next.release();
    await shutdown();
  });

  it('shares one replacement among concurrent acquires after the transport closed', async () => {
    const { clock, factory, registry, shutdown } = harness();
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
    const { clock, factory, registry, evicted, shutdown } = harness({ idleValidationMs: 60_000 });
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
    expect(evicted()).toHaveLength(1);
    await clock.flush();
    expect(dead.closeCalls).toBe(1);
    lease.release();
    await shutdown();
  });

  it('never hands out a connection whose transport closed before its creation resolved', async () => {
    let first = true;
    const dying = (factory: FakeSessionFactory): SessionFactory<FakeUpstreamClient> => ({
      async create(createRequest, events) {
        const connection = await factory.create(createRequest, events);
        if (first) {
          first = false;
          connection.dropTransport(new Error('closed during initialize'));
        }
        return connection;
      },
    });
    const { clock, factory, registry, shutdown } = harness({}, { sessionFactory: dying });

    const lease = await registry.acquire(request);

    expect(factory.createCalls).toBe(2);
    expect(lease.client).toBe(factory.created[1]!.client);
    await clock.flush();
    expect(factory.created[0]!.closeCalls).toBe(1);
    lease.release();
    await shutdown();
  });

  it('ignores closed() reported again, or by a connection that was already evicted', async () => {
    const { clock, factory, registry, evicted, shutdown } = harness();
    await registry.withSession(request, () => undefined);
    const old = factory.created[0]!;
    await registry.evict(key);
    const lease = await registry.acquire(request);

    old.dropTransport();
    old.events.closed(new Error('again'));
    await clock.flush();

    expect(evicted()).toEqual([{ key, reason: 'evict' }]);
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

describe('a creation in flight is joined only by requests for the same connection identity', () => {
  it('a request for a new URL aborts the creation in flight (its waiters get fingerprint-changed) and creates its own', async () => {
    const h = harness();
    const old = h.factory.nextCreate('manual');
    const first = track(h.registry.acquire(h.request('A')));
    await h.clock.flush();
    const moved = { ...h.request('A'), url: 'http://127.0.0.1:9/moved/mcp' };
    const second = h.registry.acquire(moved);
    await h.clock.flush();

    expect(first.error).toBeInstanceOf(SessionEvictedError);
    expect((first.error as SessionEvictedError).reason).toBe('fingerprint-changed');
    expect(old.request?.signal.aborted).toBe(true);
    const lease = await second;
    expect(http(h.factory.requests).map((r) => r.url)).toEqual([h.request('A').url, moved.url]);
    expect(lease.info.url).toBe(moved.url);
    expect(h.registry.snapshot().counters.createFailures).toBe(0);
    lease.release();
    await h.shutdown();
  });

  it('a request with another fingerprint or transport aborts the creation in flight; one with the same joins it', async () => {
    const h = harness();
    h.factory.nextCreate({ delayMs: 100 });
    const a = track(h.registry.acquire({ ...h.request('A'), fingerprint: 'v1' }));
    const joined = track(h.registry.acquire({ ...h.request('A'), fingerprint: 'v1' }));
    const b = h.registry.acquire({ ...h.request('A'), fingerprint: 'v2' });
    await h.clock.advance(100);
    const lease = await b;
    expect(a.error).toMatchObject({ code: 'EVICTED', reason: 'fingerprint-changed' });
    expect(joined.error).toMatchObject({ code: 'EVICTED', reason: 'fingerprint-changed' });
    const sse = await h.registry.acquire({ ...h.request('A'), fingerprint: 'v2' });
    expect(sse.client).toBe(lease.client);
    expect(h.factory.createCalls).toBe(2);
    lease.release();
    sse.release();
    await h.shutdown();
  });

  it('concurrent callers on two URLs each end on their own endpoint, never with transport-closed', async () => {
    const h = harness();
    const urls = ['http://127.0.0.1:9/one/mcp', 'http://127.0.0.1:9/two/mcp'];
    const outcomes: unknown[] = [];
    const calls: Promise<void>[] = [];
    for (let i = 0; i < 6; i++) {
      h.factory.nextCreate({ delayMs: 10 });
      const url = urls[i % 2]!;
      calls.push(
        h.registry.acquire({ ...h.request('A'), url }).then(
          (lease) => {
            outcomes.push(lease.info.url === url ? 'own' : 'wrong');
            lease.release();
          },
          (error: unknown) => void outcomes.push((error as SessionEvictedError).reason),
        ),
      );
    }
    await h.clock.advance(100);
    await Promise.all(calls);
    expect(outcomes).not.toContain('transport-closed');
    expect(outcomes).not.toContain('wrong');
    expect(outcomes).toContain('own');
    await h.shutdown();
  });
});

describe('multi-worker ownership on creation', () => {
  it('refuses to create any upstream session (not only the first) for a downstream session another live worker owns', async () => {
    const clock = new ManualClock();
    const store = new InMemoryAffinityStore({ clock });
    const factory = new FakeSessionFactory({ clock });
    const a = new UpstreamSessionRegistry<FakeUpstreamClient>({ sessionFactory: factory, clock, affinity: store, workerId: 'worker-a' });
    const b = new UpstreamSessionRegistry<FakeUpstreamClient>({ sessionFactory: factory, clock, affinity: store, workerId: 'worker-b' });
    (await a.acquire(requestFor('D', 'first'))).release();
    // Worker a's claim is lost (expired, store restarted); worker b takes the session over.
    await store.release('D', 'worker-a');
    expect(await b.route('D')).toEqual({ local: true, owner: 'worker-b' });

    await expect(a.acquire(requestFor('D', 'second'))).rejects.toMatchObject({ code: 'NOT_OWNER', owner: 'worker-b' });
    expect(factory.createCalls).toBe(1);
    // Reuse of a live local session needs no store round trip.
    (await a.acquire(requestFor('D', 'first'))).release();
    expect(factory.createCalls).toBe(1);
    const closing = Promise.all([a.closeAll(), b.closeAll()]);
    await clock.advance(20_000);
    await closing;
  });
});

describe('the factory runs outside the caller’s async context', () => {
  it('an AsyncLocalStorage value set around the first acquire is invisible inside create and what it schedules', async () => {
    const storage = new AsyncLocalStorage<string>();
    const seen: (string | undefined)[] = [];
    const h = harness({}, {
      sessionFactory: (fake) => ({
        async create(request, events) {
          seen.push(storage.getStore());
          setImmediate(() => seen.push(storage.getStore()));
          await Promise.resolve();
          seen.push(storage.getStore());
          return fake.create(request, events);
        },
      }),
    });
    const lease = await storage.run('downstream-request-1', () => h.registry.acquire(h.request('A')));
    await h.clock.flush();
    expect(seen).toEqual([undefined, undefined, undefined]);
    lease.release();
    await h.shutdown();
  });
});

describe('what a connection reports about itself', () => {
  it('era and protocolVersion appear in SessionInfo, the snapshot and events', async () => {
    const h = harness({}, {
      sessionFactory: (fake) => ({
        async create(request, events) {
          const connection = await fake.create(request, events);
          return { client: connection.client, close: (s: AbortSignal) => connection.close(s), era: 'modern' as const, protocolVersion: '2026-07-28' };
        },
      }),
    });
    const lease = await h.registry.acquire(h.request('A'));
    expect(lease.info).toMatchObject({ era: 'modern', protocolVersion: '2026-07-28' });
    expect(h.registry.snapshot().entries[0]).toMatchObject({ era: 'modern', protocolVersion: '2026-07-28' });
    expect(h.events.payloads('session:created')[0]?.info).toMatchObject({ era: 'modern', protocolVersion: '2026-07-28' });
    lease.release();
    await h.shutdown();
  });

  it("the connection's own probe replaces the probe chain, with the registry's chain and timeout", async () => {
    const calls: { probes: readonly string[]; timeoutMs: number }[] = [];
    let healthy = true;
    const h = harness({ idleValidationMs: 1_000, probeTimeoutMs: 2_000 }, {
      sessionFactory: (fake) => ({
        async create(request, events) {
          const connection = await fake.create(request, events);
          return {
            client: connection.client,
            close: (s: AbortSignal) => connection.close(s),
            probe: ({ probes, timeoutMs }: { probes: readonly string[]; timeoutMs: number }) => {
              calls.push({ probes, timeoutMs });
              return Promise.resolve(
                healthy ? { healthy: true as const, method: 'server/discover' as const } : { healthy: false as const, method: 'server/discover' as const, error: new Error('gone') },
              );
            },
          };
        },
      }),
    });
    (await h.registry.acquire(h.request('A'))).release();
    await h.clock.advance(1_001);
    (await h.registry.acquire(h.request('A'))).release();
    expect(calls).toEqual([{ probes: ['ping', 'tools/list', 'prompts/list', 'resources/list', 'skip'], timeoutMs: 2_000 }]);
    expect(h.events.payloads('probe')[0]).toMatchObject({ healthy: true, method: 'server/discover' });
    expect(h.factory.created[0]!.client.calls.ping).toBe(0);
    healthy = false;
    await h.clock.advance(1_001);
    (await h.registry.acquire(h.request('A'))).release();
    expect(h.evictions()).toEqual(['A/counter:probe-failed']);
    expect(h.factory.createCalls).toBe(2);
    await h.shutdown();
  });

  it("a connection's own probe that never answers is unhealthy after probes × probeTimeoutMs", async () => {
    const h = harness({ idleValidationMs: 1_000, probeTimeoutMs: 100, probes: ['ping', 'skip'] }, {
      sessionFactory: (fake) => ({
        async create(request, events) {
          const connection = await fake.create(request, events);
          return { client: connection.client, close: (s: AbortSignal) => connection.close(s), probe: () => new Promise<never>(() => undefined) };
        },
      }),
    });
    (await h.registry.acquire(h.request('A'))).release();
    await h.clock.advance(1_001);
    const next = h.registry.acquire(h.request('A'));
    await h.clock.advance(200);
    (await next).release();
    expect(h.events.payloads('probe')[0]).toMatchObject({ healthy: false, durationMs: 200 });
    expect(h.factory.createCalls).toBe(2);
    await h.shutdown();
  });
});

describe('zero-round-trip (unproven) connections keep the circuit breaker honest', () => {
  function unprovenHarness() {
    return harness({ circuitBreaker: { failureThreshold: 2, resetMs: 1_000 } }, {
      sessionFactory: (fake) => ({
        async create(request, events) {
          const connection = await fake.create(request, events);
          return { client: connection.client, close: (s: AbortSignal) => connection.close(s), unproven: true };
        },
      }),
    });
  }

  it("a transport error on the first released call counts as a creation failure, so a dead upstream opens the circuit", async () => {
    const h = unprovenHarness();
    for (const id of ['A', 'B']) {
      const lease = await h.registry.acquire(h.request(id));
      lease.release(Object.assign(new Error('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }));
    }
    expect(h.events.payloads('circuit:open')).toHaveLength(1);
    await expect(h.registry.acquire(h.request('C'))).rejects.toMatchObject({ code: 'CIRCUIT_OPEN' });
    await h.shutdown();
  });

  it('a clean first call proves the connection; later transport errors are not creation failures', async () => {
    const h = unprovenHarness();
    const lease = await h.registry.acquire(h.request('A'));
    lease.release();
    for (const id of ['B', 'C']) {
      const l = await h.registry.acquire(h.request(id));
      l.release();
    }
    const again = await h.registry.acquire(h.request('A'));
    again.release(Object.assign(new Error('fetch failed'), { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) }));
    expect(h.events.payloads('circuit:open')).toHaveLength(0);
    expect(h.registry.snapshot().upstreams[0]).toMatchObject({ consecutiveFailures: 0 });
    await h.shutdown();
  });
});

describe('creation failures of stdio upstreams', () => {
  const STDIO_FAILURE = Symbol.for('mcp-upstream-sessions.stdioFailure');
  const request = {
    downstreamSessionId: 'D',
    upstreamId: 'memory',
    transport: 'stdio' as const,
    command: '/opt/mcp/bin/memory-server',
    args: ['--token', 'arg-secret-123', '-v'],
    env: { API_KEY: 'env-secret-456' },
  };

  it('keeps the safe cause message of process_exited whole, with env values and long args scrubbed', async () => {
    const logs: string[] = [];
    const stderr = Array.from({ length: 40 }, (_, i) => `line ${i}: loading store`).join('\n');
    const h = harness({}, {
      logger: { debug: () => undefined, info: () => undefined, warn: (m, f) => logs.push(m + JSON.stringify(f)), error: () => undefined },
    });
    h.factory.nextCreate(
      Object.assign(new Error(`memory-server exited with code 1 (2 args); stderr:\n${stderr}\nbad key env-secret-456 for arg-secret-123`), {
        [STDIO_FAILURE]: 'process_exited',
        exitCode: 1,
      }),
    );
    const error = await h.registry.acquire(request).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(SessionCreateError);
    const { message, category } = error as SessionCreateError;
    expect(category).toBe('process_exited');
    expect(message).toContain('line 39: loading store');
    expect(message.length).toBeGreaterThan(300);
    for (const secret of ['env-secret-456', 'arg-secret-123', '/opt/mcp/bin']) {
      expect(message).not.toContain(secret);
      expect(logs.join('\n')).not.toContain(secret);
    }
    await h.shutdown();
  });
});

describe('a throwing logger together with a failing store', () => {
  it('never changes a routing decision, never becomes a creation failure, never leaves an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const down = (): Promise<never> => Promise.reject(new Error('connect ECONNREFUSED redis://user:pw@127.0.0.1:7000'));
      const store = { claim: down, refresh: down, release: down, owner: down, reclaim: down, heartbeat: down, isAlive: down };
      const explode = (): never => {
        throw new Error('logger is broken');
      };
      const h = harness({ affinity: store, circuitBreaker: { failureThreshold: 1, resetMs: 1_000 } }, {
        logger: { debug: explode, info: explode, warn: explode, error: explode },
      });
      h.registry.on('affinity:error', () => {
        throw new Error('listener is broken too');
      });
      expect(await h.registry.route('D')).toEqual({ local: true, owner: h.registry.workerId });
      const lease = await h.registry.acquire(h.request('D'));
      lease.release();
      expect(h.registry.snapshot().counters.createFailures).toBe(0);
      expect(h.events.payloads('circuit:open')).toEqual([]);
      expect(h.events.count('affinity:error')).toBeGreaterThan(0);
      await h.shutdown();
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
