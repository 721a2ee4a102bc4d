import { SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { type FixtureTransport } from './fixtures/counter-server.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { createMcpSessionFactory } from '../../src/mcp/v1/factory.js';
import { createRequest, text, useUpstreams } from './fixtures/factory-helpers.js';
import { recordEvents, within } from './fixtures/wait.js';

const { upstream, track } = useUpstreams();
const factory = createMcpSessionFactory();
const open = () => new AbortController().signal;

describe.each<FixtureTransport>(['streamable-http', 'sse'])('an MCP connection over %s', (transport) => {
  it('close() ends the upstream session, then closes the client, without reporting it as closed', async () => {
    const server = await upstream({ transport });
    const recorded = recordEvents();
    const connection = await factory.create(createRequest(server), recorded.events);
    await connection.client.callTool({ name: 'increment', arguments: {} });

    await connection.close(open());

    await server.waitFor(() => server.liveSessions === 0, 'the upstream to drop the session');
    expect(server.deleteCount).toBe(transport === 'streamable-http' ? 1 : 0);
    expect(connection.client.transport).toBeUndefined();
    expect(recorded.closed.items).toEqual([]);
  });

  it('close() is idempotent', async () => {
    const server = await upstream({ transport });
    const connection = await factory.create(createRequest(server), recordEvents().events);

    const first = connection.close(open());
    expect(connection.close(open())).toBe(first);
    await first;
    expect(server.deleteCount).toBe(transport === 'streamable-http' ? 1 : 0);
  });

  it('rejects calls in flight when it closes with McpError ConnectionClosed (-32000)', async () => {
    const server = await upstream({ transport });
    const connection = await factory.create(createRequest(server), recordEvents().events);
    const call = connection.client.callTool({ name: 'sleep', arguments: { ms: 10_000 } });
    await server.waitFor(() => server.requests.get('tools/call') === 1, 'the call to reach the upstream');

    await connection.close(open());

    const error = await call.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect(error).toMatchObject({ code: ErrorCode.ConnectionClosed });
  });

  it('reports the client being closed behind its back as closed, once', async () => {
    const server = await upstream({ transport });
    const recorded = recordEvents();
    const connection = track(await factory.create(createRequest(server), recorded.events));

    await connection.client.close();

    await recorded.closed.count(1, 'the closed event');
    expect(recorded.closed.items).toHaveLength(1);
  });
});

describe('an MCP connection over streamable-http', () => {
  it('does not report a forgotten session (upstream restart) as closed: the call fails with HTTP 404 and the registry decides', async () => {
    const server = await upstream();
    const recorded = recordEvents();
    const connection = track(await factory.create(createRequest(server), recorded.events));
    await server.restart();

    const error = await connection.client.callTool({ name: 'increment', arguments: {} }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StreamableHTTPError);
    expect(error).toMatchObject({ code: 404 });
    expect(recorded.closed.items).toEqual([]);
  });

  it('close() resolves when the upstream already forgot the session (404 on DELETE)', async () => {
    const server = await upstream();
    const connection = await factory.create(createRequest(server), recordEvents().events);
    await server.restart();

    await expect(connection.close(open())).resolves.toBeUndefined();
    expect(server.deleteCount).toBe(1);
    expect(connection.client.transport).toBeUndefined();
  });

  it('close() stops waiting for a DELETE the upstream never answers once its signal fires, and rejects: the session was not ended', async () => {
    const server = await upstream();
    server.hangDeletes = true;
    const connection = await factory.create(createRequest(server), recordEvents().events);
    const grace = new AbortController();

    const closing = connection.close(grace.signal);
    await server.waitFor(() => server.deleteCount === 1, 'the DELETE');
    const reason = new Error('closeTimeoutMs elapsed');
    grace.abort(reason);

    await expect(within(closing, 'the bounded close')).rejects.toBe(reason);
    expect(connection.client.transport).toBeUndefined();
  });

  it('close() with an already-fired signal skips the DELETE, closes the client and rejects with the signal reason', async () => {
    const server = await upstream();
    const connection = await factory.create(createRequest(server), recordEvents().events);
    const reason = new Error('grace window over');

    await expect(connection.close(AbortSignal.abort(reason))).rejects.toBe(reason);

    expect(server.deleteCount).toBe(0);
    expect(connection.client.transport).toBeUndefined();
  });

  it('close() closes the client and then rejects with the DELETE failure when the upstream is down', async () => {
    const server = await upstream();
    const connection = await factory.create(createRequest(server), recordEvents().events);
    await server.kill();

    const error = await connection.close(open()).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('fetch failed');
    expect(connection.client.transport).toBeUndefined();
  });

  it('keeps working after a connection reset: the failed call is the registry’s to judge', async () => {
    const server = await upstream();
    const connection = track(await factory.create(createRequest(server), recordEvents().events));
    await connection.client.callTool({ name: 'increment', arguments: {} });

    server.resetConnections = true;
    await expect(connection.client.callTool({ name: 'increment', arguments: {} })).rejects.toThrow('fetch failed');
    server.resetConnections = false;

    expect(text(await connection.client.callTool({ name: 'increment', arguments: {} }))).toBe('2');
  });
});

describe('an MCP connection over sse', () => {
  it('reports a dropped event stream as closed and stops, instead of reconnecting into a fresh upstream session', async () => {
    const server = await upstream({ transport: 'sse' });
    const recorded = recordEvents();
    const connection = track(await factory.create(createRequest(server), recorded.events));

    await server.restart();

    const reason = await recorded.closed.find(undefined, 'the closed event');
    expect(reason).toBeInstanceOf(SseError);
    expect(connection.client.transport).toBeUndefined();
    await expect(connection.client.ping()).rejects.toThrow('Not connected');
    expect(recorded.closed.items).toHaveLength(1);
  });
});
