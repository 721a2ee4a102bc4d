import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { SSEClientTransport, SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  classifyError,
  isMethodNotFound,
  isProgrammingError,
  isTimeoutError,
  isTransportError,
  type ErrorCategory,
} from '../src/classify/index.js';
import { SessionCreateError, SessionCreateTimeoutError, SessionEvictedError } from '../src/errors.js';
import { ProbeTimeoutError } from '../src/errors.js';

/** A Node-style system error, shaped like the ones `net`, `dns` and `tls` produce. */
function systemError(code: string, message = `connect ${code} 127.0.0.1:1`): Error {
  return Object.assign(new Error(message), { code });
}

/** `TypeError: fetch failed` as undici builds it. */
function fetchFailed(cause?: unknown): TypeError {
  return cause === undefined ? new TypeError('fetch failed') : new TypeError('fetch failed', { cause });
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

async function listen<S extends HttpServer | NetServer>(server: S): Promise<S> {
  const sockets = new Set<Socket>();
  openSockets.set(server, sockets);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function portOf(server: HttpServer | NetServer): number {
  return (server.address() as AddressInfo).port;
}

const openSockets = new WeakMap<NetServer, Set<Socket>>();

async function close(server: HttpServer | NetServer): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  for (const socket of openSockets.get(server) ?? []) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Real failures produced by Node's fetch, the SDK client and loopback servers. */
const real = {} as {
  refused: unknown; // fetch to a closed port
  reset: unknown; // fetch to a server that resets the connection
  socketClosed: unknown; // fetch to a server that closes the socket without answering
  tls: unknown; // https fetch to a plain http server
  timeout: unknown; // AbortSignal.timeout(0)
  streamable404: unknown; // SDK client connect against a server that forgot the session
  sse404: unknown; // SDK SSE client against a 404 endpoint
  sseRefused: unknown; // SDK SSE client against a closed port
  connectionClosed: unknown; // in-flight request when the transport closes
  aborted: unknown; // in-flight request aborted by its signal
  notConnected: unknown; // request on a client that never connected
  methodNotFound: unknown; // prompts/list on a server without prompts
};

const servers: (HttpServer | NetServer)[] = [];

beforeAll(async () => {
  // A port that was just closed: connecting to it is refused.
  const closed = await listen(createNetServer());
  const refusedPort = portOf(closed);
  await close(closed);
  real.refused = await rejectionOf(fetch(`http://127.0.0.1:${refusedPort}/`));

  const resetting = await listen(createNetServer((socket) => socket.once('data', () => socket.resetAndDestroy())));
  servers.push(resetting);
  real.reset = await rejectionOf(fetch(`http://127.0.0.1:${portOf(resetting)}/`));

  const hangingUp = await listen(createNetServer((socket) => socket.once('data', () => socket.destroy())));
  servers.push(hangingUp);
  real.socketClosed = await rejectionOf(fetch(`http://127.0.0.1:${portOf(hangingUp)}/`));

  const plain = await listen(createHttpServer((_req, res) => res.end('not tls')));
  servers.push(plain);
  real.tls = await rejectionOf(fetch(`https://127.0.0.1:${portOf(plain)}/`));

  // A server that accepts and never answers, so only the timeout can end the request (no race with a refusal).
  const silent = await listen(createNetServer(() => undefined));
  servers.push(silent);
  real.timeout = await rejectionOf(fetch(`http://127.0.0.1:${portOf(silent)}/`, { signal: AbortSignal.timeout(50) }));

  const forgetful = await listen(
    createHttpServer((_req, res) => {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}');
    }),
  );
  servers.push(forgetful);
  const forgetfulUrl = new URL(`http://127.0.0.1:${portOf(forgetful)}/mcp`);
  const streamable = new StreamableHTTPClientTransport(forgetfulUrl);
  real.streamable404 = await rejectionOf(new Client({ name: 't', version: '1' }).connect(streamable));
  await streamable.close();
  const sse404 = new SSEClientTransport(forgetfulUrl);
  real.sse404 = await rejectionOf(new Client({ name: 't', version: '1' }).connect(sse404));
  await sse404.close();
  const sseRefused = new SSEClientTransport(new URL(`http://127.0.0.1:${refusedPort}/sse`));
  real.sseRefused = await rejectionOf(new Client({ name: 't', version: '1' }).connect(sseRefused));
  await sseRefused.close(); // stops the EventSource from reconnecting

  const mcp = new McpServer({ name: 'hang', version: '1' });
  let entered: () => void = () => undefined;
  const toolEntered = new Promise<void>((resolve) => (entered = resolve));
  mcp.registerTool('hang', {}, async () => {
    entered();
    return new Promise(() => undefined);
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await mcp.connect(serverSide);
  const client = new Client({ name: 't', version: '1' });
  await client.connect(clientSide);
  const controller = new AbortController();
  const aborted = rejectionOf(client.callTool({ name: 'hang' }, undefined, { signal: controller.signal }));
  await toolEntered;
  controller.abort();
  real.aborted = await aborted;
  real.methodNotFound = await rejectionOf(client.listPrompts());
  const inFlight = rejectionOf(client.callTool({ name: 'hang' }));
  await serverSide.close();
  real.connectionClosed = await inFlight;
  await mcp.close();

  real.notConnected = await rejectionOf(new Client({ name: 't', version: '1' }).ping());
});

afterAll(async () => {
  await Promise.all(servers.map(close));
});

describe('the real failures these tests rely on', () => {
  it('have the shapes the SDK and undici document', () => {
    expect((real.refused as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect((real.reset as Error).cause).toMatchObject({ code: 'ECONNRESET' });
    expect((real.socketClosed as Error).cause).toMatchObject({ code: 'UND_ERR_SOCKET' });
    expect((real.tls as { cause: { code: string } }).cause.code).toMatch(/^(?:ERR_SSL_|EPROTO)/);
    expect(real.timeout).toMatchObject({ name: 'TimeoutError' });
    expect(real.streamable404).toMatchObject({ code: 404, name: 'Error' });
    expect(real.sse404).toMatchObject({ code: 404 });
    expect(real.sseRefused).toBeInstanceOf(SseError);
    expect(real.sseRefused).toMatchObject({ code: undefined, message: expect.stringContaining('ECONNREFUSED') as unknown });
    expect(real.connectionClosed).toMatchObject({ code: ErrorCode.ConnectionClosed, name: 'McpError' });
    expect(real.aborted).toMatchObject({ code: ErrorCode.RequestTimeout, name: 'McpError' });
    expect(real.methodNotFound).toMatchObject({ code: ErrorCode.MethodNotFound });
    expect(real.notConnected).toMatchObject({ name: 'Error', message: 'Not connected' });
  });
});

describe('classifyError: one category per kind of failure', () => {
  it('connection_refused: a real fetch to a closed loopback port', () => {
    expect(real.refused).toBeInstanceOf(TypeError);
    expect((real.refused as Error).message).toBe('fetch failed');
    expect(classifyError(real.refused)).toBe('connection_refused');
    expect(classifyError(systemError('ECONNREFUSED'))).toBe('connection_refused');
    expect(classifyError(real.sseRefused)).toBe('connection_refused');
  });

  it('connection_reset: a real reset, a socket closed by the peer, EPIPE', () => {
    expect(classifyError(real.reset)).toBe('connection_reset');
    expect(classifyError(real.socketClosed)).toBe('connection_reset');
    expect(classifyError(systemError('EPIPE', 'write EPIPE'))).toBe('connection_reset');
  });

  it('timeout: McpError RequestTimeout, aborts, TimeoutError, socket and undici timeouts, create/probe timeouts', () => {
    expect(classifyError(new McpError(ErrorCode.RequestTimeout, 'Request timed out', { timeout: 100 }))).toBe('timeout');
    expect(classifyError(real.aborted)).toBe('timeout');
    expect(classifyError(real.timeout)).toBe('timeout');
    expect(classifyError(new DOMException('This operation was aborted', 'AbortError'))).toBe('timeout');
    expect(classifyError(fetchFailed(systemError('ETIMEDOUT')))).toBe('timeout');
    for (const code of ['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']) {
      expect(classifyError(fetchFailed(systemError(code)))).toBe('timeout');
    }
    expect(classifyError(new SessionCreateTimeoutError('up', 30_000))).toBe('timeout');
    expect(classifyError(new ProbeTimeoutError('ping', 5_000))).toBe('timeout');
  });

  it('dns: ENOTFOUND and EAI_AGAIN under fetch failed', () => {
    expect(classifyError(fetchFailed(systemError('ENOTFOUND', 'getaddrinfo ENOTFOUND up.invalid')))).toBe('dns');
    expect(classifyError(fetchFailed(systemError('EAI_AGAIN', 'getaddrinfo EAI_AGAIN up.example')))).toBe('dns');
  });

  it('tls: a real TLS handshake against a plain server, and certificate codes', () => {
    expect(classifyError(real.tls)).toBe('tls');
    for (const code of [
      'CERT_HAS_EXPIRED',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'EPROTO',
    ]) {
      expect(classifyError(fetchFailed(systemError(code))), code).toBe('tls');
    }
  });

  it('auth_unauthorized: HTTP 401 from either transport, and the SDK UnauthorizedError', () => {
    expect(classifyError(new StreamableHTTPError(401, 'Server returned 401 after successful authentication'))).toBe(
      'auth_unauthorized',
    );
    expect(classifyError(new SseError(401, 'Non-200 status code (401)', new Event('error')))).toBe('auth_unauthorized');
    expect(classifyError(new UnauthorizedError())).toBe('auth_unauthorized');
    expect(classifyError(new UnauthorizedError('No auth provider'))).toBe('auth_unauthorized');
  });

  it('auth_forbidden: HTTP 403', () => {
    expect(classifyError(new StreamableHTTPError(403, 'Server returned 403 after trying upscoping'))).toBe('auth_forbidden');
  });

  it('not_found: HTTP 404 from a real upstream that forgot the session, and "session not found" messages', () => {
    expect(real.streamable404).toBeInstanceOf(StreamableHTTPError);
    expect(classifyError(real.streamable404)).toBe('not_found');
    expect(real.sse404).toBeInstanceOf(SseError);
    expect(classifyError(real.sse404)).toBe('not_found');
    expect(classifyError(new Error('Session not found'))).toBe('not_found');
  });

  it('upstream_server_error: HTTP 5xx', () => {
    expect(classifyError(new StreamableHTTPError(500, 'Error POSTing to endpoint: boom'))).toBe('upstream_server_error');
    expect(classifyError(new StreamableHTTPError(503, 'Failed to open SSE stream: Service Unavailable'))).toBe(
      'upstream_server_error',
    );
    expect(classifyError(new Error('Error POSTing to endpoint (HTTP 502): Bad Gateway'))).toBe('upstream_server_error');
  });

  it('http_error: any other HTTP failure', () => {
    expect(classifyError(new StreamableHTTPError(400, 'Error POSTing to endpoint: bad'))).toBe('http_error');
    expect(classifyError(new StreamableHTTPError(429, 'Error POSTing to endpoint: slow down'))).toBe('http_error');
    expect(classifyError(new StreamableHTTPError(-1, 'Unexpected content type: text/html'))).toBe('http_error');
    expect(classifyError(new StreamableHTTPError(undefined, undefined))).toBe('http_error');
    expect(classifyError(new StreamableHTTPError(410, 'Error POSTing to endpoint: gone'))).toBe('http_error');
    expect(classifyError(Object.assign(new Error('Too Many Requests'), { status: 429 }))).toBe('http_error');
    expect(classifyError(Object.assign(new Error('Forbidden'), { statusCode: 403 }))).toBe('auth_forbidden');
  });

  it('mcp_protocol_error: every JSON-RPC error except RequestTimeout', () => {
    expect(real.methodNotFound).toBeInstanceOf(McpError);
    expect(classifyError(real.methodNotFound)).toBe('mcp_protocol_error');
    expect(classifyError(real.connectionClosed)).toBe('mcp_protocol_error');
    for (const code of [ErrorCode.InvalidParams, ErrorCode.InternalError, ErrorCode.ParseError, ErrorCode.InvalidRequest]) {
      expect(classifyError(new McpError(code, 'nope')), String(code)).toBe('mcp_protocol_error');
    }
    expect(classifyError(new Error("Server's protocol version is not supported: 1999-01-01"))).toBe('mcp_protocol_error');
  });

  it('network: fetch failed without a more specific cause, other socket errors, lost streams', () => {
    expect(classifyError(fetchFailed())).toBe('network');
    expect(classifyError(fetchFailed(new Error('something odd')))).toBe('network');
    expect(classifyError(new TypeError('terminated'))).toBe('network');
    expect(classifyError(systemError('EHOSTUNREACH'))).toBe('network');
    expect(classifyError(systemError('UND_ERR_CLOSED', 'The client is destroyed'))).toBe('network');
    expect(classifyError(real.notConnected)).toBe('network');
    expect(classifyError(new Error('SSE stream disconnected: TypeError: terminated'))).toBe('network');
    expect(classifyError(new SseError(undefined, 'TypeError: fetch failed: other side closed', new Event('error')))).toBe(
      'network',
    );
  });

  it('reads the socket code an SseError flattened into its message', () => {
    const sse = (message: string): SseError => new SseError(undefined, message, new Event('error'));
    expect(classifyError(sse('TypeError: fetch failed: EVERYTHING ELSE, read ECONNRESET'))).toBe('connection_reset');
    expect(classifyError(sse('TypeError: fetch failed: getaddrinfo EAI_AGAIN up.example'))).toBe('dns');
    const noise = Array.from({ length: 10 }, (_, i) => `EWORD${String.fromCharCode(65 + i)}`).join(' ');
    expect(classifyError(sse(`${noise} ECONNREFUSED`))).toBe('network');
  });

  it('unknown: application errors, tool results and non-Error throws', () => {
    expect(classifyError(new Error('tool exploded'))).toBe('unknown');
    expect(classifyError({ content: [{ type: 'text', text: 'Session not found' }], isError: true })).toBe('unknown');
    expect(classifyError(new SessionEvictedError('evict'))).toBe('unknown');
    for (const thrown of ['ECONNREFUSED', 'fetch failed', null, undefined, 42, -32000, Symbol('x'), true, () => 1]) {
      expect(classifyError(thrown), String(thrown)).toBe('unknown');
    }
  });
});

describe('classifyError: walking causes and aggregates', () => {
  it('finds the most specific cause however deep it is', () => {
    const chain = new Error('create failed', { cause: new Error('connect failed', { cause: fetchFailed(systemError('ECONNRESET')) }) });
    expect(classifyError(chain)).toBe('connection_reset');
  });

  it('prefers a socket-level cause over the MCP error that wraps it', () => {
    const closed = new McpError(ErrorCode.ConnectionClosed, 'Connection closed');
    Object.defineProperty(closed, 'cause', { value: systemError('ECONNRESET', 'read ECONNRESET') });
    expect(classifyError(closed)).toBe('connection_reset');
  });

  it('uses the category a SessionCreateError already carries, and its cause', () => {
    expect(classifyError(new SessionCreateError('up', 'auth_forbidden', undefined))).toBe('auth_forbidden');
    expect(classifyError(new SessionCreateError('up', 'unknown', real.refused))).toBe('connection_refused');
    const forged = Object.assign(new Error('x'), { code: 'CREATE_FAILED', category: 'not-a-category' });
    expect(classifyError(forged)).toBe('unknown');
  });

  it('looks inside AggregateError (happy-eyeballs connects fail with one)', () => {
    const aggregate = new AggregateError([new Error('first'), systemError('ECONNREFUSED', 'connect ECONNREFUSED ::1:1')], 'all failed');
    expect(classifyError(fetchFailed(aggregate))).toBe('connection_refused');
    expect(classifyError(new AggregateError([], 'empty'))).toBe('unknown');
  });

  it('survives cycles in cause chains and aggregates', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.defineProperty(a, 'cause', { value: b });
    expect(classifyError(a)).toBe('unknown');
    expect(isTransportError(a)).toBe(false);

    const loop = new AggregateError([], 'loop');
    (loop.errors as unknown[]).push(loop, systemError('ECONNRESET'));
    expect(classifyError(loop)).toBe('connection_reset');
  });

  it('stops after a bounded number of errors', () => {
    let deep: Error = systemError('ECONNREFUSED');
    for (let i = 0; i < 100; i++) deep = new Error(`wrap ${i}`, { cause: deep });
    expect(classifyError(deep)).toBe('unknown');
    expect(isTransportError(deep)).toBe(false);

    const wide = new AggregateError([...Array.from({ length: 100 }, (_, i) => new Error(`e${i}`)), systemError('ECONNRESET')]);
    expect(classifyError(wide)).toBe('unknown');
  });

  it('never throws on hostile objects', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('gotcha');
        },
      },
    );
    expect(classifyError(hostile)).toBe('unknown');
    expect(isTransportError(hostile)).toBe(false);
    expect(classifyError(new Error('outer', { cause: hostile }))).toBe('unknown');
    expect(classifyError(Object.create(null))).toBe('unknown');
    const getPrototypeOfThrows = new Proxy(new TypeError('x'), {
      getPrototypeOf() {
        throw new Error('gotcha');
      },
    });
    expect(isProgrammingError(getPrototypeOfThrows)).toBe(false);
  });
});

