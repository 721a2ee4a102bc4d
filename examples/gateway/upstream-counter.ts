/**
 * A small *stateful* upstream MCP server, the kind that exposes the #4205 bug class: every MCP session gets
 * its own counter. Streamable HTTP, stateful (one `McpServer` + transport per session), on 127.0.0.1.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

export interface CounterUpstream {
  /** The MCP endpoint. */
  readonly url: string;
  /** `initialize` requests received so far: one per upstream session. */
  readonly initializeCount: number;
  /** Sessions the upstream currently holds. */
  readonly liveSessions: number;
  close(): Promise<void>;
}

function counterServer(): McpServer {
  let count = 0;
  const mcp = new McpServer({ name: 'counter', version: '1.0.0' });
  const reply = () => ({ content: [{ type: 'text' as const, text: String(count) }] });
  mcp.registerTool('increment', { description: 'Adds 1 to this session’s counter', inputSchema: { by: z.number().int().default(1) } }, ({ by }) => {
    count += by;
    return reply();
  });
  mcp.registerTool('get', { description: 'Reads this session’s counter' }, reply);
  return mcp;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length === 0 ? undefined : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
}

/** Starts the counter upstream on a random loopback port. */
export async function startCounterUpstream(): Promise<CounterUpstream> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  let initializeCount = 0;

  const http = createServer((req, res) => {
    void (async () => {
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      const sessionId = req.headers['mcp-session-id'];
      let transport = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
      if (transport === undefined) {
        if (sessionId !== undefined || !isInitializeRequest(body)) {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
          return;
        }
        initializeCount += 1;
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void sessions.set(id, created),
          onsessionclosed: (id) => void sessions.delete(id),
        });
        await counterServer().connect(created);
        transport = created;
      }
      await transport.handleRequest(req, res, body);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    get initializeCount() {
      return initializeCount;
    },
    get liveSessions() {
      return sessions.size;
    },
    async close() {
      await Promise.all([...sessions.values()].map((transport) => transport.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
