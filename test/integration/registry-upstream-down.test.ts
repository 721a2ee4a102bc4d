import { describe, expect, it } from 'vitest';
import { createMcpSessionFactory, SessionCreateError } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { useUpstreams } from './fixtures/factory-helpers.js';
import { callTool, recordEvent, useRegistries } from './fixtures/registry-helpers.js';

const { upstream } = useUpstreams();
const registryFor = useRegistries();

describe('an upstream that dies while a session is idle', () => {
  it('fails the idle probe, evicts the session, and creates a new one once the upstream is back', async () => {
    const server = await upstream();
    const clock = new ManualClock();
    const registry = registryFor({ sessionFactory: createMcpSessionFactory(), clock, idleValidationMs: 60_000 });
    const probes = recordEvent(registry, 'probe');
    const evicted = recordEvent(registry, 'session:evicted');
    const tabA = { downstreamSessionId: 'tab-A', upstreamId: 'counter', url: server.url };
    await callTool(registry, tabA, 'increment', { by: 5 });

    await server.kill();
    await clock.advance(60_001);

    const error = await callTool(registry, tabA, 'get').catch((e: unknown) => e);
    expect(probes.items).toMatchObject([{ healthy: false, method: 'ping', key: { downstreamSessionId: 'tab-A' } }]);
    expect(evicted.items).toMatchObject([{ reason: 'probe-failed' }]);
    expect(error).toBeInstanceOf(SessionCreateError);
    expect(error).toMatchObject({ category: 'connection_refused' });

    await server.revive();

    expect(await callTool(registry, tabA, 'get')).toBe('0');
    expect(server.initializeCount).toBe(2);
    expect(registry.size).toBe(1);
  });

  it('reuses an idle session without probing while it is younger than idleValidationMs', async () => {
    const server = await upstream();
    const clock = new ManualClock();
    const registry = registryFor({ sessionFactory: createMcpSessionFactory(), clock, idleValidationMs: 60_000 });
    const probes = recordEvent(registry, 'probe');
    const tabA = { downstreamSessionId: 'tab-A', upstreamId: 'counter', url: server.url };
    await callTool(registry, tabA, 'increment');

    await clock.advance(59_000);

    expect(await callTool(registry, tabA, 'get')).toBe('1');
    expect(probes.items).toEqual([]);
    expect(server.requests.get('ping')).toBeUndefined();
  });
});
