import { describe, expect, it } from 'vitest';
import { UpstreamSessionRegistry, type RegistryOptions, type SessionFactory } from '../../src/index.js';
import { type HttpSessionRequest as SessionRequest } from '../../src/types.js';
import { FakeSessionFactory, ManualClock, type FakeUpstreamClient } from '../../src/testing/index.js';

// Bugs found while building and running the registry model (registry-model.test.ts), each reduced to a
// minimal named reproduction. The model's own invariant that catches each one is named in its comment.

function request(downstreamSessionId: string, upstreamId: string): SessionRequest {
  return { downstreamSessionId, upstreamId, url: `http://${upstreamId}.example.test/mcp` };
}

interface Harness {
  clock: ManualClock;
  factory: FakeSessionFactory;
  registry: UpstreamSessionRegistry<FakeUpstreamClient>;
}

function setup(options: Omit<RegistryOptions<FakeUpstreamClient>, 'sessionFactory' | 'clock'>): Harness {
  const clock = new ManualClock();
  const factory = new FakeSessionFactory({ clock });
  const registry = new UpstreamSessionRegistry({ ...options, sessionFactory: factory, clock });
  return { clock, factory, registry };
}

async function shutDown({ clock, factory, registry }: Harness): Promise<void> {
  const closing = registry.closeAll();
  await clock.advance(60_000);
  await closing;
  expect(factory.open).toBe(0);
  expect(factory.doubleClosed).toEqual([]);
}

