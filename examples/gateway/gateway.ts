/**
 * A complete MCP relay gateway, to copy. Downstream clients talk to it over Streamable HTTP (stateful); each
 * downstream session gets its own upstream session through an `UpstreamSessionRegistry`, keyed by the
 * downstream `Mcp-Session-Id`, and everything an MCP client can do with the upstream passes through:
 * tools, prompts, resources (and subscriptions), completion, logging, progress, cancellation, sampling /
 * elicitation / roots (to the right downstream client), list_changed.
 *
 * - `security.ts`: Host and Origin validation (DNS-rebinding protection).
 * - `downstream-sessions.ts`: the downstream session table, with an idle TTL for clients that never DELETE.
 * - `downstream-server.ts`: the relay handlers of one downstream session.
 * - `server-requests.ts`: upstream → downstream requests and notifications.
 * - `upstream-pool.ts`: the registry and its factory.
 * - `metrics.ts`: Prometheus text at `/metrics`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { type Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest, type InitializeRequest } from '@modelcontextprotocol/sdk/types.js';
// In your gateway: import { … } from 'mcp-upstream-sessions';
import {
  downstreamSessionIdFromHeaders,
  systemClock,
  type Clock,
  type SessionRequest,
  type UpstreamClient,
  type UpstreamSessionRegistry,
} from '../../src/index.js';
import { createDownstreamServer, replayState, type UpstreamSessionState } from './downstream-server.js';
import { type RelayClient } from './relay-client.js';
import { DownstreamSessions } from './downstream-sessions.js';
import { createMetricsEndpoint } from './metrics.js';
import { checkHostAndOrigin, loopbackPolicy } from './security.js';
import { relayNotification, serverRequestRelay } from './server-requests.js';
import { createUpstreamPoolV1, type UpstreamPool, type UpstreamPoolOptions } from './upstream-pool.js';

type Without<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The one upstream this gateway relays to: a session request without the per-session parts, plus an id. */
export type UpstreamTarget = Without<SessionRequest, 'downstreamSessionId' | 'upstreamId' | 'signal' | 'clientCapabilities'> & {
  readonly id: string;
};

export interface GatewayOptions<C extends UpstreamClient = Client> {
  readonly upstream: UpstreamTarget;
  /** Loopback port to listen on. @default 0 (any free port) */
  readonly port?: number;
  /** Extra accepted `Host` values (`name:port`) and `Origin`s, beyond 127.0.0.1 / localhost / [::1] on the port. */
  readonly allowedHosts?: readonly string[];
  readonly allowedOrigins?: readonly string[];
  /**
   * A downstream session with no request in flight for this long is ended and its upstream sessions are
   * evicted (clients that never send DELETE). `0` = never. @default 1_800_000 (30 min)
   */
  readonly downstreamIdleTtlMs?: number;
  /** Time for the registry and the idle TTL. @default systemClock */
  readonly clock?: Clock;
  /** Options for the registry (not `sessionFactory` or `clock`). */
  readonly registryOptions?: UpstreamPoolOptions['registryOptions'];
  /** Builds the upstream side; the default uses the SDK v1 factory. */
  readonly createUpstreamPool?: (options: UpstreamPoolOptions) => UpstreamPool<C>;
}

export interface Gateway<C extends UpstreamClient = Client> {
  /** The downstream-facing MCP endpoint. */
  readonly url: string;
  readonly registry: UpstreamSessionRegistry<C>;
  /** Live downstream sessions. */
  readonly downstreamSessions: number;
  /** Ends downstream sessions, then every upstream session (bounded), then the HTTP server. */
  close(): Promise<void>;
}

interface DownstreamSession {
  readonly server: Server;
  /** Ids of its downstream requests in flight (for upstream requests that carry no call context: stdio). */
  readonly inFlight: Set<string | number>;
  /** Log level and subscriptions the client set up upstream, replayed when its upstream session is rebuilt. */
  readonly state: UpstreamSessionState;
  readonly transport: StreamableHTTPServerTransport;
  /** What the downstream client declared in `initialize`: announced to its upstream sessions. */
  readonly clientCapabilities: Record<string, unknown>;
}

const SERVER_INFO = { name: 'mcp-relay-gateway', version: '1.0.0' };