describe('isTransportError: the session is dead and must be rebuilt', () => {
  const dead: [string, () => unknown][] = [
    ['McpError ConnectionClosed from a real in-flight request', () => real.connectionClosed],
    ['McpError ConnectionClosed (constructed)', () => new McpError(ErrorCode.ConnectionClosed, 'Connection closed')],
    ['StreamableHTTPError 404 from a real upstream', () => real.streamable404],
    ['StreamableHTTPError 404 (constructed)', () => new StreamableHTTPError(404, 'Error POSTing to endpoint: gone')],
    ['StreamableHTTPError 410 Gone', () => new StreamableHTTPError(410, 'Error POSTing to endpoint: gone')],
    [
      'StreamableHTTPError 400 saying the session id is not valid',
      () => new StreamableHTTPError(400, 'Error POSTing to endpoint: Bad Request: No valid session ID provided'),
    ],
    ['a message saying the session was not found', () => new Error('Session not found')],
    ['a message saying the session was terminated', () => new Error('upstream: session terminated')],
    ['a message saying the session expired', () => new Error('Session has been expired by the server')],
    ['an unknown session id', () => new Error('Unknown session id abc')],
    ['McpError -32001 "Session not found" (a server reusing the code)', () => new McpError(-32001, 'Session not found')],
    ['McpError InternalError saying the session was terminated', () => new McpError(ErrorCode.InternalError, 'Session terminated')],
    ['the SDK "Not connected"', () => real.notConnected],
    ['a real fetch to a refused port', () => real.refused],
    ['a real connection reset', () => real.reset],
    ['a real socket closed by the peer (UND_ERR_SOCKET)', () => real.socketClosed],
    ['fetch failed without a cause', () => fetchFailed()],
    ['undici TypeError terminated', () => new TypeError('terminated', { cause: systemError('UND_ERR_SOCKET', 'other side closed') })],
    ['EPIPE', () => systemError('EPIPE')],
    ['ETIMEDOUT (a socket that never connected)', () => fetchFailed(systemError('ETIMEDOUT'))],
    ['UND_ERR_CONNECT_TIMEOUT', () => fetchFailed(systemError('UND_ERR_CONNECT_TIMEOUT'))],
    ['UND_ERR_CLOSED', () => systemError('UND_ERR_CLOSED')],
    ['a real SseError 404', () => real.sse404],
    ['a real SseError for a refused port', () => real.sseRefused],
    ['an SseError naming a DNS failure (the SSE stream is the session)', () => new SseError(undefined, 'TypeError: fetch failed: getaddrinfo ENOTFOUND x', new Event('error'))],
    ['SSE stream disconnected', () => new Error('SSE stream disconnected: TypeError: terminated')],
    ['SSE reconnection exhausted', () => new Error('Maximum reconnection attempts (2) exceeded.')],
    ['SSE reconnect failure', () => new Error('Failed to reconnect SSE stream: fetch failed')],
    ['SSE transport POST 404', () => new Error('Error POSTing to endpoint (HTTP 404): Not Found')],
    ['a transport error deep in an application wrapper', () => new Error('tool call failed', { cause: new Error('x', { cause: real.connectionClosed }) })],
    ['a transport error inside an AggregateError', () => new AggregateError([new Error('a'), real.refused])],
    ['a plain object with a socket code (serialized error)', () => ({ code: 'ECONNRESET', message: 'read ECONNRESET' })],
    ['McpError ConnectionClosed even when its cause is a DNS failure', () => Object.assign(new McpError(-32000, 'Connection closed'), { cause: systemError('ENOTFOUND') })],
  ];
  it.each(dead)('true for %s', (_label, make) => {
    expect(isTransportError(make())).toBe(true);
  });

  const alive: [string, () => unknown][] = [
    ['McpError MethodNotFound from a real server', () => real.methodNotFound],
    ['McpError InvalidParams', () => new McpError(ErrorCode.InvalidParams, 'bad arguments')],
    ['McpError InternalError', () => new McpError(ErrorCode.InternalError, 'handler threw')],
    ['McpError RequestTimeout: a slow tool must not evict the session', () => new McpError(ErrorCode.RequestTimeout, 'Request timed out')],
    ['a real in-flight abort', () => real.aborted],
    ['a DOMException TimeoutError', () => real.timeout],
    ['undici headers timeout (a slow response)', () => fetchFailed(systemError('UND_ERR_HEADERS_TIMEOUT'))],
    ['DNS failure under fetch failed', () => fetchFailed(systemError('ENOTFOUND', 'getaddrinfo ENOTFOUND up.invalid'))],
    ['TLS failure from a real handshake', () => real.tls],
    ['StreamableHTTPError 401', () => new StreamableHTTPError(401, 'unauthorized')],
    ['StreamableHTTPError 500', () => new StreamableHTTPError(500, 'boom')],
    ['SSE transport POST 500', () => new Error('Error POSTing to endpoint (HTTP 500): boom')],
    ['UnauthorizedError', () => new UnauthorizedError()],
    ['a CallToolResult with isError', () => ({ content: [{ type: 'text', text: 'MCP error -32602: Tool nope not found' }], isError: true })],
    ['a validation error', () => new RangeError('Expected `by` to be an integer')],
    ['an application error', () => new Error('database is read-only')],
    ['a message that mentions a session but not its loss', () => new Error('session limit is 10')],
    ['a thrown string', () => 'Connection closed'],
    ['null', () => null],
    ['undefined', () => undefined],
    ['a number', () => -32000],
  ];
  it.each(alive)('false for %s', (_label, make) => {
    expect(isTransportError(make())).toBe(false);
  });
});

