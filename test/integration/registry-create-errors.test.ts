import { describe, expect, it } from 'vitest';
import { type FixtureTransport } from './fixtures/counter-server.js';
import { createMcpSessionFactory, SessionCreateError } from '../../src/index.js';
import { useUpstreams } from './fixtures/factory-helpers.js';
import { callTool, recordEvent, useRegistries } from './fixtures/registry-helpers.js';

const { upstream } = useUpstreams();
const registryFor = useRegistries();

describe.each<FixtureTransport>(['streamable-http', 'sse'])('failing to create an upstream session over %s', (transport) => {
  it('rejects a refused port with SessionCreateError (connection_refused)', async () => {
    const server = await upstream({ transport });
    await server.kill();
    const registry = registryFor({ sessionFactory: createMcpSessionFactory() });
    const failed = recordEvent(registry, 'session:create-failed');

    const error = await callTool(registry, { downstreamSessionId: 'tab-A', upstreamId: 'counter', url: server.url, transport }, 'get').catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(SessionCreateError);
    expect(error).toMatchObject({ code: 'CREATE_FAILED', category: 'connection_refused', upstreamId: 'counter' });
    expect(failed.items).toMatchObject([{ key: { downstreamSessionId: 'tab-A' }, category: 'connection_refused' }]);
    expect(registry.size).toBe(0);
  });

  it('rejects HTTP 401 with SessionCreateError (auth_unauthorized), and succeeds with the right credentials', async () => {
    const server = await upstream({ transport, bearerToken: 'let-me-in' });
    const registry = registryFor({ sessionFactory: createMcpSessionFactory() });
    const request = { downstreamSessionId: 'tab-A', upstreamId: 'counter', url: server.url, transport };

    const error = await callTool(registry, request, 'get').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionCreateError);
    expect(error).toMatchObject({ category: 'auth_unauthorized' });

    expect(await callTool(registry, { ...request, headers: { Authorization: 'Bearer let-me-in' } }, 'get')).toBe('0');
  });
});
