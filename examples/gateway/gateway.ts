/**
 * A small but real MCP gateway. Downstream clients talk to it over Streamable HTTP (stateful); it exposes the
 * upstream's tools and forwards `tools/list` and `tools/call` through an `UpstreamSessionRegistry`, keyed by
 * the downstream `Mcp-Session-Id`. So each downstream session gets its own upstream session (never a
 * shared one), reused for all its calls, and a downstream DELETE ends the matching upstream session.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  isInitializeRequest,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
// In your gateway: import { … } from 'mcp-upstream-sessions';
import {
  createMcpSessionFactory,
  downstreamSessionIdFromHeaders,
  UpstreamSessionRegistry,
  type SessionRequest,
} from '../../src/index.js';

export interface GatewayOptions {
  /** The id the gateway uses for its one upstream. */
  upstreamId: string;
  /** The upstream MCP endpoint. */
  upstreamUrl: string;
}

export interface Gateway {
  /** The gateway's downstream-facing MCP endpoint. */
  readonly url: string;
  readonly registry: UpstreamSessionRegistry;
  /** Closes downstream sessions, then every upstream session (bounded), then the HTTP server. */
  close(): Promise<void>;
}

interface DownstreamSession {
  transport: StreamableHTTPServerTransport;
  server: Server;
}

export async function startGateway({ upstreamId, upstreamUrl }: GatewayOptions): Promise<Gateway> {
  const registry = new UpstreamSessionRegistry({
    sessionFactory: createMcpSessionFactory({ clientInfo: { name: 'demo-gateway', version: '1.0.0' } }),
  });
  const downstream = new Map<string, DownstreamSession>(); // by downstream Mcp-Session-Id

  /** The upstream session of one downstream session: the registry's key is (downstreamSessionId, upstreamId). */
  const upstreamFor = (sessionId: string | undefined): SessionRequest => {
    if (sessionId === undefined) throw new McpError(ErrorCode.InvalidRequest, 'No downstream session');
    return { downstreamSessionId: sessionId, upstreamId, url: upstreamUrl };
  };

  function downstreamServer(): Server {
    const server = new Server({ name: 'demo-gateway', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
    server.setRequestHandler(ListToolsRequestSchema, (request, extra) =>
      registry.withSession(upstreamFor(extra.sessionId), (client) => client.listTools(request.params, { signal: extra.signal })),
    );
    server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
      registry.withSession(upstreamFor(extra.sessionId), (client) =>
        client.callTool(request.params, undefined, { signal: extra.signal }),
      ),
    );
    return server;
  }

  // The upstream changed its tools: tell every downstream client (debounced per upstream by the registry).
  registry.on('upstream:list-changed', () => {
    for (const { server } of downstream.values()) void server.sendToolListChanged().catch(() => undefined);
  });

  const http = createServer((req, res) => {
    void (async () => {
      const sessionId = downstreamSessionIdFromHeaders(req.headers);
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      let session = sessionId === undefined ? undefined : downstream.get(sessionId);
      if (session === undefined) {
        if (sessionId !== undefined || !isInitializeRequest(body)) {
          res.writeHead(sessionId === undefined ? 400 : 404).end();
          return;
        }
        const server = downstreamServer();
        const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void downstream.set(id, { transport, server }),
          // Downstream DELETE: the downstream session is over, so are its upstream sessions.
          onsessionclosed: async (id) => {
            downstream.delete(id);
            await registry.evictSession(id);
          },
        });
        await server.connect(transport);
        session = { transport, server };
      }
      await session.transport.handleRequest(req, res, body);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    registry,
    async close() {
      await Promise.all([...downstream.values()].map(({ server }) => server.close()));
      await registry.closeAll();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length === 0 ? undefined : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
}
