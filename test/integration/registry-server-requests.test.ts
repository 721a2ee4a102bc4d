import { describe, expect, it } from 'vitest';
import { type FixtureTransport } from './fixtures/counter-server.js';
import { createMcpSessionFactory, type SessionKey } from '../../src/index.js';
import { useUpstreams } from './fixtures/factory-helpers.js';
import { callTool, useRegistries } from './fixtures/registry-helpers.js';

const { upstream } = useUpstreams();
const registryFor = useRegistries();

describe.each<FixtureTransport>(['streamable-http', 'sse'])('sampling requests from the upstream, over %s', (transport) => {
  it('reach onServerRequest with the downstream session they belong to, and the host’s answer returns upstream', async () => {
    const server = await upstream({ transport });
    const seen: SessionKey[] = [];
    const registry = registryFor({
      sessionFactory: createMcpSessionFactory({
        onServerRequest: (key, request) => {
          seen.push(key);
          const prompt = (request.params as { messages: { content: { text: string } }[] }).messages[0]!.content.text;
          return { model: 'relay', role: 'assistant', content: { type: 'text', text: `${key.downstreamSessionId} says ${prompt}` } };
        },
      }),
    });

    const fromA = callTool(registry, { downstreamSessionId: 'tab-A', upstreamId: 'counter', url: server.url, transport }, 'ask', { prompt: 'hi' });
    const fromB = callTool(registry, { downstreamSessionId: 'tab-B', upstreamId: 'counter', url: server.url, transport }, 'ask', { prompt: 'yo' });

    expect(await fromA).toBe('tab-A says hi');
    expect(await fromB).toBe('tab-B says yo');
    expect(seen.map((key) => key.downstreamSessionId).sort()).toEqual(['tab-A', 'tab-B']);
  });
});
