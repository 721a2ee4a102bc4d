import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamSessionRegistry, type SessionRequest } from '../../src/index.js';
import { FakeSessionFactory, ManualClock, createConnectionRefusedError, type FakeUpstreamClient } from '../../src/testing/index.js';
import { setupTelemetry, totalOf, valueOf, type Point, type Telemetry } from './harness.js';

// SPEC §10: after a scripted sequence every metric has the expected values and attributes, the sessions gauge
// follows `size`, and `dispose()` stops all recording.

const A = 'http://a.example:3001/mcp';
const B = 'https://b.example/mcp/tenant?key=1';
const req = (downstreamSessionId: string, upstreamId: 'up-a' | 'up-b'): SessionRequest => ({
  downstreamSessionId,
  upstreamId,
  url: upstreamId === 'up-a' ? A : B,
});

let telemetry: Telemetry | undefined;
afterEach(async () => {
  await telemetry?.shutdown();
  telemetry = undefined;
});

function setup(): { clock: ManualClock; factory: FakeSessionFactory; registry: UpstreamSessionRegistry<FakeUpstreamClient>; t: Telemetry } {
  const clock = new ManualClock();
  const factory = new FakeSessionFactory({ clock });
  const registry = new UpstreamSessionRegistry<FakeUpstreamClient>({ sessionFactory: factory, clock, idleValidationMs: 1_000 });
  telemetry = setupTelemetry(registry, { 'service.namespace': 'gw' });
  return { clock, factory, registry, t: telemetry };
}

const ready = (points: readonly Point[]): number => totalOf(points, { state: 'ready' });

