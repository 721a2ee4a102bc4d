import { describe, expect, it } from 'vitest';
import { type FixtureTransport } from './fixtures/counter-server.js';
import { createMcpSessionFactory, RegistryClosedError } from '../../src/index.js';
import { useUpstreams } from './fixtures/factory-helpers.js';
import { callTool, useRegistries } from './fixtures/registry-helpers.js';

const { upstream } = useUpstreams();
const registryFor = useRegistries();

describe.each<FixtureTransport>(['streamable-http', 'sse'])('closeAll over %s', (transport) => {
  it('leaves zero live sessions on the upstream', async () => {
    const server = await upstream({ transport });
    const registry = registryFor({ sessionFactory: createMcpSessionFactory() });
    for (const tab of ['tab-A', 'tab-B', 'tab-C']) {
      await callTool(registry, { downstreamSessionId: tab, upstreamId: 'counter', url: server.url, transport }, 'increment');
    }
    expect(server.liveSessions).toBe(3);

    await registry.closeAll();

    await server.waitFor(() => server.liveSessions === 0, 'the upstream to drop every session');
    expect(server.deleteCount).toBe(transport === 'streamable-http' ? 3 : 0);
    expect(registry.size).toBe(0);
    expect(registry.snapshot()).toMatchObject({ closed: true, sessions: 0 });
    await expect(callTool(registry, { downstreamSessionId: 'tab-A', upstreamId: 'counter', url: server.url, transport }, 'get')).rejects.toBeInstanceOf(
      RegistryClosedError,
    );
  });

  it('does not leak the upstream session of a creation still in flight', async () => {
    const server = await upstream({ transport });
    const registry = registryFor({ sessionFactory: createMcpSessionFactory() });
    const pending = callTool(registry, { downstreamSessionId: 'tab-A', upstreamId: 'counter', url: server.url, transport }, 'get').catch(
      (e: unknown) => e,
    );
    await server.waitFor(() => server.initializeCount === 1, 'the initialize request');

    await registry.closeAll();

    expect(await pending).toBeInstanceOf(RegistryClosedError);
    await server.waitFor(
      () => server.liveSessions === 0 && (transport === 'sse' || server.deleteCount === 1),
      'the late session to be closed',
    );
  });
});
