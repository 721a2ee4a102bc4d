import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { createMcpSessionFactory } from '../../src/mcp/v1/factory.js';
import { type McpServerRequest } from '../../src/mcp/server-request.js';
import { type SessionKey } from '../../src/request.js';
import { createRequest, text, useUpstreams } from '../integration/fixtures/factory-helpers.js';
import { recordEvents } from '../integration/fixtures/wait.js';

const { upstream, track } = useUpstreams();

describe('a server→client request that arrives on a call’s response stream', () => {
  it.each([
    ['elicitation/create', 'elicit', { action: 'accept', content: { name: 'Ada' } }, 'Ada'],
    ['sampling/createMessage', 'ask', { role: 'assistant', content: { type: 'text', text: 'hi' }, model: 'm' }, 'hi'],
  ] as const)('%s runs onServerRequest in that call’s async context (no event stream)', async (method, tool, answer, expected) => {
    const downstreamRequest = new AsyncLocalStorage<string>();
    const seen: { key: SessionKey; request: McpServerRequest; store: string | undefined }[] = [];
    const factory = createMcpSessionFactory({
      eventStream: false,
      onServerRequest: (key, request) => {
        seen.push({ key, request, store: downstreamRequest.getStore() });
        return answer;
      },
    });
    const server = await upstream();
    // The session is created outside any downstream request.
    const connection = track(await factory.create(createRequest(server), recordEvents().events));

    const [first, second] = await Promise.all([
      downstreamRequest.run('downstream request 1', () => connection.client.callTool({ name: tool, arguments: { prompt: 'p' } })),
      downstreamRequest.run('downstream request 2', () => connection.client.callTool({ name: tool, arguments: { prompt: 'p' } })),
    ]);

    expect([text(first), text(second)]).toEqual([expected, expected]);
    expect(server.getCount).toBe(0);
    expect(seen.map((s) => s.request.method)).toEqual([method, method]);
    expect(seen.map((s) => s.store).sort()).toEqual(['downstream request 1', 'downstream request 2']);
    expect(seen[0]?.key).toEqual({ downstreamSessionId: 'down-A', upstreamId: 'counter' });
  });
});

describe('capabilities announced for a session', () => {
  it('are the request’s clientCapabilities when it carries them', async () => {
    const server = await upstream();
    const factory = createMcpSessionFactory({ onServerRequest: () => ({ roots: [] }) });
    const clientCapabilities = { roots: { listChanged: true }, experimental: { trace: {} } };

    track(await factory.create(createRequest(server, { clientCapabilities }), recordEvents().events));

    expect(server.clientCapabilities).toEqual([clientCapabilities]);
  });

  it('drop sampling, elicitation and roots without onServerRequest (nobody could answer them)', async () => {
    const server = await upstream();
    const clientCapabilities = { sampling: {}, elicitation: {}, experimental: { trace: {} } };

    track(await createMcpSessionFactory().create(createRequest(server, { clientCapabilities }), recordEvents().events));

    expect(server.clientCapabilities).toEqual([{ experimental: { trace: {} } }]);
  });

  it('only relay what the session announced: a request for an unannounced capability is refused by the SDK', async () => {
    const server = await upstream();
    const asked: string[] = [];
    const factory = createMcpSessionFactory({
      onServerRequest: (_key, request) => {
        asked.push(request.method);
        return { roots: [] };
      },
    });
    const connection = track(await factory.create(createRequest(server, { clientCapabilities: { roots: {} } }), recordEvents().events));

    expect(text(await connection.client.callTool({ name: 'roots', arguments: {} }))).toBe('');
    const refused = await connection.client.callTool({ name: 'elicit', arguments: {} });

    expect(refused.isError).toBe(true);
    expect(asked).toEqual(['roots/list']);
  });

  it('fall back to the factory-level capabilities without clientCapabilities', async () => {
    const server = await upstream();
    track(await createMcpSessionFactory({ capabilities: { roots: {} }, onServerRequest: () => ({ roots: [] }) }).create(createRequest(server), recordEvents().events));
    expect(server.clientCapabilities).toEqual([{ roots: {} }]);
  });
});
