// The library reads the standalone GET event stream itself: end to end with the real v1 factory and SDK servers.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { type Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type UpstreamConnection } from '../../src/factory.js';
import { createMcpSessionFactory, type McpSessionFactoryOptions } from '../../src/mcp/v1/factory.js';
import { createRequest, useUpstreams } from '../integration/fixtures/factory-helpers.js';
import { recordEvents } from '../integration/fixtures/wait.js';

const LIST_CHANGED = 'notifications/tools/list_changed';

/** Polls `predicate`; rejects after `ms` (a hard bound). */
async function waitFor(predicate: () => boolean, what: string, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 10));
  }
}

/** A host `fetch` that records the method of every call, to prove the stream went through it. */
function hostFetch(): { fetch: NonNullable<McpSessionFactoryOptions['fetch']>; methods: string[] } {
  const methods: string[] = [];
  return {
    methods,
    fetch: (input, init) => {
      methods.push(init?.method ?? 'GET');
      return globalThis.fetch(input, init);
    },
  };
}

const PATHS: { name: string; options: () => { options: McpSessionFactoryOptions; getsThroughHost: () => number } }[] = [
  { name: 'default (node:http)', options: () => ({ options: {}, getsThroughHost: () => 0 }) },
  {
    name: 'host fetch',
    options: () => {
      const host = hostFetch();
      return { options: { fetch: host.fetch }, getsThroughHost: () => host.methods.filter((m) => m === 'GET').length };
    },
  },
];

describe('the library’s own event stream, with the counter fixture server', () => {
  const { upstream, track } = useUpstreams();

  for (const path of PATHS) {
    it(`delivers a list_changed sent unsolicited on the GET stream to events.notification — ${path.name}`, async () => {
      const server = await upstream();
      const recorded = recordEvents();
      const { options, getsThroughHost } = path.options();
      track(await createMcpSessionFactory(options).create(createRequest(server), recorded.events));
      await server.waitFor(() => server.openStreams === 1, 'the standalone event stream');

      server.addTool('late'); // every live session sends notifications/tools/list_changed, outside any call

      const notification = await recorded.notifications.find((n) => n.method === LIST_CHANGED, 'the list_changed', 3_000);
      expect(notification.method).toBe(LIST_CHANGED);
      expect(server.getCount).toBe(1);
      if (path.name === 'host fetch') expect(getsThroughHost()).toBe(1);
    });
  }
});

/**
 * A minimal SDK v1 upstream that can end a session's standalone GET stream while keeping the session, and
 * send `notifications/tools/list_changed` on demand.
 */
interface ListChangedServer {
  readonly url: string;
  /** Every GET received, with its headers and whether its response is open. */
  readonly gets: { headers: IncomingHttpHeaders; at: number; res: ServerResponse }[];
  /** The one session's pieces (after initialize). */
  session(): { mcp: McpServer; transport: StreamableHTTPServerTransport };
  close(): Promise<void>;
}

async function startListChangedServer(): Promise<ListChangedServer> {
  const sessions = new Map<string, { mcp: McpServer; transport: StreamableHTTPServerTransport }>();
  const gets: ListChangedServer['gets'] = [];
  const readJson = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    return raw === '' ? undefined : (JSON.parse(raw) as unknown);
  };
  const http: Server = createServer((req, res) => {
    void (async () => {
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      if (req.method === 'GET') gets.push({ headers: req.headers, at: Date.now(), res });
      const sid = req.headers['mcp-session-id'];
      const existing = typeof sid === 'string' ? sessions.get(sid) : undefined;
      if (existing !== undefined) {
        await existing.transport.handleRequest(req, res, body);
        return;
      }
      if (req.method !== 'POST' || !isInitializeRequest(body)) {
        res.writeHead(sid === undefined ? 400 : 404).end();
        return;
      }
      const mcp = new McpServer({ name: 'list-changed', version: '1.0.0' });
      mcp.registerTool('noop', { description: 'gives the server the tools capability' }, () => ({ content: [] }));
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, { mcp, transport });
        },
        onsessionclosed: (id) => {
          sessions.delete(id);
        },
      });
      await mcp.connect(transport);
      await transport.handleRequest(req, res, body);
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    gets,
    session() {
      const [only] = sessions.values();
      if (only === undefined) throw new Error('no session yet');
      return only;
    },
    async close() {
      await Promise.all([...sessions.values()].map((s) => s.mcp.close().catch(() => undefined)));
      sessions.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

describe('the library’s own event stream, reconnecting (real timers)', () => {
  const servers: ListChangedServer[] = [];
  const connections: UpstreamConnection<Client>[] = [];
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.close(AbortSignal.timeout(2_000)).catch(() => undefined)));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  for (const path of PATHS) {
    it(`reconnects with the session id ~1 s after the server ends the GET stream, and notifications flow again — ${path.name}`, async () => {
      const server = await startListChangedServer();
      servers.push(server);
      const recorded = recordEvents();
      const { options, getsThroughHost } = path.options();
      const connection = await createMcpSessionFactory(options).create(
        createRequest({ url: server.url, transport: 'streamable-http' }),
        recorded.events,
      );
      connections.push(connection);
      const listChanged = (): number => recorded.notifications.items.filter((n) => n.method === LIST_CHANGED).length;

      await waitFor(() => server.gets[0]?.res.headersSent === true, 'the first GET stream');
      const sessionId = server.gets[0]!.headers['mcp-session-id'];
      expect(typeof sessionId).toBe('string');
      // Plain node:http sends none of the fetch metadata headers undici's fetch adds.
      expect(server.gets[0]!.headers['sec-fetch-mode'] !== undefined).toBe(path.name === 'host fetch');

      server.session().mcp.sendToolListChanged();
      await waitFor(() => listChanged() === 1, 'the first list_changed');

      const endedAt = Date.now();
      server.session().transport.closeStandaloneSSEStream(); // ends the GET body; the session lives on
      await waitFor(() => server.gets[1]?.res.headersSent === true, 'the reconnected GET stream', 4_000);
      const second = server.gets[1]!;
      expect(second.at - endedAt).toBeGreaterThanOrEqual(900); // the 1 s reconnection delay
      expect(second.headers['mcp-session-id']).toBe(sessionId);
      expect(second.headers['last-event-id']).toBeUndefined(); // the server sent no event ids

      server.session().mcp.sendToolListChanged();
      await waitFor(() => listChanged() === 2, 'the list_changed after reconnecting');
      expect(server.gets).toHaveLength(2);
      if (path.name === 'host fetch') expect(getsThroughHost()).toBe(2);
    });
  }
});