describe('isTimeoutError', () => {
  it('is true exactly when classifyError says timeout', () => {
    const samples: unknown[] = [real.aborted, real.timeout, real.refused, real.connectionClosed, new SessionCreateTimeoutError('u', 1), 'x'];
    for (const sample of samples) {
      expect(isTimeoutError(sample)).toBe(classifyError(sample) === 'timeout');
    }
    expect(isTimeoutError(real.aborted)).toBe(true);
    expect(isTimeoutError(real.refused)).toBe(false);
  });
});

describe('isMethodNotFound', () => {
  it('recognises JSON-RPC -32601 from a real server and look-alikes', () => {
    expect(isMethodNotFound(real.methodNotFound)).toBe(true);
    expect(isMethodNotFound(new McpError(ErrorCode.MethodNotFound, 'Method not found'))).toBe(true);
    expect(isMethodNotFound({ code: -32601 })).toBe(true);
  });

  it('rejects other errors and non-objects', () => {
    expect(isMethodNotFound(new McpError(ErrorCode.InvalidParams, 'x'))).toBe(false);
    expect(isMethodNotFound(-32601)).toBe(false);
    expect(isMethodNotFound(null)).toBe(false);
    expect(isMethodNotFound(new Error('Method not found'))).toBe(false);
  });
});

