import { describe, expect, it } from 'vitest';
import { UpstreamSessionRegistry } from '../src/index.js';
import { FakeSessionFactory, ManualClock } from '../src/testing/index.js';

describe('smoke', () => {
  it('creates, reuses, probes, evicts, closes', async () => {
    const clock = new ManualClock();
    const factory = new FakeSessionFactory({ clock });
    const registry = new UpstreamSessionRegistry({ sessionFactory: factory, clock });
    const req = { downstreamSessionId: 'A', upstreamId: 'u', url: 'http://x/mcp' };
    const leases = await Promise.all(Array.from({ length: 50 }, () => registry.acquire(req)));
    expect(factory.createCalls).toBe(1);
    expect(new Set(leases.map((l) => l.client)).size).toBe(1);
    leases.forEach((l) => l.release());
    await clock.advance(61_000);
    const c = await registry.withSession(req, (client) => client.callTool({ name: 'increment' }));
    expect(c.content[0]?.text).toBe('1');
    expect(registry.snapshot().counters.probes).toBe(1);
    await registry.withSession({ ...req, downstreamSessionId: 'B' }, (client) => client.callTool({ name: 'increment' }));
    expect(registry.size).toBe(2);
    const closing = registry.closeAll();
    await clock.advance(20_000);
    await closing;
    expect(factory.open).toBe(0);
    expect(factory.doubleClosed).toEqual([]);
  });
});
