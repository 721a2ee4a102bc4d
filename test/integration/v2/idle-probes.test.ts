import { type Client } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { type ProbeEvent, type SessionEvictedEvent } from '../../../src/events.js';
import { createSdkV2SessionFactory } from '../../../src/mcp/v2/index.js';
import { UpstreamSessionRegistry } from '../../../src/registry.js';
import { ManualClock } from '../../../src/testing/index.js';
import { useCleanup } from './fixtures/harness.js';
import { startLegacyUpstream } from './fixtures/legacy-upstream.js';
import { startModernUpstream } from './fixtures/modern-upstream.js';

const cleanup = useCleanup();
const IDLE_MS = 1_000;

function setup() {
  const clock = new ManualClock(Date.now());
  const registry = new UpstreamSessionRegistry<Client>({
    clock,
    idleValidationMs: IDLE_MS,
    sessionFactory: createSdkV2SessionFactory({ listen: false }),
  });
  cleanup(() => registry.closeAll());
  const probes: ProbeEvent[] = [];
  const evictions: SessionEvictedEvent[] = [];
  registry.on('probe', (event) => probes.push(event));
  registry.on('session:evicted', (event) => evictions.push(event));
  return { clock, registry, probes, evictions };
}

describe('health probes after an idle window, per era', () => {
  it('sends server/discover to a modern upstream', async () => {
    const upstream = await startModernUpstream();
    cleanup(() => upstream.close());
    const { clock, registry, probes } = setup();
    const request = { downstreamSessionId: 'tab', upstreamId: 'modern', url: upstream.url };
    (await registry.acquire(request)).release();
    await clock.advance(IDLE_MS + 1);
    const lease = await registry.acquire(request);
    lease.release();
    expect(probes.map((probe) => [probe.method, probe.healthy])).toEqual([['server/discover', true]]);
    expect(upstream.traffic.count('server/discover')).toBe(2);
    expect(upstream.traffic.count('ping')).toBe(0);
  });

  it('sends ping to a legacy upstream', async () => {
    const upstream = await startLegacyUpstream();
    cleanup(() => upstream.close());
    const { clock, registry, probes } = setup();
    const request = { downstreamSessionId: 'tab', upstreamId: 'legacy', url: upstream.url };
    (await registry.acquire(request)).release();
    await clock.advance(IDLE_MS + 1);
    (await registry.acquire(request)).release();
    expect(probes.map((probe) => [probe.method, probe.healthy])).toEqual([['ping', true]]);
    expect(upstream.traffic.count('ping')).toBe(1);
    expect(upstream.traffic.count('tools/list')).toBe(0);
  });

  it('replaces a modern session whose upstream died: the probe fails and a new session is made', async () => {
    const upstream = await startModernUpstream();
    const { clock, registry, probes, evictions } = setup();
    const request = { downstreamSessionId: 'tab', upstreamId: 'modern', url: upstream.url };
    (await registry.acquire(request)).release();
    await upstream.close();
    await clock.advance(IDLE_MS + 1);
    const lease = await registry.acquire(request);
    lease.release();
    expect(probes.map((probe) => [probe.method, probe.healthy])).toEqual([['server/discover', false]]);
    expect(evictions.map((eviction) => eviction.reason)).toEqual(['probe-failed']);
    expect(registry.snapshot().counters.creates).toBe(2);
  });
});