describe('OpenTelemetry metrics', () => {
  it('record a scripted sequence of creates, reuses, a failed create, probes and evictions', async () => {
    const { clock, factory, registry, t } = setup();
    // Two sessions with up-a (one created in 250 ms, reused twice), one with up-b.
    factory.nextCreate({ delayMs: 250 });
    const first = registry.acquire(req('d1', 'up-a'));
    await clock.advance(250);
    (await first).release();
    (await registry.acquire(req('d1', 'up-a'))).release();
    (await registry.acquire(req('d1', 'up-a'))).release();
    (await registry.acquire(req('d2', 'up-a'))).release();
    (await registry.acquire(req('d1', 'up-b'))).release();
    expect(ready(await t.points('mcp_upstream.sessions'))).toBe(registry.size);
    // A failed create.
    factory.nextCreate('fail', createConnectionRefusedError('up-b'));
    await expect(registry.acquire(req('d3', 'up-b'))).rejects.toThrow();
    // Idle past idleValidationMs: a healthy probe (ping) for d1/up-a, an unhealthy one for d2/up-a.
    await clock.advance(1_500);
    factory.connectionsFor({ downstreamSessionId: 'd2', upstreamId: 'up-a' })[0]!.client.script.ping = 'broken';
    (await registry.acquire(req('d1', 'up-a'))).release();
    (await registry.acquire(req('d2', 'up-a'))).release(); // probe-failed, then created again
    // Evictions by several reasons.
    await clock.advance(500);
    factory.connectionsFor({ downstreamSessionId: 'd1', upstreamId: 'up-b' })[0]!.dropTransport();
    await clock.flush();
    await registry.evict({ downstreamSessionId: 'd1', upstreamId: 'up-a' });
    expect(ready(await t.points('mcp_upstream.sessions'))).toBe(registry.size);

    const creates = await t.points('mcp_upstream.session.creates');
    expect(valueOf(creates, { 'mcp_upstream.upstream.id': 'up-a', outcome: 'ok' })).toBe(3);
    expect(valueOf(creates, { 'mcp_upstream.upstream.id': 'up-b', outcome: 'ok' })).toBe(1);
    const failed = creates.filter((p) => p.attributes.outcome === 'error');
    expect(failed.map((p) => [p.attributes['mcp_upstream.upstream.id'], p.attributes['error.type'], p.value])).toEqual([
      ['up-b', 'connection_refused', 1],
    ]);
    for (const point of creates) {
      expect(point.attributes).toMatchObject({ 'service.namespace': 'gw', 'network.transport': 'tcp' });
    }
    expect(valueOf(creates, { 'server.address': 'a.example', outcome: 'ok' })).toBe(3);
    expect(creates.find((p) => p.attributes['server.address'] === 'b.example')?.attributes['server.port']).toBe(443);

    const createDuration = await t.points('mcp_upstream.session.create.duration');
    const aOk = createDuration.find((p) => p.attributes['mcp_upstream.upstream.id'] === 'up-a' && p.attributes.outcome === 'ok');
    expect([aOk?.value, aOk?.sum]).toEqual([3, 0.25]);

    // Reuses: d1/up-a was leased 4 times (3 reuses), everything else once.
    expect(totalOf(await t.points('mcp_upstream.session.reuses'), { 'mcp_upstream.upstream.id': 'up-a' })).toBe(3);
    expect(totalOf(await t.points('mcp_upstream.session.reuses'), { 'mcp_upstream.upstream.id': 'up-b' })).toBe(0);

    const probes = await t.points('mcp_upstream.probe.duration');
    expect(probes.map((p) => [p.attributes.outcome, p.attributes['mcp.method.name'], p.attributes['error.type'], p.value]).sort()).toEqual([
      ['healthy', 'ping', undefined, 1],
      ['unhealthy', 'ping', expect.any(String), 1],
    ]);

    const evictions = await t.points('mcp_upstream.session.evictions');
    expect(valueOf(evictions, { reason: 'probe-failed' })).toBe(1);
    expect(valueOf(evictions, { reason: 'transport-closed' })).toBe(1);
    expect(valueOf(evictions, { reason: 'evict' })).toBe(1);

    const lifetimes = await t.points('mcp.client.session.duration');
    const byType = Object.fromEntries(lifetimes.map((p) => [String(p.attributes['error.type'] ?? 'none'), [p.value, p.sum]]));
    // d2/up-a lived 1.5 s (probe-failed), d1/up-b 2 s (transport-closed), d1/up-a 2 s (evict: no error.type).
    expect(byType).toEqual({ 'probe-failed': [1, 1.5], 'transport-closed': [1, 2], none: [1, 2] });
    await registry.closeAll();
  });

  it('the sessions gauge reports creating and draining, and ready sums to size at every step', async () => {
    const { clock, factory, registry, t } = setup();
    factory.nextCreate({ delayMs: 100 });
    const creating = registry.acquire(req('d1', 'up-a'));
    let points = await t.points('mcp_upstream.sessions');
    expect([ready(points), totalOf(points, { state: 'creating' })]).toEqual([0, 1]);
    await clock.advance(100);
    const lease = await creating;
    points = await t.points('mcp_upstream.sessions');
    expect([ready(points), totalOf(points, { state: 'creating' }), registry.size]).toEqual([1, 0, 1]);
    // Evicted with a lease open: draining until released.
    const evicting = registry.evict({ downstreamSessionId: 'd1', upstreamId: 'up-a' });
    points = await t.points('mcp_upstream.sessions');
    expect([ready(points), totalOf(points, { state: 'draining' }), registry.size]).toEqual([0, 1, 0]);
    lease.release();
    await evicting;
    points = await t.points('mcp_upstream.sessions');
    expect([ready(points), totalOf(points, { state: 'draining' }), totalOf(points, { state: 'creating' })]).toEqual([0, 0, 0]);
    for (let i = 0; i < 5; i++) (await registry.acquire(req(`d${i}`, i % 2 === 0 ? 'up-a' : 'up-b'))).release();
    expect(ready(await t.points('mcp_upstream.sessions'))).toBe(5);
    await registry.closeAll();
    expect(ready(await t.points('mcp_upstream.sessions'))).toBe(0);
  });

  it('dispose() stops all recording: later activity changes no metric', async () => {
    const { registry, t } = setup();
    (await registry.acquire(req('d1', 'up-a'))).release();
    (await registry.acquire(req('d1', 'up-a'))).release();
    const serialize = (metrics: Awaited<ReturnType<Telemetry['collect']>>): string =>
      JSON.stringify([...metrics.values()].map((m) => [m.descriptor.name, m.dataPoints.map((p) => [p.attributes, p.value])]));
    const before = serialize(await t.collect());
    expect(before).toContain('mcp_upstream.session.creates');
    t.instrumentation.dispose();
    (await registry.acquire(req('d1', 'up-a'))).release();
    (await registry.acquire(req('d2', 'up-b'))).release();
    await registry.evictSession('d1');
    // Counters and histograms keep their cumulative values; the observable callback is gone, so the gauge and
    // the reuse counter stay at what they last observed: nothing changes.
    expect(serialize(await t.collect())).toBe(before);
    expect(t.finished()).toHaveLength(1); // the one creation span from before dispose
    await registry.closeAll();
  });
});
