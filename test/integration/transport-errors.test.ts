/**
 * What the MCP SDK really throws against real upstreams, and what `isTransportError` / `classifyError` make of
 * it. Every error here comes from a real SDK client talking to a real server on 127.0.0.1 — no hand-made
 * error objects — so a change in the SDK's error shapes shows up here first.
 */
import { SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { type FixtureTransport } from './fixtures/counter-server.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { classifyError, isTransportError, type ErrorCategory } from '../../src/classify/index.js';
import { createMcpSessionFactory } from '../../src/mcp/v1/factory.js';
import { createRequest, useUpstreams } from './fixtures/factory-helpers.js';
import { recordEvents } from './fixtures/wait.js';

const { upstream, track } = useUpstreams();
const factory = createMcpSessionFactory();

/** The codes along an error's `cause` chain, outermost first. */
function causeCodes(error: unknown): unknown[] {
  const codes: unknown[] = [];
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    codes.push((e as { code?: unknown }).code);
  }
  return codes;
}

function expectClassified(error: unknown, category: ErrorCategory, transport: boolean): void {
  expect({ category: classifyError(error), transport: isTransportError(error) }).toEqual({ category, transport });
}

async function failedCreate(transport: FixtureTransport, options: Parameters<typeof upstream>[0] & { status?: number; dead?: boolean }): Promise<unknown> {
  const server = await upstream({ transport, ...options });
  if (options.status !== undefined) server.failWith = options.status;
  if (options.dead === true) await server.kill();
  return factory.create(createRequest(server), recordEvents().events).then(
    (connection) => {
      track(connection);
      throw new Error('expected the creation to fail');
    },
    (error: unknown) => error,
  );
}

async function session(transport: FixtureTransport) {
  const server = await upstream({ transport });
  const recorded = recordEvents();
  const connection = track(await factory.create(createRequest(server), recorded.events));
  await connection.client.ping();
  return { server, connection, recorded };
}

describe('Streamable HTTP: errors the SDK really throws', () => {
  it('refused port at creation → TypeError "fetch failed" caused by ECONNREFUSED → connection_refused, transport', async () => {
    const error = await failedCreate('streamable-http', { dead: true });
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('fetch failed');
    expect(causeCodes(error)).toEqual([undefined, 'ECONNREFUSED']);
    expectClassified(error, 'connection_refused', true);
  });

  it.each<[number, ErrorCategory]>([
    [401, 'auth_unauthorized'],
    [403, 'auth_forbidden'],
    [500, 'upstream_server_error'],
    [503, 'upstream_server_error'],
  ])('HTTP %i at creation → StreamableHTTPError with that code → %s, not transport', async (status, category) => {
    const error = await failedCreate('streamable-http', { status });
    expect(error).toBeInstanceOf(StreamableHTTPError);
    expect(error).toMatchObject({ code: status, name: 'Error' });
    expect((error as Error).message).toMatch(/^Streamable HTTP error: Error POSTing to endpoint: /);
    expectClassified(error, category, false);
  });

  it('401 from a bearer-token upstream at creation → auth_unauthorized', async () => {
    const error = await failedCreate('streamable-http', { bearerToken: 'secret' });
    expect(error).toMatchObject({ code: 401 });
    expectClassified(error, 'auth_unauthorized', false);
  });

  it('upstream restarted (forgot the session) → StreamableHTTPError 404 "Session not found" → not_found, transport', async () => {
    const { server, connection } = await session('streamable-http');
    await server.restart();
    const error = await connection.client.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamableHTTPError);
    expect(error).toMatchObject({ code: 404 });
    expect((error as Error).message).toContain('Session not found');
    expectClassified(error, 'not_found', true);
  });

  it('HTTP 500 mid-session → StreamableHTTPError 500 → upstream_server_error, not transport', async () => {
    const { server, connection } = await session('streamable-http');
    server.failWith = 500;
    const error = await connection.client.ping().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 500 });
    expectClassified(error, 'upstream_server_error', false);
  });

  it('connection reset mid-session → TypeError "fetch failed" caused by ECONNRESET → connection_reset, transport', async () => {
    const { server, connection } = await session('streamable-http');
    server.resetConnections = true;
    const error = await connection.client.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(causeCodes(error)).toEqual([undefined, 'ECONNRESET']);
    expectClassified(error, 'connection_reset', true);
  });

  it('upstream died mid-session → TypeError "fetch failed" caused by ECONNREFUSED (or undici "other side closed") → transport', async () => {
    const { server, connection } = await session('streamable-http');
    await server.kill();
    const error = await connection.client.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(['ECONNREFUSED', 'UND_ERR_SOCKET']).toContain(causeCodes(error)[1]);
    expect(['connection_refused', 'connection_reset']).toContain(classifyError(error));
    expect(isTransportError(error)).toBe(true);
  });
});

