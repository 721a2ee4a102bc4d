import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { type FixtureTransport } from './fixtures/counter-server.js';
import { describe, expect, it } from 'vitest';
import { createMcpSessionFactory } from '../../src/mcp/v1/factory.js';
import { type McpServerRequest } from '../../src/mcp/server-request.js';
import { type SessionKey } from '../../src/request.js';
import { createRequest, text, useUpstreams } from './fixtures/factory-helpers.js';
import { recordEvents } from './fixtures/wait.js';

const { upstream, track } = useUpstreams();

describe.each<FixtureTransport>(['streamable-http', 'sse'])('server→client traffic over %s', (transport) => {
  it('forwards notifications/tools/list_changed to events.notification', async () => {
    const server = await upstream({ transport });
    const recorded = recordEvents();
    track(await createMcpSessionFactory().create(createRequest(server), recorded.events));
    await server.waitFor(() => server.openStreams === 1, 'the server→client stream');

    server.addTool('added-later');

    await expect(recorded.notifications.find((n) => n.method === 'notifications/tools/list_changed', 'list_changed')).resolves.toEqual({
      method: 'notifications/tools/list_changed',
    });
  });

  it('forwards any other server notification, with its params', async () => {
    const server = await upstream({ transport });
    const recorded = recordEvents();
    const connection = track(await createMcpSessionFactory().create(createRequest(server), recorded.events));

    await connection.client.callTool({ name: 'log', arguments: {} });

    await expect(recorded.notifications.find((n) => n.method === 'notifications/message', 'the log message')).resolves.toEqual({
      method: 'notifications/message',
      params: { level: 'info', data: 'hello' },
    });
  });

  it('relays sampling, elicitation and roots requests to onServerRequest with the session key, and returns its answers', async () => {
    const server = await upstream({ transport });
    const seen: { key: SessionKey; request: McpServerRequest; signal: AbortSignal }[] = [];
    const factory = createMcpSessionFactory({
      onServerRequest: (key, request, { signal }) => {
        seen.push({ key, request, signal });
        switch (request.method) {
          case 'sampling/createMessage':
            return { model: 'host-model', role: 'assistant', content: { type: 'text', text: `sampled for ${key.downstreamSessionId}` } };
          case 'elicitation/create':
            return { action: 'accept', content: { name: 'Ada' } };
          case 'roots/list':
            return Promise.resolve({ roots: [{ uri: 'file:///workspace' }] });
        }
      },
    });
    const connection = track(await factory.create(createRequest(server, { downstreamSessionId: 'tab-7' }), recordEvents().events));

    expect(server.clientCapabilities[0]).toEqual({ sampling: {}, elicitation: {}, roots: {} });
    expect(text(await connection.client.callTool({ name: 'ask', arguments: { prompt: 'hi' } }))).toBe('sampled for tab-7');
    expect(text(await connection.client.callTool({ name: 'elicit', arguments: {} }))).toBe('Ada');
    expect(text(await connection.client.callTool({ name: 'roots', arguments: {} }))).toBe('file:///workspace');

    expect(seen.map((s) => s.request.method)).toEqual(['sampling/createMessage', 'elicitation/create', 'roots/list']);
    expect(seen.every((s) => s.key.downstreamSessionId === 'tab-7' && s.key.upstreamId === 'counter')).toBe(true);
    expect(seen[0]!.request.params).toMatchObject({ messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }] });
    expect(seen.every((s) => s.signal instanceof AbortSignal)).toBe(true);
  });

  it('sends the host’s error back to the upstream when onServerRequest throws', async () => {
    const server = await upstream({ transport });
    const factory = createMcpSessionFactory({
      onServerRequest: () => {
        throw new McpError(ErrorCode.InvalidRequest, 'the user declined');
      },
    });
    const connection = track(await factory.create(createRequest(server), recordEvents().events));

    const result = await connection.client.callTool({ name: 'ask', arguments: { prompt: 'hi' } });

    expect(result.isError).toBe(true);
    expect(text(result)).toContain('the user declined');
  });

  it('without onServerRequest advertises no client capabilities, and the upstream’s requests fail', async () => {
    const server = await upstream({ transport });
    const connection = track(await createMcpSessionFactory().create(createRequest(server), recordEvents().events));

    const result = await connection.client.callTool({ name: 'ask', arguments: { prompt: 'hi' } });

    expect(server.clientCapabilities[0]).toEqual({});
    expect(result.isError).toBe(true);
  });

  it('with explicit capabilities relays only the requests they declare', async () => {
    const server = await upstream({ transport });
    const factory = createMcpSessionFactory({
      capabilities: { roots: {} },
      onServerRequest: () => ({ roots: [] }),
    });
    const connection = track(await factory.create(createRequest(server), recordEvents().events));

    expect(server.clientCapabilities[0]).toEqual({ roots: {} });
    expect((await connection.client.callTool({ name: 'roots', arguments: {} })).isError).toBeFalsy();
    const sampling = await connection.client.callTool({ name: 'ask', arguments: { prompt: 'hi' } });
    expect(sampling.isError).toBe(true);
    expect(text(sampling)).toMatch(/Method not found/i);
  });
});
