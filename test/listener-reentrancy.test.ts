/**
 * Re-entrancy (SPEC §4.1.3, §4.5): listeners may call back into the registry. An `acquire` from a listener
 * never leaks a connection, never displaces an entry without closing it and never pushes the registry past
 * `maxSessions`; a `closeAll` from a listener during shutdown returns the outer call's promise.
 */
import { describe, expect, it } from 'vitest';
import { type SessionLease } from '../src/index.js';
import { type FakeUpstreamClient } from '../src/testing/index.js';
import { harness } from './support/harness.js';

describe('an acquire from inside an event listener', () => {
  it('re-warming in a session:evicted listener during a fingerprint change leaks nothing and displaces nothing', async () => {
    const h = harness();
    const rewarmed: Promise<SessionLease<FakeUpstreamClient>>[] = [];
    h.registry.on('session:evicted', ({ key, reason }) => {
      if (reason === 'fingerprint-changed') rewarmed.push(h.registry.acquire({ ...h.request(key.downstreamSessionId), fingerprint: 'v2' }));
    });
    (await h.registry.acquire({ ...h.request('A'), fingerprint: 'v1' })).release();
    const lease = await h.registry.acquire({ ...h.request('A'), fingerprint: 'v2' });
    expect(rewarmed).toHaveLength(1);
    const other = await rewarmed[0]!;
    // The listener joined the caller's creation instead of starting a second one that would displace it.
    expect(other.client).toBe(lease.client);
    expect(h.factory.createCalls).toBe(2);
    expect(h.registry.size).toBe(1);
    lease.release();
    other.release();
    await h.shutdown();
  });

  it('re-warming the evicted key with the old identity aborts the caller’s creation instead of leaking it', async () => {
    const h = harness();
    let rewarm: Promise<unknown> | undefined;
    h.registry.on('session:evicted', ({ reason }) => {
      if (reason === 'fingerprint-changed' && rewarm === undefined) {
        rewarm = h.registry.acquire({ ...h.request('A'), fingerprint: 'v1' }).then((l) => l.release(), (e: unknown) => e);
      }
    });
    (await h.registry.acquire({ ...h.request('A'), fingerprint: 'v1' })).release();
    const caller = await h.registry.acquire({ ...h.request('A'), fingerprint: 'v2' }).then((l) => l, (e: unknown) => e);
    await rewarm;
    await h.clock.flush();
    if (typeof (caller as { release?: unknown }).release === 'function') (caller as SessionLease<FakeUpstreamClient>).release();
    // Whatever won, every connection the factory made is either the one live session or closed.
    expect(h.factory.open).toBe(h.registry.size);
    expect(h.registry.size).toBeLessThanOrEqual(1);
    await h.shutdown();
  });

  it('re-warming in a session:evicted listener during a capacity eviction never exceeds maxSessions', async () => {
    const h = harness({ maxSessions: 2 });
    const rewarmed: Promise<unknown>[] = [];
    h.registry.on('session:evicted', ({ key, reason }) => {
      if (reason === 'capacity') {
        rewarmed.push(h.registry.acquire(h.request(key.downstreamSessionId)).then((l) => l, (e: unknown) => e));
      }
    });
    (await h.registry.acquire(h.request('A'))).release();
    (await h.registry.acquire(h.request('B'))).release();
    const c = await h.registry.acquire(h.request('C'));
    const outcomes = await Promise.all(rewarmed);
    expect(h.registry.size).toBeLessThanOrEqual(2);
    expect(h.factory.open).toBeLessThanOrEqual(2);
    for (const outcome of outcomes) {
      if (typeof (outcome as { release?: unknown }).release === 'function') (outcome as SessionLease<FakeUpstreamClient>).release();
    }
    c.release();
    await h.clock.flush();
    expect(h.factory.open).toBe(h.registry.size);
    await h.shutdown();
  });

  it('an acquire from a session:created listener for the same key joins the session instead of creating another', async () => {
    const h = harness();
    const inner: Promise<SessionLease<FakeUpstreamClient>>[] = [];
    h.registry.once('session:created', ({ key }) => {
      inner.push(h.registry.acquire(h.request(key.downstreamSessionId)));
    });
    const outer = await h.registry.acquire(h.request('A'));
    const nested = await inner[0]!;
    expect(nested.client).toBe(outer.client);
    expect(h.factory.createCalls).toBe(1);
    outer.release();
    nested.release();
    await h.shutdown();
  });

  it('every connection created from listeners is closed by closeAll', async () => {
    const h = harness({ maxSessions: 3 });
    let budget = 10;
    h.registry.on('session:evicted', ({ key }) => {
      if (budget-- > 0) void h.registry.acquire({ ...h.request(key.downstreamSessionId), fingerprint: `f${budget}` }).then((l) => l.release(), () => undefined);
    });
    for (const id of ['A', 'B', 'C', 'D', 'E']) (await h.registry.acquire({ ...h.request(id), fingerprint: 'x' })).release();
    await h.clock.flush();
    await h.registry.evictSession('A');
    await h.clock.flush();
    expect(h.registry.size).toBeLessThanOrEqual(3);
    await h.shutdown(); // checks factory.open === 0 and no double close
  });
});

describe('closeAll from inside a listener', () => {
  it('returns the same promise as the outer call while the shutdown runs', async () => {
    const h = harness();
    (await h.registry.acquire(h.request('A'))).release();
    const inner: Promise<void>[] = [];
    h.registry.on('session:evicted', () => inner.push(h.registry.closeAll()));
    const outer = h.registry.closeAll();
    expect(inner).toHaveLength(1);
    expect(inner[0]).toBe(outer);
    await h.manual.advance(2 * h.closeTimeoutMs);
    await outer;
    expect(h.factory.open).toBe(0);
  });
});