describe.each<FixtureTransport>(['streamable-http', 'sse'])('%s: errors every transport shares', (transport) => {
  it('a call in flight when the connection closes → McpError ConnectionClosed (-32000) → mcp_protocol_error, transport', async () => {
    const { server, connection } = await session(transport);
    const call = connection.client.callTool({ name: 'sleep', arguments: { ms: 10_000 } });
    await server.waitFor(() => server.requests.get('tools/call') === 1, 'the call to reach the upstream');
    await connection.close(new AbortController().signal);
    const error = await call.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect(error).toMatchObject({ code: ErrorCode.ConnectionClosed, message: 'MCP error -32000: Connection closed' });
    expectClassified(error, 'mcp_protocol_error', true);
  });

  it('a request timeout → McpError RequestTimeout (-32001) → timeout, not transport', async () => {
    const { connection } = await session(transport);
    const error = await connection.client.callTool({ name: 'sleep', arguments: { ms: 10_000 } }, undefined, { timeout: 20 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect(error).toMatchObject({ code: ErrorCode.RequestTimeout });
    expectClassified(error, 'timeout', false);
  });

  it('a method the upstream lacks → McpError MethodNotFound (-32601) → mcp_protocol_error, not transport', async () => {
    const { connection } = await session(transport);
    const error = await connection.client.listPrompts().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect(error).toMatchObject({ code: ErrorCode.MethodNotFound });
    expectClassified(error, 'mcp_protocol_error', false);
  });

  it('an unknown tool is a result with isError, not a thrown error', async () => {
    const { connection } = await session(transport);
    await expect(connection.client.callTool({ name: 'nope', arguments: {} })).resolves.toMatchObject({ isError: true });
  });
});

describe('legacy SSE: errors the SDK really throws', () => {
  it('refused port at creation → SseError with no code and no cause, the socket code only in its message → connection_refused, transport', async () => {
    const error = await failedCreate('sse', { dead: true });
    expect(error).toBeInstanceOf(SseError);
    expect(error).toMatchObject({ code: undefined, name: 'Error' });
    expect((error as Error).cause).toBeUndefined();
    expect((error as Error).message).toMatch(/^SSE error: TypeError: fetch failed: connect ECONNREFUSED /);
    expectClassified(error, 'connection_refused', true);
  });

  it.each<[number, ErrorCategory]>([
    [401, 'auth_unauthorized'],
    [403, 'auth_forbidden'],
    [500, 'upstream_server_error'],
  ])('HTTP %i on the event stream at creation → SseError with that code → %s', async (status, category) => {
    const error = await failedCreate('sse', { status });
    expect(error).toBeInstanceOf(SseError);
    expect(error).toMatchObject({ code: status, message: `SSE error: Non-200 status code (${status})` });
    expect(classifyError(error)).toBe(category);
  });

  it('HTTP 500 on a POST → plain Error "Error POSTing to endpoint (HTTP 500)" → upstream_server_error, not transport', async () => {
    const { server, connection } = await session('sse');
    server.failWith = 500;
    const error = await connection.client.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(SseError);
    expect((error as Error).message).toMatch(/^Error POSTing to endpoint \(HTTP 500\): /);
    expectClassified(error, 'upstream_server_error', false);
  });

  it('connection reset on a POST → TypeError "fetch failed" caused by ECONNRESET → connection_reset, transport', async () => {
    const { server, connection } = await session('sse');
    server.resetConnections = true;
    const error = await connection.client.ping().catch((e: unknown) => e);
    expect(causeCodes(error)).toEqual([undefined, 'ECONNRESET']);
    expectClassified(error, 'connection_reset', true);
  });

  it('the event stream dropped (upstream restart) → closed with an SseError without code ("SSE error: undefined") → network, transport; later calls → "Not connected" → network, transport', async () => {
    const { server, connection, recorded } = await session('sse');
    await server.restart();
    const reason = await recorded.closed.find(undefined, 'the closed event');
    expect(reason).toBeInstanceOf(SseError);
    expect(reason).toMatchObject({ code: undefined, message: 'SSE error: undefined' });
    expectClassified(reason, 'network', true);

    const error = await connection.client.ping().catch((e: unknown) => e);
    expect((error as Error).message).toBe('Not connected');
    expectClassified(error, 'network', true);
  });
});
