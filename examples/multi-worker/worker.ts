/**
 * One gateway worker. Run several of these (one per process, as a cluster, pods, …) behind a load balancer
 * that does NOT need sticky sessions: the library decides which worker owns a downstream session, and this
 * host code forwards requests that landed on the wrong worker.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 UPSTREAM_URL=http://127.0.0.1:3000/mcp WORKER_NAME=a \
 *     npx tsx examples/multi-worker/worker.ts
 *
 * API (a stand-in for a real MCP endpoint, to keep the example short):
 *   POST /increment   header `Mcp-Session-Id: <downstream session>` → `{ count, servedBy }`
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { NotOwnerError, UpstreamSessionRegistry, downstreamSessionIdFromHeaders } from '../../src/index.js';
import { RedisAffinityStore } from '../../src/redis/index.js';

/** Redis hash: worker id → the address other workers forward to. The host's own directory, not the library's. */
const DIRECTORY_KEY = 'example:gateway-workers';
/** Marks a forwarded request, so a request is forwarded at most once (no loops while ownership moves). */
const FORWARDED_HEADER = 'x-gateway-forwarded-by';

/** What a running worker reports to whoever started it. */
export interface WorkerReady {
  type: 'ready';
  name: string;
  workerId: string;
  url: string;
}

interface IncrementReply {
  count: number;
  servedBy: string;
}

/**
 * Starts a gateway worker: a registry with a Redis affinity store and an HTTP server on 127.0.0.1.
 * @returns the worker's id and URL, and `close()` for a graceful shutdown.
 */
export async function startWorker(options: { name: string; redisUrl: string; upstreamUrl: string; heartbeatMs?: number }) {
  const { name, upstreamUrl } = options;
  // Fail fast while Redis is unreachable: the registry then routes locally and emits `affinity:error`.
  const redis = new Redis(options.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  redis.on('error', (error: Error) => console.warn(`[${name}] redis: ${error.message}`));
  await new Promise<void>((resolve) => redis.once('ready', () => resolve()));

  const workerId = `${name}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const registry = new UpstreamSessionRegistry({
    workerId,
    affinity: new RedisAffinityStore(redis),
    heartbeatMs: options.heartbeatMs ?? 10_000,
  });
  registry.on('affinity:error', ({ operation }) => console.warn(`[${name}] affinity store ${operation} failed; serving locally`));

  const http = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      console.error(`[${name}]`, error);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const downstreamSessionId = downstreamSessionIdFromHeaders(req.headers);
    if (req.method !== 'POST' || req.url !== '/increment' || downstreamSessionId === undefined) {
      res.writeHead(400).end();
      return;
    }
    const forwarded = req.headers[FORWARDED_HEADER] !== undefined;

    // 1. The library decides who serves this downstream session.
    const decision = await registry.route(downstreamSessionId);
    if (!decision.local && !forwarded) return forward(decision.owner, downstreamSessionId, res);

    // 2. Local: use (or create) this downstream session's own upstream session.
    try {
      const count = await registry.withSession({ downstreamSessionId, upstreamId: 'counter', url: upstreamUrl }, async (client) => {
        const result = await client.callTool({ name: 'increment', arguments: {} });
        const [first] = result.content as { type: string; text?: string }[];
        return Number(first?.text);
      });
      reply(res, 200, { count, servedBy: name });
    } catch (error) {
      // Ownership moved between route() and acquire(): forward once, or tell the peer it was misdirected.
      if (error instanceof NotOwnerError) {
        if (!forwarded) return forward(error.owner, downstreamSessionId, res);
        res.writeHead(421).end();
        return;
      }
      throw error;
    }
  }

  // 3. Remote: the host forwards to the owner over its own transport (plain HTTP here).
  async function forward(owner: string, downstreamSessionId: string, res: ServerResponse): Promise<void> {
    const address = await redis.hget(DIRECTORY_KEY, owner);
    if (address === null) {
      res.writeHead(503).end();
      return;
    }
    const response = await fetch(`${address}/increment`, {
      method: 'POST',
      headers: { 'mcp-session-id': downstreamSessionId, [FORWARDED_HEADER]: workerId },
    });
    res.writeHead(response.status, { 'content-type': 'application/json', 'x-gateway-owner': owner });
    res.end(await response.text());
  }

  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  await redis.hset(DIRECTORY_KEY, workerId, url);

  return {
    name,
    workerId,
    url,
    /** Graceful shutdown: stop taking requests, close upstream sessions and release their claims. */
    async close(): Promise<void> {
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await registry.closeAll();
      await redis.hdel(DIRECTORY_KEY, workerId);
      await redis.quit();
    },
  };
}

function reply(res: ServerResponse, status: number, body: IncrementReply): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Run as a process: configured by env, reports readiness over IPC when forked, exits on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const { REDIS_URL, UPSTREAM_URL, WORKER_NAME, HEARTBEAT_MS } = process.env;
  if (REDIS_URL === undefined || UPSTREAM_URL === undefined) {
    throw new Error('Set REDIS_URL and UPSTREAM_URL');
  }
  const worker = await startWorker({
    name: WORKER_NAME ?? 'worker',
    redisUrl: REDIS_URL,
    upstreamUrl: UPSTREAM_URL,
    ...(HEARTBEAT_MS === undefined ? {} : { heartbeatMs: Number(HEARTBEAT_MS) }),
  });
  const ready: WorkerReady = { type: 'ready', name: worker.name, workerId: worker.workerId, url: worker.url };
  if (process.send) process.send(ready);
  else console.log(`worker ${worker.workerId} listening on ${worker.url}`);
  const stop = (): void => {
    void worker.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
