import { createServer } from 'node:http';
import { type Client } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { classifyError, isTransportError } from '../../../src/classify/index.js';
import { SessionCreateError } from '../../../src/errors.js';
import { type SessionEvictedEvent } from '../../../src/events.js';
import { createSdkV2SessionFactory } from '../../../src/mcp/v2/index.js';
import { UpstreamSessionRegistry } from '../../../src/registry.js';
import { useCleanup } from './fixtures/harness.js';
import { startLegacyUpstream } from './fixtures/legacy-upstream.js';
import { startModernUpstream } from './fixtures/modern-upstream.js';

const cleanup = useCleanup();

function registryWith(options: Parameters<typeof createSdkV2SessionFactory>[0] = {}) {
  const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory({ listen: false, ...options }), circuitBreaker: false });
  cleanup(() => registry.closeAll());
  return registry;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('errors the real SDK v2 client throws are recognised', () => {
  it('connection closed (a call in flight when the client closes) is a transport error', async () => {
    const upstream = await startModernUpstream();
    cleanup(() => upstream.close());
    const registry = registryWith();
    const lease = await registry.acquire({ downstreamSessionId: 'tab', upstreamId: 'modern', url: upstream.url });
    const call = failure(lease.client.callTool({ name: 'ask-name', arguments: { tag: 'x' } }));
    await lease.client.close();
    const error = await call;
    expect(isTransportError(error)).toBe(true);
    lease.release(error);
    expect(registry.size).toBe(0);
  });

  it('an HTTP 404 on a legacy session (the upstream forgot it) is a transport error, not_found, and evicts', async () => {
    const upstream = await startLegacyUpstream();
    cleanup(() => upstream.close());
    const registry = registryWith();
    const evictions: SessionEvictedEvent[] = [];
    registry.on('session:evicted', (event) => evictions.push(event));
    const request = { downstreamSessionId: 'tab', upstreamId: 'legacy', url: upstream.url };
    await registry.withSession(request, (client) => client.callTool({ name: 'count', arguments: {} }));
    upstream.forgetSessions();

    const error = await failure(registry.withSession(request, (client) => client.callTool({ name: 'count', arguments: {} })));
    expect(isTransportError(error)).toBe(true);
    expect(classifyError(error)).toBe('not_found');
    expect(evictions.map((event) => event.reason)).toEqual(['transport-error']);
    const result = await registry.withSession(request, (client) => client.callTool({ name: 'count', arguments: {} }));
    expect(result.content).toEqual([{ type: 'text', text: '1' }]);
  });

  it('an HTTP 401 during creation is auth_unauthorized', async () => {
    const server = createServer((_req, res) => res.writeHead(401, { 'www-authenticate': 'Bearer' }).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    cleanup(() => new Promise((resolve) => server.close(resolve)));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const registry = registryWith();
    const error = await failure(registry.acquire({ downstreamSessionId: 'tab', upstreamId: 'locked', url: `http://127.0.0.1:${port}/mcp` }));
    expect(error).toBeInstanceOf(SessionCreateError);
    expect((error as SessionCreateError).category).toBe('auth_unauthorized');
  });

  it("era: 'modern' against a legacy-only server fails creation with era_negotiation", async () => {
    const upstream = await startLegacyUpstream();
    cleanup(() => upstream.close());
    const registry = registryWith({ era: 'modern' });
    const error = await failure(registry.acquire({ downstreamSessionId: 'tab', upstreamId: 'legacy', url: upstream.url }));
    expect(error).toBeInstanceOf(SessionCreateError);
    expect((error as SessionCreateError).category).toBe('era_negotiation');
    expect(upstream.traffic.count('initialize')).toBe(0);
  });
});
