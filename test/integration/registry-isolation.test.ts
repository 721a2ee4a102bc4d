import { describe, expect, it } from 'vitest';
import { type FixtureTransport } from './fixtures/counter-server.js';
import { createMcpSessionFactory } from '../../src/index.js';
import { useUpstreams } from './fixtures/factory-helpers.js';
import { callTool, useRegistries } from './fixtures/registry-helpers.js';

const { upstream } = useUpstreams();
const registryFor = useRegistries();

describe.each<FixtureTransport>(['streamable-http', 'sse'])('one upstream session per downstream session, over %s', (transport) => {
  it('keeps two downstream sessions of one user apart on a stateful upstream (ContextForge #4205)', async () => {
    const server = await upstream({ transport });
    const registry = registryFor({ sessionFactory: createMcpSessionFactory() });
    const tabA = { downstreamSessionId: 'tab-A', upstreamId: 'counter', url: server.url, transport };
    const tabB = { downstreamSessionId: 'tab-B', upstreamId: 'counter', url: server.url, transport };

    for (let i = 0; i < 5; i++) await callTool(registry, tabA, 'increment');
    for (let i = 0; i < 3; i++) await callTool(registry, tabB, 'increment');

    expect(await callTool(registry, tabA, 'get')).toBe('5');
    expect(await callTool(registry, tabB, 'get')).toBe('3');
    expect(server.initializeCount).toBe(2);
    expect(server.liveSessions).toBe(2);
    expect(registry.size).toBe(2);
  });

  it('pays the initialize handshake once for ten calls of one downstream session', async () => {
    const server = await upstream({ transport });
    const registry = registryFor({ sessionFactory: createMcpSessionFactory() });
    const request = { downstreamSessionId: 'tab-A', upstreamId: 'counter', url: server.url, transport };

    for (let i = 1; i <= 10; i++) expect(await callTool(registry, request, 'increment')).toBe(String(i));

    expect(server.initializeCount).toBe(1);
    expect(registry.snapshot().counters).toMatchObject({ creates: 1, reuses: 9 });
  });

  it('runs concurrent calls of one downstream session on one upstream session', async () => {
    const server = await upstream({ transport });
    const registry = registryFor({ sessionFactory: createMcpSessionFactory() });
    const request = { downstreamSessionId: 'tab-A', upstreamId: 'counter', url: server.url, transport };

    await Promise.all(Array.from({ length: 8 }, () => callTool(registry, request, 'increment')));

    expect(await callTool(registry, request, 'get')).toBe('8');
    expect(server.initializeCount).toBe(1);
  });
});
