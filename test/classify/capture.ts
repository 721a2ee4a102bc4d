/**
 * Captures real errors from the real SDKs (v1 `@modelcontextprotocol/sdk`, v2 `@modelcontextprotocol/client`)
 * against real loopback servers, for the golden corpus (`corpus.ts`). Nothing here builds an error by hand:
 * every error is what an SDK client call rejected with.
 *
 * Servers:
 * - a scripted streamable-HTTP upstream (raw `node:http`): `initialize` succeeds with a session id, and every
 *   later request on `/<scenario>` gets that scenario's answer (a status and body, a reset socket, silence);
 * - a real legacy-only SDK v1 `McpServer` (stateful streamable HTTP), for era negotiation.
 * All bind 127.0.0.1 and are closed (with their sockets) by {@link CaptureServers.close}.
 */

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, type Socket } from 'node:net';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

/** What the scripted upstream answers to a request after `initialize`. */
type Scenario =
  | { kind: 'status'; status: number; body: string; contentType?: string }
  | { kind: 'reset' }
  | { kind: 'hang' };

const jsonRpcError = (code: number, message: string): string =>
  JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null });

/** Every scenario of the scripted upstream, by path. */
export const SCENARIOS: Readonly<Record<string, Scenario>> = {
  'session-404': { kind: 'status', status: 404, body: jsonRpcError(-32001, 'Session not found') },
  'session-gone-400-conformance': { kind: 'status', status: 400, body: 'Invalid or missing session ID', contentType: 'text/plain' },
  'session-gone-400-sdk-example': {
    kind: 'status',
    status: 400,
    body: jsonRpcError(-32000, 'Bad Request: No valid session ID provided'),
  },
  'bad-request-400': { kind: 'status', status: 400, body: jsonRpcError(-32600, 'Bad Request: invalid body') },
  'unauthorized-401': { kind: 'status', status: 401, body: jsonRpcError(-32001, 'Unauthorized') },
  'forbidden-403': { kind: 'status', status: 403, body: jsonRpcError(-32001, 'Forbidden') },
  'server-error-500': { kind: 'status', status: 500, body: jsonRpcError(-32603, 'Internal server error') },
  'bad-gateway-502': { kind: 'status', status: 502, body: 'Bad Gateway', contentType: 'text/plain' },
  reset: { kind: 'reset' },
  hang: { kind: 'hang' },
};

/** The loopback servers one capture run uses. */
export interface CaptureServers {
  /** Base URL of the scripted upstream: append a scenario name. */
  readonly scriptedUrl: string;
  /** URL of the real legacy-only SDK v1 server. */
  readonly legacyUrl: string;
  /** A loopback port nothing listens on. */
  readonly closedPortUrl: string;
  close(): Promise<void>;
}

function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

async function scripted(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const scenario = SCENARIOS[(req.url ?? '/').slice(1).split('?')[0] ?? ''];
  if (req.method === 'GET') {
    res.writeHead(405).end();
    return;
  }
  if (req.method === 'DELETE') {
    res.writeHead(200).end();
    return;
  }
  const body = (await readBody(req)) as { method?: string; id?: unknown; params?: { protocolVersion?: string } } | undefined;
  if (body?.method === 'initialize') {
    res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'session-1' });
    res.end(
      JSON.stringify({
        jsonrpc: '2.0',
        id: body.id,
        result: {
          protocolVersion: body.params?.protocolVersion ?? '2025-06-18',
          capabilities: { tools: {} },
          serverInfo: { name: 'scripted', version: '1.0.0' },
        },
      }),
    );
    return;
  }
  if (body?.id === undefined) {
    res.writeHead(202).end();
    return;
  }
  if (scenario === undefined) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: body.id, result: { tools: [] } }));
    return;
  }
  switch (scenario.kind) {
    case 'status':
      res.writeHead(scenario.status, { 'content-type': scenario.contentType ?? 'application/json' }).end(scenario.body);
      return;
    case 'reset':
      req.socket.destroy();
      return;
    case 'hang':
      return; // never answers; the socket is destroyed when the server closes
  }
}

/** A real stateful SDK v1 server (2025 protocol only): one transport per session. */
function legacyServer(): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  return async (req, res) => {
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
    if (existing !== undefined) {
      await existing.handleRequest(req, res);
      return;
    }
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id: string): void => {
        transports.set(id, transport);
      },
    });
    const server = new McpServer({ name: 'legacy-only', version: '1.0.0' });
    server.registerTool('echo', { description: 'echo' }, () => ({ content: [{ type: 'text', text: 'ok' }] }));
    await server.connect(transport);
    await transport.handleRequest(req, res);
  };
}

