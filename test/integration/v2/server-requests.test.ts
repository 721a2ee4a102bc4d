import { AsyncLocalStorage } from 'node:async_hooks';
import { type Client } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { createSdkV2SessionFactory } from '../../../src/mcp/v2/index.js';
import { type McpServerRequestHandler } from '../../../src/mcp/server-request.js';
import { UpstreamSessionRegistry } from '../../../src/registry.js';
import { text, useCleanup } from './fixtures/harness.js';
import { startLegacyUpstream } from './fixtures/legacy-upstream.js';
import { startModernUpstream } from './fixtures/modern-upstream.js';

const cleanup = useCleanup();

describe('input requests from a modern upstream (MRTR)', () => {
  it('reach the right downstream key, in the async context of the call, for two concurrent sessions', async () => {
    const upstream = await startModernUpstream();
    cleanup(() => upstream.close());
    const downstreamRequest = new AsyncLocalStorage<string>();
    const seen: { downstreamSessionId: string; method: string; context: string | undefined; message: unknown }[] = [];
    const onServerRequest: McpServerRequestHandler = async (key, request) => {
      seen.push({
        downstreamSessionId: key.downstreamSessionId,
        method: request.method,
        context: downstreamRequest.getStore(),
        message: (request.params as { message?: unknown } | undefined)?.message,
      });
      await new Promise((resolve) => setImmediate(resolve));
      return { action: 'accept', content: { name: `user-of-${key.downstreamSessionId}` } };
    };
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory({ onServerRequest, listen: false }) });
    cleanup(() => registry.closeAll());

    const ask = (downstreamSessionId: string) =>
      downstreamRequest.run(`request-of-${downstreamSessionId}`, () =>
        registry.withSession(
          { downstreamSessionId, upstreamId: 'modern', url: upstream.url, clientCapabilities: { elicitation: {} } },
          (client) => client.callTool({ name: 'ask-name', arguments: { tag: downstreamSessionId } }),
        ),
      );
    const [a, b] = await Promise.all([ask('tab-a'), ask('tab-b')]);
    expect(text(a)).toBe('tab-a:user-of-tab-a');
    expect(text(b)).toBe('tab-b:user-of-tab-b');
    expect(seen.sort((x, y) => x.downstreamSessionId.localeCompare(y.downstreamSessionId))).toEqual([
      { downstreamSessionId: 'tab-a', method: 'elicitation/create', context: 'request-of-tab-a', message: 'Name for tab-a?' },
      { downstreamSessionId: 'tab-b', method: 'elicitation/create', context: 'request-of-tab-b', message: 'Name for tab-b?' },
    ]);
    // Each call is answered in two rounds on the wire: input_required, then the retry with the answer.
    expect(upstream.traffic.count('tools/call')).toBe(4);
  });

  it('do not reach a host that relays nothing: a downstream client without elicitation is not offered it', async () => {
    const upstream = await startModernUpstream();
    cleanup(() => upstream.close());
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory({ listen: false }) });
    cleanup(() => registry.closeAll());
    await expect(
      registry.withSession({ downstreamSessionId: 'tab', upstreamId: 'modern', url: upstream.url, clientCapabilities: { elicitation: {} } }, (client) =>
        client.callTool({ name: 'ask-name', arguments: { tag: 'x' } }),
      ),
    ).rejects.toThrow();
    expect(upstream.traffic.count('tools/call')).toBeLessThanOrEqual(1);
  });
});

describe('server→client requests from a legacy upstream', () => {
  it('reach the right downstream key, in the async context of the call that caused them', async () => {
    const upstream = await startLegacyUpstream();
    cleanup(() => upstream.close());
    const downstreamRequest = new AsyncLocalStorage<string>();
    const seen: string[] = [];
    const onServerRequest: McpServerRequestHandler = (key, request) => {
      seen.push(`${key.downstreamSessionId} ${request.method} ${downstreamRequest.getStore() ?? 'no context'}`);
      return { action: 'accept', content: { name: `user-of-${key.downstreamSessionId}` } };
    };
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory({ onServerRequest }) });
    cleanup(() => registry.closeAll());
    const ask = (downstreamSessionId: string) =>
      downstreamRequest.run(`request-of-${downstreamSessionId}`, () =>
        registry.withSession({ downstreamSessionId, upstreamId: 'legacy', url: upstream.url, clientCapabilities: { elicitation: {} } }, (client) =>
          client.callTool({ name: 'ask-name', arguments: {} }),
        ),
      );
    const [a, b] = await Promise.all([ask('tab-a'), ask('tab-b')]);
    expect([text(a), text(b)]).toEqual(['user-of-tab-a', 'user-of-tab-b']);
    expect(seen.sort()).toEqual(['tab-a elicitation/create request-of-tab-a', 'tab-b elicitation/create request-of-tab-b']);
  });
});
