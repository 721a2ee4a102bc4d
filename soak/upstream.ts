/**
 * A stateful MCP "counter" upstream for the soak run: real SDK `McpServer` + `StreamableHTTPServerTransport`,
 * one server per MCP session (so each session has its own counter), on 127.0.0.1.
 *
 * What the soak needs beyond the example upstream:
 * - `liveSessions`: sessions the upstream still holds (the leak check after `closeAll`).
 * - `restart(downtimeMs)`: forgets every session and refuses connections for a while, then listens again on
 *   the same port, as a real process restart would (in-flight requests die with their sockets).
 * - `slowDown(...)`: for a while, delays some POSTs (initialize, ping, tool calls) before handling them.
 *   DELETE and GET are never delayed: a slow DELETE would be a leak the upstream itself chose.
 * - `expireSession()`: forgets one session, as an upstream expiring it would (the next call gets 404).
 * - `bindingViolations`: requests that reached a session with another key's `x-soak-key` header, i.e. one
 *   upstream session serving two `(downstreamSessionId, upstreamId)` pairs. Must stay 0.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { KEY_HEADER } from './protocol.js';
import { type Random } from './random.js';

interface UpstreamSession {
  readonly server: McpServer;
  readonly transport: StreamableHTTPServerTransport;
  /** `x-soak-key` of the `initialize` request. */
  readonly owner: string | undefined;
}

interface SlowWindow {
  until: number;
  probability: number;
  maxDelayMs: number;
}

function counterServer(): McpServer {
  let count = 0;
  const server = new McpServer({ name: 'soak-counter', version: '1.0.0' });
  const reply = (): { content: { type: 'text'; text: string }[] } => ({ content: [{ type: 'text', text: String(count) }] });
  server.registerTool('increment', { description: 'Adds `by` to this session’s counter', inputSchema: { by: z.number().int().default(1) } }, ({ by }) => {
    count += by;
    return reply();
  });
  server.registerTool('get', { description: 'Reads this session’s counter' }, reply);
  return server;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length === 0 ? undefined : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function listen(http: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', () => {
      http.off('error', reject);
      resolve((http.address() as AddressInfo).port);
    });
  });
}

/** One soak upstream. Create it with {@link SoakUpstream.start}. */
export class SoakUpstream {
  /** `initialize` requests accepted: one per upstream session ever created. */
  initializeCount = 0;
  /** Requests that reached a session created for another key. */
  bindingViolations = 0;
  /** Completed restarts. */
  restarts = 0;
  /** Sessions forgotten by {@link SoakUpstream.expireSession}. */
  expiries = 0;
  /** POSTs delayed by a slow window. */
  delayedRequests = 0;

  readonly #http: Server;
  #port = 0;
  readonly #random: Random;
  readonly #sessions = new Map<string, UpstreamSession>();
  #slow: SlowWindow | undefined;
  /** Bumped by every restart: a request that began in an earlier generation is dropped. */
  #generation = 0;
  #restarting: Promise<void> | undefined;
  #closed = false;

  private constructor(
    readonly id: string,
    random: Random,
  ) {
    this.#random = random;
    this.#http = createServer((req, res) => this.#onRequest(req, res));
  }

  /** Starts an upstream on a random loopback port. */
  static async start(id: string, random: Random): Promise<SoakUpstream> {
    const upstream = new SoakUpstream(id, random);
    upstream.#port = await listen(upstream.#http, 0);
    return upstream;
  }

  /** The MCP endpoint. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}/mcp`;
  }

  /** Sessions the upstream currently holds. */
  get liveSessions(): number {
    return this.#sessions.size;
  }

  /** Whether a restart is in progress. */
  get restarting(): boolean {
    return this.#restarting !== undefined;
  }

  /** For `durationMs`, delays each POST with `probability` by up to `maxDelayMs`. */
  slowDown(durationMs: number, probability: number, maxDelayMs: number): void {
    this.#slow = { until: Date.now() + durationMs, probability, maxDelayMs };
  }

  /** Ends any slow window at once. */
  stopSlowDown(): void {
    this.#slow = undefined;
  }

  /**
   * Restarts: stops listening, drops every connection, forgets every session, stays down for `downtimeMs`,
   * then listens on the same port again. A restart already in progress is joined.
   */
  restart(downtimeMs: number): Promise<void> {
    this.#restarting ??= this.#restartNow(downtimeMs).finally(() => {
      this.#restarting = undefined;
    });
    return this.#restarting;
  }

  /** Forgets one random session, as an upstream expiring it would. Returns whether there was one. */
  async expireSession(): Promise<boolean> {
    const ids = [...this.#sessions.keys()];
    if (ids.length === 0) return false;
    const id = ids[this.#random.int(ids.length)]!;
    const session = this.#sessions.get(id);
    if (session === undefined) return false;
    this.#sessions.delete(id);
    this.expiries += 1;
    await session.server.close().catch(() => undefined);
    return true;
  }

  /** Closes every session, connection and the listener. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#slow = undefined;
    await this.#restarting;
    await this.#forgetAll();
    const closed = new Promise<void>((resolve) => this.#http.close(() => resolve()));
    this.#http.closeAllConnections();
    await closed;
  }

  async #restartNow(downtimeMs: number): Promise<void> {
    if (this.#closed) return;
    this.#generation += 1;
    const stopped = new Promise<void>((resolve) => this.#http.close(() => resolve()));
    this.#http.closeAllConnections();
    await this.#forgetAll();
    await stopped;
    await sleep(downtimeMs);
    if (this.#closed) return;
    await listen(this.#http, this.#port);
    this.restarts += 1;
  }

  async #forgetAll(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map((session) => session.server.close().catch(() => undefined)));
  }

  #delayMs(req: IncomingMessage): number {
    const slow = this.#slow;
    if (slow === undefined || req.method !== 'POST') return 0;
    if (Date.now() >= slow.until) {
      this.#slow = undefined;
      return 0;
    }
    return this.#random.next() < slow.probability ? this.#random.int(slow.maxDelayMs + 1) : 0;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.#handle(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) res.writeHead(500).end();
      else res.destroy();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const generation = this.#generation;
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    const delayMs = this.#delayMs(req);
    if (delayMs > 0) {
      this.delayedRequests += 1;
      await sleep(delayMs);
    }
    // Restarted meanwhile, or the client went away: a real upstream would never have seen this request.
    if (generation !== this.#generation || this.#closed || res.destroyed || req.socket.destroyed) {
      res.destroy();
      return;
    }
    const key = header(req, KEY_HEADER);
    const sessionId = header(req, 'mcp-session-id');
    let session = sessionId === undefined ? undefined : this.#sessions.get(sessionId);
    if (session === undefined) {
      if (sessionId !== undefined || req.method !== 'POST' || !isInitializeRequest(body)) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
        return;
      }
      session = await this.#createSession(key, generation);
    } else if (session.owner !== key) {
      this.bindingViolations += 1;
    }
    await session.transport.handleRequest(req, res, body);
  }

  async #createSession(owner: string | undefined, generation: number): Promise<UpstreamSession> {
    this.initializeCount += 1;
    const server = counterServer();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => {
        // A session initialized after a restart began belongs to the process that died.
        if (generation === this.#generation && !this.#closed) this.#sessions.set(id, session);
        else void server.close().catch(() => undefined);
      },
      onsessionclosed: (id) => void this.#sessions.delete(id),
    });
    const session: UpstreamSession = { server, transport, owner };
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id !== undefined && this.#sessions.get(id) === session) this.#sessions.delete(id);
    };
    await server.connect(transport);
    return session;
  }
}