export async function startGateway<C extends UpstreamClient = Client>(options: GatewayOptions<C>): Promise<Gateway<C>> {
  const { upstream, clock = systemClock } = options;
  const { id: upstreamId, ...target } = upstream;

  const sessions: DownstreamSessions<DownstreamSession> = new DownstreamSessions(
    clock,
    options.downstreamIdleTtlMs ?? 1_800_000,
    (id, session) => endSession(id, session), // idle: the client never came back
  );
  // Without `createUpstreamPool`, C is the SDK v1 `Client` (the type parameter's default).
  const createPool = options.createUpstreamPool ?? (createUpstreamPoolV1 as unknown as (o: UpstreamPoolOptions) => UpstreamPool<C>);
  const pool = createPool({
    clock,
    clientInfo: SERVER_INFO,
    onServerRequest: serverRequestRelay((id) => sessions.get(id)),
    ...(options.registryOptions !== undefined && { registryOptions: options.registryOptions }),
  });
  const { registry } = pool;
  const metrics = createMetricsEndpoint(registry);

  /** The upstream session request of one downstream session (the registry's key: downstream id, upstream id). */
  const requestFor = (downstreamSessionId: string, clientCapabilities: Record<string, unknown>): SessionRequest =>
    ({ ...target, downstreamSessionId, upstreamId, clientCapabilities });

  // Upstream notifications go to the downstream client of the session that sent them: logging messages,
  // resource updates and list_changed are per session (an upstream's lists may differ per client).
  registry.on('notification', ({ key, notification }) => {
    const session = key.upstreamId === upstreamId ? sessions.get(key.downstreamSessionId) : undefined;
    if (session !== undefined) relayNotification(session.server, key.downstreamSessionId, notification);
  });

  /**
   * An upstream session the downstream client has not used yet (rebuilt after a transport error, a failed
   * probe, an upstream restart) starts from scratch: replay what the client set up, once per upstream session,
   * before its first relayed request.
   */
  const setUpSessions = new WeakMap<object, Promise<void>>();
  function setUp(client: RelayClient, state: UpstreamSessionState): Promise<void> {
    let done = setUpSessions.get(client.identity);
    if (done === undefined) {
      done = replayState(client, state, AbortSignal.timeout(30_000)).catch(() => undefined);
      setUpSessions.set(client.identity, done);
    }
    return done;
  }

  /** A downstream session is over: forget it and evict its upstream sessions in the background. */
  function endSession(id: string, session: DownstreamSession | undefined): void {
    sessions.delete(id);
    if (session !== undefined) void session.server.close().catch(() => undefined);
    void registry.evictSession(id).catch(() => undefined); // never delays the downstream response
  }

  async function openSession(req: IncomingMessage, res: ServerResponse, body: InitializeRequest & { id?: unknown }): Promise<void> {
    const id = randomUUID();
    const clientCapabilities = { ...body.params.capabilities };
    let upstreamView;
    try {
      // The upstream session is made now, with the downstream client's capabilities, so the downstream
      // session can announce what the upstream offers this client.
      upstreamView = await pool.call(requestFor(id, clientCapabilities), async (client) => ({
        capabilities: client.serverCapabilities() ?? {},
        instructions: client.instructions(),
      }));
    } catch (error) {
      void registry.evictSession(id).catch(() => undefined);
      reply(res, 502, (error as Error).message, body.id);
      return;
    }
    const call: Parameters<typeof createDownstreamServer>[0]['call'] = (fn) =>
      pool.call(requestFor(id, clientCapabilities), async (client) => {
        await setUp(client, state); // a rebuilt upstream session gets the client's log level and subscriptions back
        return fn(client);
      });
    const inFlight = new Set<string | number>();
    const state: UpstreamSessionState = { subscriptions: new Set() };
    const server = createDownstreamServer({
      sessionId: id,
      inFlight,
      state,
      serverInfo: SERVER_INFO,
      upstreamCapabilities: upstreamView.capabilities,
      instructions: upstreamView.instructions,
      call,
    });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      // Downstream DELETE: the transport answers it once this returns, so the upstream closes run after.
      onsessionclosed: (closed) => endSession(closed, undefined),
    });
    sessions.add(id, { server, transport, clientCapabilities, inFlight, state });
    res.once('close', sessions.begin(id));
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
    if (transport.sessionId === undefined) endSession(id, sessions.get(id)); // initialize was refused
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refused = checkHostAndOrigin(req, policy);
    if (refused !== undefined) return reply(res, 403, refused);
    const path = new URL(req.url ?? '/', 'http://gateway.invalid').pathname;
    if (path === '/metrics') return metrics.handle(req, res);
    if (path !== '/mcp') return reply(res, 404, 'Not found');

    let body: unknown;
    if (req.method === 'POST') {
      try {
        body = await readJson(req);
      } catch {
        return reply(res, 400, 'Parse error', null, -32700);
      }
    }
    const sessionId = downstreamSessionIdFromHeaders(req.headers);
    if (sessionId !== undefined) {
      const session = sessions.get(sessionId);
      if (session === undefined) return reply(res, 404, 'Session not found');
      res.once('close', sessions.begin(sessionId)); // in flight until the response (or GET stream) ends
      return session.transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) return reply(res, 400, 'Bad Request: No valid session ID provided');
    return openSession(req, res, body);
  }

  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) reply(res, 500, 'Internal error');
    });
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  const policy = loopbackPolicy(port, {
    ...(options.allowedHosts !== undefined && { hosts: options.allowedHosts }),
    ...(options.allowedOrigins !== undefined && { origins: options.allowedOrigins }),
  });

  return {
    url: `http://127.0.0.1:${port}/mcp`,
    registry,
    get downstreamSessions() {
      return sessions.size;
    },
    async close() {
      const open = sessions.clear();
      await Promise.all(open.map(({ server }) => server.close().catch(() => undefined)));
      await registry.closeAll();
      await metrics.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** A JSON-RPC error response (for requests the MCP transport never sees). */
function reply(res: ServerResponse, status: number, message: string, id: unknown = null, code = -32000): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id }));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length === 0 ? undefined : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
}
