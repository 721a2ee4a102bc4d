/**
 * A stateful MCP "counter" server over Streamable HTTP on 127.0.0.1, for the end-to-end suite. Every MCP
 * session gets its own McpServer, so the `increment` tool counts per session.
 *
 * Run as a child process (`fork`): it listens on an ephemeral port, sends `{ port }` to its parent, and
 * closes everything and exits when the parent sends `'close'` or disconnects.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/** Messages the server sends to its parent. */
export type CounterServerMessage = { port: number } | { sessions: number; streams: number };

function counterServer(): McpServer {
  const server = new McpServer({ name: 'bench-counter', version: '1.0.0' });
  let total = 0;
  server.registerTool(
    'increment',
    { description: 'Adds `by` (default 1) to this session’s counter and returns the new value.', inputSchema: { by: z.number().int().default(1) } },
    ({ by }) => {
      total += by;
      return { content: [{ type: 'text', text: String(total) }] };
    },
  );
  return server;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length === 0 ? undefined : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
}

const sessions = new Map<string, StreamableHTTPServerTransport>();
/** Open standalone GET event streams. */
let streams = 0;

const http = createServer((req, res) => {
  if (req.method === 'GET') {
    streams += 1;
    res.once('close', () => {
      streams -= 1;
    });
  }
  void (async () => {
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    const header = req.headers['mcp-session-id'];
    const sessionId = typeof header === 'string' ? header : undefined;
    let transport = sessionId === undefined ? undefined : sessions.get(sessionId);
    if (transport === undefined) {
      if (sessionId !== undefined || req.method !== 'POST' || !isInitializeRequest(body)) {
        notFound(res);
        return;
      }
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (id) => void sessions.set(id, created),
        onsessionclosed: (id) => void sessions.delete(id),
      });
      created.onclose = () => {
        if (created.sessionId !== undefined) sessions.delete(created.sessionId);
      };
      await counterServer().connect(created);
      transport = created;
    }
    await transport.handleRequest(req, res, body);
  })().catch((error: unknown) => {
    if (!res.headersSent) res.writeHead(500).end(String(error));
  });
});

let closing: Promise<void> | undefined;

function shutdown(): Promise<void> {
  closing ??= closeEverything();
  return closing;
}

async function closeEverything(): Promise<void> {
  await Promise.all([...sessions.values()].map((transport) => transport.close()));
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  if (process.connected) process.disconnect();
}

// Longer than undici's 4 s client keep-alive (with slack for a loaded machine's late timers), so the client
// always drops an idle socket first and never reuses one the server is closing ("other side closed").
http.keepAliveTimeout = 65_000;
http.headersTimeout = 66_000;

http.listen(0, '127.0.0.1', () => {
  const { port } = http.address() as AddressInfo;
  process.send?.({ port } satisfies CounterServerMessage);
});
process.on('message', (message) => {
  if (message === 'sessions') process.send?.({ sessions: sessions.size, streams } satisfies CounterServerMessage);
  if (message === 'close') void shutdown();
});
process.on('disconnect', () => void shutdown().finally(() => process.exit(0)));