describe('model regressions', () => {
  it('capacity eviction of the last session of an upstream does not detach the new session from that upstream', async () => {
    // Model invariant: "snapshot.upstreams[u] disagrees with entries". With maxSessions reached, a new
    // session for u1 evicts the idle LRU session, which is u1's only one (reason capacity). Removing it drops
    // u1's index while #startCreate still holds that index object and inserts the new session into it: the
    // new session lives in a detached index. snapshot.upstreams reports u1 without it, evictUpstream('u1')
    // misses it, and maxSessionsPerUpstream no longer counts it.
    const h = setup({ maxSessions: 2 });
    const held = await h.registry.acquire(request('d0', 'u0'));
    (await h.registry.acquire(request('d1', 'u1'))).release();
    const lease = await h.registry.acquire(request('d2', 'u1'));
    expect(h.registry.snapshot().evictionsByReason.capacity).toBe(1);

    const u1 = h.registry.snapshot().upstreams.find((up) => up.upstreamId === 'u1');
    lease.release();
    const evicted = await h.registry.evictUpstream('u1');
    expect({ u1, evicted }).toEqual({ u1: expect.objectContaining({ sessions: 1, inFlight: 1 }), evicted: 1 });
    expect(h.registry.size).toBe(1);

    held.release();
    await shutDown(h);
  });

  it('a session whose health probe threw a programming error is still closed when idleTtlMs runs out', async () => {
    // Model invariant: "session idle since t=… outlived idleTtlMs". After a probe threw a programming error
    // the session went back to idle with its old lastUsedAt but at the end of the idle list; the idle sweep
    // stops at the first session that is not yet expired, so this one outlived idleTtlMs (by up to
    // idleTtlMs). Checked as the invariant: at every millisecond, no idle session is older than idleTtlMs.
    const h = setup({ idleTtlMs: 300, idleValidationMs: 50, probes: ['tools/list', 'skip'] });
    (await h.registry.acquire(request('d0', 'u0'))).release(); // idle since t=0
    h.factory.created[0]!.client.script.listTools = new TypeError('bug in the upstream client');
    await h.clock.advance(51);
    (await h.registry.acquire(request('d1', 'u0'))).release(); // idle since t=51
    await expect(h.registry.acquire(request('d0', 'u0'))).rejects.toBeInstanceOf(TypeError);

    for (let step = 0; step < 400; step += 1) {
      await h.clock.advance(1);
      const now = h.clock.now();
      const overdue = h.registry
        .snapshot()
        .entries.filter((info) => info.state === 'ready' && info.inFlight === 0 && now - info.lastUsedAt >= 300);
      expect(overdue, `t=${now}`).toEqual([]);
    }
    expect(h.registry.snapshot().entries).toEqual([]);
    expect(h.registry.snapshot().evictionsByReason.idle).toBe(2);
    await shutDown(h);
  });

  it('a session that passed maxAgeMs during a health probe nobody waits for any more is closed once idle', async () => {
    // Model invariant: "idle session created at t=… outlived maxAgeMs". The max-age sweep skips a session
    // that is probing; when the probe then succeeds with no waiter left (the caller's signal aborted), the
    // session goes back to idle without an age check and no sweep is armed for it: it stays open for good
    // (here idleTtlMs is off, so nothing ever closes it).
    const h = setup({ maxAgeMs: 1_000, idleValidationMs: 100, probeTimeoutMs: 500, idleTtlMs: 0 });
    (await h.registry.acquire(request('d0', 'u0'))).release();
    await h.clock.advance(900);
    h.factory.created[0]!.client.script.ping = { delayMs: 200 };
    const controller = new AbortController();
    const waiting = h.registry.acquire({ ...request('d0', 'u0'), signal: controller.signal });
    await h.clock.advance(10);
    controller.abort(new Error('caller gave up'));
    await expect(waiting).rejects.toThrow('caller gave up');
    await h.clock.advance(190); // t=1100: the probe succeeds; the session is 1100 ms old and idle

    await h.clock.advance(1_000);
    expect(h.registry.snapshot().entries).toEqual([]);
    expect(h.registry.snapshot().evictionsByReason['max-age']).toBe(1);
    expect(h.factory.open).toBe(0);
    await shutDown(h);
  });

  it('an acquire that runs out of rounds never gets a session made for another URL', async () => {
    // Model check: "lease info of #… has the wrong url". Two callers want one key with different URLs (the
    // host changed the upstream's endpoint while requests were in flight). They replace each other's session
    // (fingerprint-changed); with one creation whose transport dies at once, the third caller reaches
    // MAX_ACQUIRE_ROUNDS, and the fallback there leased the current ready session without checking its
    // fingerprint: a caller asking for /new/ got a lease on the session to /old/.
    const clock = new ManualClock();
    const factory = new FakeSessionFactory({ clock });
    let calls = 0;
    const secondCreationDiesAtOnce: SessionFactory<FakeUpstreamClient> = {
      create: async (createRequest, events) => {
        calls += 1;
        const conn = await factory.create(createRequest, events);
        if (calls === 2) conn.dropTransport(new Error('socket hang up'));
        return conn;
      },
    };
    const registry = new UpstreamSessionRegistry({ sessionFactory: secondCreationDiesAtOnce, clock });
    const key = { downstreamSessionId: 'd0', upstreamId: 'u0' };
    const oldUrl = 'http://u0.example.test/old/mcp';
    const newUrl = 'http://u0.example.test/new/mcp';
    factory.nextCreate({ delayMs: 30 });
    const urlOf = (pending: Promise<{ release(): void; info: { url?: string } }>): Promise<string | undefined> =>
      pending.then(
        (lease) => {
          lease.release();
          return lease.info.url;
        },
        () => 'rejected',
      );
    // Handlers are attached at once: a caller may be rejected while the clock advances.
    const settled = Promise.all([
      urlOf(registry.acquire({ ...key, url: oldUrl, signal: new AbortController().signal })),
      urlOf(registry.acquire({ ...key, url: newUrl })),
      urlOf(registry.acquire({ ...key, url: newUrl, signal: new AbortController().signal })),
    ]);
    await clock.advance(30);
    const urls = await settled;
    // Any caller may be rejected (the two URLs fight over one key), but a lease is always for the URL asked.
    expect(urls[0]).toMatch(/^(http:\/\/u0\.example\.test\/old\/mcp|rejected)$/);
    expect(urls[1]).toMatch(/^(http:\/\/u0\.example\.test\/new\/mcp|rejected)$/);
    expect(urls[2]).toMatch(/^(http:\/\/u0\.example\.test\/new\/mcp|rejected)$/);
    await shutDown({ clock, factory, registry });
  });
});
