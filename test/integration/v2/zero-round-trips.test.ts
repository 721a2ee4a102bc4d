import { type Client } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { CircuitOpenError } from '../../../src/errors.js';
import { createSdkV2SessionFactory, InMemoryEraStore } from '../../../src/mcp/v2/index.js';
import { UpstreamSessionRegistry } from '../../../src/registry.js';
import { text, until, useCleanup } from './fixtures/harness.js';
import { startModernUpstream } from './fixtures/modern-upstream.js';

const cleanup = useCleanup();

describe('zero round trips on a cached modern verdict', () => {
  it('sends nothing for 20 more sessions of one principal until they call a tool, apart from the one shared listen stream', async () => {
    const upstream = await startModernUpstream();
    cleanup(() => upstream.close());
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory() });
    cleanup(() => registry.closeAll());
    const request = (i: number) => ({ downstreamSessionId: `tab-${i}`, upstreamId: 'modern', url: upstream.url, principal: 'alice' });

    const first = await registry.acquire(request(0));
    first.release();
    await until(() => upstream.traffic.count('subscriptions/listen') === 1);
    const before = upstream.traffic.total;
    expect(upstream.traffic.count('server/discover')).toBe(1);

    const leases = [];
    for (let i = 1; i <= 20; i += 1) leases.push(await registry.acquire(request(i)));
    expect(registry.size).toBe(21);
    expect(upstream.traffic.total).toBe(before);

    for (const lease of leases) {
      expect(text(await lease.client.callTool({ name: 'count', arguments: {} }))).toMatch(/^modern:\d+$/u);
      lease.release();
    }
    expect(upstream.traffic.count('tools/call')).toBe(20);
    expect(upstream.traffic.total).toBe(before + 20);
    expect(upstream.traffic.count('server/discover')).toBe(1);
    expect(upstream.traffic.count('subscriptions/listen')).toBe(1);
  });

  it('sends exactly one server/discover for 20 concurrent cold creations', async () => {
    const upstream = await startModernUpstream();
    cleanup(() => upstream.close());
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory({ listen: false }) });
    cleanup(() => registry.closeAll());
    const leases = await Promise.all(
      Array.from({ length: 20 }, (_, i) => registry.acquire({ downstreamSessionId: `cold-${i}`, upstreamId: 'modern', url: upstream.url })),
    );
    expect(leases.every((lease) => lease.info.era === 'modern')).toBe(true);
    expect(upstream.traffic.count('server/discover')).toBe(1);
    expect(upstream.traffic.total).toBe(1);
    for (const lease of leases) lease.release();
  });

  it('still opens the circuit for a dead modern upstream: first-call failures count as creation failures', async () => {
    const upstream = await startModernUpstream();
    const eraStore = new InMemoryEraStore();
    const registry = new UpstreamSessionRegistry<Client>({
      sessionFactory: createSdkV2SessionFactory({ eraStore, listen: false }),
      circuitBreaker: { failureThreshold: 3, resetMs: 60_000, maxResetMs: 60_000 },
    });
    cleanup(() => registry.closeAll());
    await registry.withSession({ downstreamSessionId: 'warm', upstreamId: 'modern', url: upstream.url }, () => undefined);
    await upstream.close();

    const failures: unknown[] = [];
    for (let i = 0; i < 3; i += 1) {
      // Each creation is instant (zero round trips); the call is what finds the upstream dead.
      await registry
        .withSession({ downstreamSessionId: `tab-${i}`, upstreamId: 'modern', url: upstream.url }, (client) => client.callTool({ name: 'count', arguments: {} }))
        .catch((error: unknown) => failures.push(error));
    }
    expect(failures).toHaveLength(3);
    await expect(registry.acquire({ downstreamSessionId: 'tab-next', upstreamId: 'modern', url: upstream.url })).rejects.toBeInstanceOf(CircuitOpenError);
  });
});