/** Starts the capture servers on 127.0.0.1. */
export async function startCaptureServers(): Promise<CaptureServers> {
  const scriptedServer = createServer((req, res) => {
    scripted(req, res).catch(() => res.destroy());
  });
  const scriptedSockets = trackSockets(scriptedServer);
  const legacyHandler = legacyServer();
  const legacy = createServer((req, res) => {
    legacyHandler(req, res).catch(() => res.destroy());
  });
  const legacySockets = trackSockets(legacy);
  const closed = createServer();
  const closedUrl = await listen(closed);
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const scriptedUrl = await listen(scriptedServer);
  const legacyUrl = await listen(legacy);
  return {
    scriptedUrl: `${scriptedUrl}/`,
    legacyUrl: `${legacyUrl}/mcp`,
    closedPortUrl: `${closedUrl}/mcp`,
    async close() {
      await Promise.all([closeServer(scriptedServer, scriptedSockets), closeServer(legacy, legacySockets)]);
    },
  };
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the SDK call to reject');
}

/** Timeout of the captured request timeouts: the scripted upstream never answers, so the SDK's timer fires. */
const REQUEST_TIMEOUT_MS = 25;

/** One SDK's client calls, so every case runs the same way against both SDKs. */
interface SdkDriver {
  /** Connects to `url` and returns a function that sends `tools/list` and a closer. */
  connect(url: string): Promise<{ listTools(timeoutMs?: number): Promise<unknown>; close(): Promise<void> }>;
}

const V1: SdkDriver = {
  async connect(url) {
    const client = new ClientV1({ name: 'capture', version: '1.0.0' });
    await client.connect(new TransportV1(new URL(url)));
    return {
      listTools: (timeoutMs) => client.listTools(undefined, timeoutMs === undefined ? {} : { timeout: timeoutMs }),
      close: () => client.close(),
    };
  },
};

const V2: SdkDriver = {
  async connect(url) {
    const client = new ClientV2({ name: 'capture', version: '1.0.0' });
    await client.connect(new TransportV2(new URL(url)));
    return {
      listTools: (timeoutMs) =>
        client.request(
          { method: 'tools/list', params: {} },
          timeoutMs === undefined ? {} : { timeout: timeoutMs },
        ),
      close: () => client.close(),
    };
  },
};

/** Runs `call` on a connected client, closing it afterwards; returns what the call rejected with. */
async function duringUse(
  driver: SdkDriver,
  url: string,
  call: (session: Awaited<ReturnType<SdkDriver['connect']>>) => Promise<unknown>,
): Promise<unknown> {
  const session = await driver.connect(url);
  try {
    return await rejectionOf(call(session));
  } finally {
    await session.close().catch(() => undefined);
  }
}

/** A captured case: its id (the corpus key) and the error an SDK produced. */
export interface CapturedError {
  readonly id: string;
  readonly error: unknown;
}

/** Every case, captured from both SDKs; the ids match the corpus. */
export async function captureAll(servers: CaptureServers): Promise<CapturedError[]> {
  const out: CapturedError[] = [];
  const drivers = { v1: V1, v2: V2 } as const;
  for (const [sdk, driver] of Object.entries(drivers)) {
    out.push({ id: `${sdk}.connection-refused`, error: await rejectionOf(driver.connect(servers.closedPortUrl)) });
    for (const scenario of Object.keys(SCENARIOS)) {
      if (scenario === 'hang') continue;
      const url = `${servers.scriptedUrl}${scenario}`;
      out.push({ id: `${sdk}.${scenario}`, error: await duringUse(driver, url, (s) => s.listTools()) });
    }
    out.push({
      id: `${sdk}.request-timeout`,
      error: await duringUse(driver, `${servers.scriptedUrl}hang`, (s) => s.listTools(REQUEST_TIMEOUT_MS)),
    });
    out.push({
      id: `${sdk}.connection-closed`,
      error: await (async () => {
        const session = await driver.connect(`${servers.scriptedUrl}hang`);
        const pending = rejectionOf(session.listTools());
        await session.close();
        return pending;
      })(),
    });
  }
  const autoClient = (): ClientV2 =>
    new ClientV2({ name: 'capture', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  out.push({
    id: 'v2.auto-negotiation-connection-refused',
    error: await rejectionOf(autoClient().connect(new TransportV2(new URL(servers.closedPortUrl)))),
  });
  for (const scenario of ['unauthorized-401', 'forbidden-403', 'server-error-500'] as const) {
    out.push({
      id: `v2.auto-negotiation-${scenario}`,
      error: await rejectionOf(autoClient().connect(new TransportV2(new URL(`${servers.scriptedUrl}${scenario}`)))),
    });
  }
  out.push({
    id: 'v2.era-negotiation-modern-pinned-vs-legacy',
    error: await rejectionOf(
      new ClientV2({ name: 'capture', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } }).connect(
        new TransportV2(new URL(servers.legacyUrl)),
      ),
    ),
  });
  return out;
}
