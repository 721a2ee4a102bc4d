import { describe, expect, it } from 'vitest';
import { type FixtureTransport } from './fixtures/counter-server.js';
import { createMcpSessionFactory } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { useUpstreams } from './fixtures/factory-helpers.js';
import { callTool, recordEvent, useRegistries } from './fixtures/registry-helpers.js';

const { upstream } = useUpstreams();
const registryFor = useRegistries();

describe.each<FixtureTransport>(['streamable-http', 'sse'])('an upstream whose ping answers method-not-found, over %s', (transport) => {
  it('passes the idle probe through tools/list and keeps the session', async () => {
    const server = await upstream({ transport, pingMethodNotFound: true });
    const clock = new ManualClock();
    const registry = registryFor({ sessionFactory: createMcpSessionFactory(), clock });
    const probes = recordEvent(registry, 'probe');
    const tabA = { downstreamSessionId: 'tab-A', upstreamId: 'counter', url: server.url, transport };
    await callTool(registry, tabA, 'increment', { by: 2 });

    await clock.advance(60_001);

    expect(await callTool(registry, tabA, 'increment')).toBe('3');
    expect(probes.items).toMatchObject([{ healthy: true, method: 'tools/list' }]);
    expect(server.requests.get('ping')).toBe(1);
    expect(server.requests.get('tools/list')).toBe(1);
    expect(server.initializeCount).toBe(1);
  });
});
