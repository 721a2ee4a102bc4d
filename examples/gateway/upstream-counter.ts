/**
 * A small *stateful* upstream MCP server, the kind that exposes the #4205 bug class: every MCP session gets
 * its own counter. Streamable HTTP, stateful (one `McpServer` + transport per session), on 127.0.0.1.
 *
 * Besides `increment` and `get` it has a few tools that show what a relay must pass through: `wait` (runs
 * until cancelled, reporting progress), `log` (a logging message at a level, filtered by the session's
 * `logging/setLevel`) and `add-tool` (registers a tool for this session only: `tools/list_changed`).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest, SetLevelRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/** What the upstream reports, for tests and demos. */
export interface CounterEvents {
  /** A `wait` call started (its upstream session id; whether the request asked for progress). */
  'wait-started': [sessionId: string | undefined, withProgress: boolean];
  /** A `wait` call was cancelled by the client (`notifications/cancelled`). */
  'wait-cancelled': [sessionId: string | undefined];
  /** A session ended (its client sent DELETE). */
  'session-closed': [sessionId: string];
}

export interface CounterUpstream {
  /** The MCP endpoint. */
  readonly url: string;
  /** `initialize` requests received so far: one per upstream session. */
  readonly initializeCount: number;
  /** Sessions the upstream currently holds. */
  readonly liveSessions: number;
  readonly events: EventEmitter<CounterEvents>;
  close(): Promise<void>;
}

export interface CounterUpstreamOptions {
  /** Awaited before a session's DELETE is handled (a slow upstream, for tests). */
  beforeDelete?: () => Promise<void>;
}

const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;

function counterServer(events: EventEmitter<CounterEvents>): McpServer {
  let count = 0;
  const mcp = new McpServer({ name: 'counter', version: '1.0.0' }, { capabilities: { logging: {} } });
  const reply = () => ({ content: [{ type: 'text' as const, text: String(count) }] });
  mcp.registerTool('increment', { description: 'Adds 1 to this session’s counter', inputSchema: { by: z.number().int().default(1) } }, ({ by }) => {
    count += by;
    return reply();
  });
  mcp.registerTool('get', { description: 'Reads this session’s counter' }, reply);
  mcp.registerTool('wait', { description: 'Reports progress once, then runs until cancelled' }, async (extra) => {
    const progressToken = extra._meta?.progressToken;
    if (progressToken !== undefined) {
      await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: 1, message: 'waiting' } });
    }
    events.emit('wait-started', extra.sessionId, progressToken !== undefined);
    await new Promise<void>((resolve) => extra.signal.addEventListener('abort', () => resolve(), { once: true }));
    events.emit('wait-cancelled', extra.sessionId);
    return reply();
  });
  // logging/setLevel for this session; `log` sends on the call's own stream (clients need no GET stream).
  let minimum = 0;
  mcp.server.setRequestHandler(SetLevelRequestSchema, ({ params }) => {
    minimum = LEVELS.indexOf(params.level);
    return {};
  });
  mcp.registerTool(
    'log',
    { description: 'Sends a logging message (dropped below the session’s level)', inputSchema: { level: z.enum(LEVELS), text: z.string() } },
    async ({ level, text }, extra) => {
      if (LEVELS.indexOf(level) >= minimum) {
        await extra.sendNotification({ method: 'notifications/message', params: { level, logger: 'counter', data: text } });
      }
      return reply();
    },
  );
  mcp.registerTool('add-tool', { description: 'Adds a tool to this session', inputSchema: { name: z.string() } }, ({ name }) => {
    mcp.registerTool(name, { description: 'Added by add-tool' }, reply); // sends notifications/tools/list_changed
    return reply();
  });
  return mcp;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length === 0 ? undefined : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
}

/** Starts the counter upstream on a random loopback port. */
export async function startCounterUpstream(options: CounterUpstreamOptions = {}): Promise<CounterUpstream> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const events = new EventEmitter<CounterEvents>();
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
          onsessionclosed: (id) => {
            sessions.delete(id);
            events.emit('session-closed', id);
          },
        });
        await counterServer(events).connect(created);
        transport = created;
      }
      if (req.method === 'DELETE') await options.beforeDelete?.();
      await transport.handleRequest(req, res, body);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    events,
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
