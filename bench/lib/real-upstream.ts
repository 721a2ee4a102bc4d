/**
 * Helpers for the suites that use real SDK sessions: a counter server in a child process (so client and
 * server each get a core and their own file descriptors), file-descriptor and socket counts of this process,
 * a bounded-concurrency loop, raw SDK clients for the baseline, and a process-warning collector.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type CounterServerMessage } from './counter-server.js';

/** A counter server in a child process. */
export interface ChildUpstream {
  readonly url: string;
  readonly pid: number | undefined;
  /** Sessions the server holds now. */
  sessions(): Promise<number>;
  /** Standalone GET event streams open now. */
  streams(): Promise<number>;
  /** Shuts the server down and waits for the process to exit. */
  stop(): Promise<void>;
}

/** Forks `bench/lib/counter-server.ts` on 127.0.0.1 and waits for its port. */
export async function startChildUpstream(): Promise<ChildUpstream> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./counter-server.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [message] = (await once(child, 'message')) as [CounterServerMessage];
  if (!('port' in message)) throw new Error('counter server did not report its port');
  const url = `http://127.0.0.1:${message.port}/mcp`;
  const stats = async (): Promise<{ sessions: number; streams: number }> => {
    child.send('sessions');
    for (;;) {
      const [reply] = (await once(child, 'message')) as [CounterServerMessage];
      if ('sessions' in reply) return reply;
    }
  };
  return {
    url,
    pid: child.pid,
    sessions: async () => (await stats()).sessions,
    streams: async () => (await stats()).streams,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.send('close');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Open file descriptors of this process. */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Open sockets of this process. */
export function openSockets(): number {
  let sockets = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) sockets += 1;
    } catch {
      // closed while we looked
    }
  }
  return sockets;
}

/** Runs `work(i)` for i in [0, count) with at most `concurrency` in flight. */
export async function inPool(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/**
 * Runs `attempt`, retrying up to twice on failure (counted in `retries.count`). On a loaded machine a
 * keep-alive socket the server is closing can be reused by the client ("other side closed"), as with any
 * HTTP/1.1 client; a gateway retries such a failure, and a benchmark must not die of it.
 */
export async function withRetries<T>(attempt: () => Promise<T>, retries: { count: number }): Promise<T> {
  for (let tries = 0; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (tries >= 2) throw error;
      retries.count += 1;
    }
  }
}

/** A raw SDK session: what a gateway without the library would hold. */
export interface RawSession {
  readonly client: Client;
  readonly transport: StreamableHTTPClientTransport;
}

/** Connects one raw SDK client (default options: event stream, one Ajv per client). */
export async function connectRaw(url: string, clientInfo: { name: string; version: string }): Promise<RawSession> {
  const transport = new StreamableHTTPClientTransport(new URL(url));
  const client = new Client(clientInfo);
  await client.connect(transport);
  return { client, transport };
}

/** Ends a raw session as the library does: DELETE, then close. */
export async function closeRaw(session: RawSession): Promise<void> {
  await session.transport.terminateSession().catch(() => undefined);
  await session.client.close();
}

/** Collects process warnings by name (without printing them) until `stop()`. */
export function collectWarnings(): { count(name: string): number; reset(): void; stop(): void } {
  const counts = new Map<string, number>();
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  const onWarning = (warning: Error): void => void counts.set(warning.name, (counts.get(warning.name) ?? 0) + 1);
  process.on('warning', onWarning);
  return {
    count: (name) => counts.get(name) ?? 0,
    reset: () => counts.clear(),
    stop: () => {
      process.off('warning', onWarning);
      for (const printer of printers) process.on('warning', printer);
    },
  };
}

/** CPU time (user + system) of this process in microseconds since `start` (from `process.cpuUsage()`). */
export function cpuMicros(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return used.user + used.system;
}
