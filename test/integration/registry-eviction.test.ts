import { describe, expect, it } from 'vitest';
import { type FixtureTransport } from './fixtures/counter-server.js';
import { createMcpSessionFactory } from '../../src/index.js';
import { useUpstreams } from './fixtures/factory-helpers.js';
import { callTool, recordEvent, useRegistries } from './fixtures/registry-helpers.js';

const { upstream } = useUpstreams();
const registryFor = useRegistries();

describe.each<FixtureTransport>(['streamable-http', 'sse'])('evicting upstream sessions over %s', (transport) => {
  it('evictSession ends the upstream session (DELETE on Streamable HTTP) and the next call starts from scratch', async () => {
    const server = await upstream({ transport });
    const registry = registryFor({ sessionFactory: createMcpSessionFactory() });
    const evicted = recordEvent(registry, 'session:evicted');
    const tabA = { downstreamSessionId: 'tab-A', upstreamId: 'counter', url: server.url, transport };
    await callTool(registry, tabA, 'increment');
    await callTool(registry, tabA, 'increment');

    expect(await registry.evictSession('tab-A')).toBe(1);

    await server.waitFor(() => server.liveSessions === 0, 'the upstream to drop the session');
    expect(server.deleteCount).toBe(transport === 'streamable-http' ? 1 : 0);
    expect(evicted.items).toMatchObject([{ key: { downstreamSessionId: 'tab-A', upstreamId: 'counter' }, reason: 'session' }]);
    expect(await callTool(registry, tabA, 'get')).toBe('0');
    expect(server.initializeCount).toBe(2);
  });

  it('evictSession leaves other downstream sessions untouched', async () => {
    const server = await upstream({ transport });
    const registry = registryFor({ sessionFactory: createMcpSessionFactory() });
    const tabA = { downstreamSessionId: 'tab-A', upstreamId: 'counter', url: server.url, transport };
    const tabB = { downstreamSessionId: 'tab-B', upstreamId: 'counter', url: server.url, transport };
    await callTool(registry, tabA, 'increment');
    await callTool(registry, tabB, 'increment', { by: 7 });

    await registry.evictSession('tab-A');

    await server.waitFor(() => server.liveSessions === 1, 'one live upstream session');
    expect(await callTool(registry, tabB, 'get')).toBe('7');
  });

  it('evictUpstream ends every downstream session’s session with that upstream', async () => {
    const server = await upstream({ transport });
    const registry = registryFor({ sessionFactory: createMcpSessionFactory() });
    for (const tab of ['tab-A', 'tab-B', 'tab-C']) {
      await callTool(registry, { downstreamSessionId: tab, upstreamId: 'counter', url: server.url, transport }, 'increment');
    }

    expect(await registry.evictUpstream('counter')).toBe(3);

    await server.waitFor(() => server.liveSessions === 0, 'the upstream to drop every session');
    expect(registry.size).toBe(0);
  });
});