describe('isProgrammingError', () => {
  it('is true for built-in bug types that are not upstream failures', () => {
    expect(isProgrammingError(new TypeError("Cannot read properties of undefined (reading 'tools')"))).toBe(true);
    expect(isProgrammingError(new ReferenceError('x is not defined'))).toBe(true);
    expect(isProgrammingError(new RangeError('Maximum call stack size exceeded'))).toBe(true);
    expect(isProgrammingError(new SyntaxError('Unexpected token'))).toBe(true);
    expect(isProgrammingError({ name: 'TypeError', message: 'x is not a function' })).toBe(true);
  });

  it('is false for network failures that happen to be TypeErrors', () => {
    expect(isProgrammingError(real.refused)).toBe(false);
    expect(isProgrammingError(real.tls)).toBe(false);
    expect(isProgrammingError(fetchFailed())).toBe(false);
    expect(isProgrammingError(fetchFailed(systemError('ENOTFOUND')))).toBe(false);
    expect(isProgrammingError(new TypeError('terminated'))).toBe(false);
  });

  it('is false for MCP, HTTP and application errors and non-objects', () => {
    expect(isProgrammingError(real.connectionClosed)).toBe(false);
    expect(isProgrammingError(real.methodNotFound)).toBe(false);
    expect(isProgrammingError(new Error('x'))).toBe(false);
    expect(isProgrammingError('TypeError')).toBe(false);
    expect(isProgrammingError(null)).toBe(false);
    expect(isProgrammingError({ name: Symbol('TypeError') })).toBe(false);
  });
});

