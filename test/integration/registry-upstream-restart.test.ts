/**
 * The 404 policy. An upstream that restarted (or expired the session) answers the stale session id with
 * HTTP 404. The call that hits it fails with that transport error and the session is evicted; the next call
 * creates a fresh session. No transparent retry: the upstream's state is gone, and re-running the call on a
 * fresh session would hide that from the caller (a counter silently back at 1, a shell in another directory).
 */
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { describe, expect, it } from 'vitest';
import { createMcpSessionFactory, isTransportError } from '../../src/index.js';
import { useUpstreams } from './fixtures/factory-helpers.js';
import { callTool, recordEvent, useRegistries } from './fixtures/registry-helpers.js';

const { upstream } = useUpstreams();
const registryFor = useRegistries();

describe('an upstream that restarts and forgets its sessions', () => {
  it('over Streamable HTTP: the next call fails with a 404 transport error, the session is evicted, the call after it runs on fresh state', async () => {
    const server = await upstream();
    const registry = registryFor({ sessionFactory: createMcpSessionFactory() });
    const evicted = recordEvent(registry, 'session:evicted');
    const tabA = { downstreamSessionId: 'tab-A', upstreamId: 'counter', url: server.url };
    await callTool(registry, tabA, 'increment', { by: 41 });

    await server.restart();

    const error = await callTool(registry, tabA, 'increment').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamableHTTPError);
    expect(error).toMatchObject({ code: 404 });
    expect(isTransportError(error)).toBe(true);
    expect(evicted.items).toMatchObject([{ key: { downstreamSessionId: 'tab-A' }, reason: 'transport-error' }]);

    expect(await callTool(registry, tabA, 'increment')).toBe('1');
    expect(server.initializeCount).toBe(2);
  });

  it('over SSE: the dropped event stream evicts the session at once, so the next call already runs on a fresh session', async () => {
    const server = await upstream({ transport: 'sse' });
    const registry = registryFor({ sessionFactory: createMcpSessionFactory() });
    const evicted = recordEvent(registry, 'session:evicted');
    const tabA = { downstreamSessionId: 'tab-A', upstreamId: 'counter', url: server.url, transport: 'sse' as const };
    await callTool(registry, tabA, 'increment', { by: 41 });

    await server.restart();

    await expect(evicted.find(undefined, 'the eviction')).resolves.toMatchObject({ reason: 'transport-closed' });
    expect(await callTool(registry, tabA, 'increment')).toBe('1');
    expect(server.initializeCount).toBe(2);
  });
});
