/**
 * SPEC §4.4: an upstream that restarted and answers the stale session id with HTTP 400 "session gone" — the
 * conformance reference server's `Invalid or missing session ID`, the SDK examples' `Bad Request: No valid
 * session ID provided` — recovers on the next call: the 400 is a transport error, so the session is evicted and
 * the call after it runs on a fresh session (instead of failing forever while traffic continues).
 */

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, type Socket } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamSessionRegistry, createMcpSessionFactory, isTransportError, type EvictReason } from '../../src/index.js';

/** A stateful SDK v1 upstream (a counter per session) whose `restart()` forgets every session. */
interface ForgetfulUpstream {
  readonly url: string;
  readonly initializeCount: number;
  restart(): Promise<void>;
  close(): Promise<void>;
}

async function startForgetfulUpstream(sessionGoneBody: string): Promise<ForgetfulUpstream> {
  let sessions = new Map<string, StreamableHTTPServerTransport>();
  let initializeCount = 0;
  const sockets = new Set<Socket>();
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const sid = req.headers['mcp-session-id'];
    const existing = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (existing !== undefined) {
      await existing.handleRequest(req, res);
      return;
    }
    if (typeof sid === 'string') {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(sessionGoneBody);
      return;
    }
    initializeCount += 1;
    const own = sessions;
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id: string): void => {
        own.set(id, transport);
      },
    });
    const mcp = new McpServer({ name: 'forgetful-counter', version: '1.0.0' });
    let count = 0;
    mcp.registerTool('increment', { description: 'count' }, () => ({ content: [{ type: 'text', text: String(++count) }] }));
    await mcp.connect(transport);
    await transport.handleRequest(req, res);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const closeSessions = async (): Promise<void> => {
    const old = sessions;
    sessions = new Map();
    await Promise.all([...old.values()].map((transport) => transport.close().catch(() => undefined)));
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    get initializeCount() {
      return initializeCount;
    },
    restart: closeSessions,
    async close() {
      await closeSessions();
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function increment(registry: UpstreamSessionRegistry, url: string): Promise<string | undefined> {
  return registry.withSession({ downstreamSessionId: 'tab-A', upstreamId: 'counter', url }, async (client) => {
    const result = (await client.callTool({ name: 'increment' })) as { content: { type: string; text?: string }[] };
    return result.content[0]?.text;
  });
}

describe('an upstream that restarted answers the stale session id with a session-gone HTTP 400', () => {
  for (const body of ['Invalid or missing session ID', 'Bad Request: No valid session ID provided']) {
    it(`"${body}": the call fails with a transport error, the session is evicted, the next call runs on a fresh session`, async () => {
      const upstream = await startForgetfulUpstream(body);
      cleanups.push(() => upstream.close());
      const registry = new UpstreamSessionRegistry({ sessionFactory: createMcpSessionFactory() });
      cleanups.push(() => registry.closeAll());
      const evicted: EvictReason[] = [];
      registry.on('session:evicted', (event) => evicted.push(event.reason));

      expect(await increment(registry, upstream.url)).toBe('1');
      expect(await increment(registry, upstream.url)).toBe('2');
      await upstream.restart();

      const error: unknown = await increment(registry, upstream.url).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 400 });
      expect(isTransportError(error)).toBe(true);
      expect(evicted).toEqual(['transport-error']);

      expect(await increment(registry, upstream.url)).toBe('1');
      expect(upstream.initializeCount).toBe(2);
    });
  }
});