describe('categories', () => {
  it('every ErrorCategory is produced by some error above', () => {
    const all: Record<ErrorCategory, unknown> = {
      connection_refused: real.refused,
      connection_reset: real.reset,
      timeout: real.timeout,
      dns: fetchFailed(systemError('ENOTFOUND')),
      tls: real.tls,
      auth_unauthorized: new UnauthorizedError(),
      auth_forbidden: new StreamableHTTPError(403, 'x'),
      not_found: real.streamable404,
      upstream_server_error: new StreamableHTTPError(502, 'x'),
      http_error: new StreamableHTTPError(418, 'x'),
      mcp_protocol_error: real.methodNotFound,
      network: fetchFailed(),
      spawn_failed: Object.assign(new Error('spawn my-server ENOENT'), {
        [Symbol.for('mcp-upstream-sessions.stdioFailure')]: 'spawn_failed',
      }),
      process_exited: Object.assign(new Error('my-server exited with code 1'), {
        [Symbol.for('mcp-upstream-sessions.stdioFailure')]: 'process_exited',
        exitCode: 1,
      }),
      era_negotiation: Object.assign(new Error('Version negotiation failed'), { name: 'SdkError', code: 'ERA_NEGOTIATION_FAILED' }),
      unknown: new Error('x'),
    };
    for (const [category, error] of Object.entries(all)) expect(classifyError(error), category).toBe(category);
  });
});
