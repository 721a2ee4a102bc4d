/**
 * Helpers for the suites that use real SDK sessions: a counter server in a child process (so client and
 * server each get a core and their own file descriptors), file-descriptor and socket counts of this process,
 * bounded waits for a stable socket count and for a drained server, a bounded-concurrency loop, raw SDK
 * clients for the baseline, and a process-warning collector.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type CounterServerMessage } from './counter-server.js';
import { fullGc, median, nowNs, tick } from './stats.js';

/** Sessions and event streams a server holds at one moment. */
export interface ServerLoad {
  readonly sessions: number;
  readonly streams: number;
}

/** A counter server in a child process. */
export interface ChildUpstream {
  readonly url: string;
  readonly pid: number | undefined;
  /** Sessions the server holds now. */
  sessions(): Promise<number>;
  /** Standalone GET event streams open now. */
  streams(): Promise<number>;
  /** Sessions and streams now, in one round trip. */
  load(): Promise<ServerLoad>;
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
  const stats = async (): Promise<ServerLoad> => {
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
    load: stats,
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

/** What {@link waitForStableSockets} saw. */
export interface StableSockets {
  /** Open sockets of this process at the end of the wait. */
  readonly sockets: number;
  /** False when the count still moved at the deadline. */
  readonly stable: boolean;
  /** How long the wait took. */
  readonly waitedMs: number;
}

/**
 * Waits (bounded) until this process's open socket count stays the same for `stableMs`, polling every
 * `intervalMs`, so a baseline is not taken while sockets of an earlier phase are still closing. Idle
 * keep-alive sockets that a pool closes later (undici: after 4 s idle) are seen only with a `stableMs`
 * longer than that.
 * @param options - `timeoutMs` (default 10,000), `intervalMs` (default 50), `stableMs` (default 300).
 * @returns The last count, whether it was stable, and the time waited; never throws on a timeout.
 */
export async function waitForStableSockets(options: { timeoutMs?: number; intervalMs?: number; stableMs?: number } = {}): Promise<StableSockets> {
  const { timeoutMs = 10_000, intervalMs = 50, stableMs = 300 } = options;
  const start = Date.now();
  let sockets = openSockets();
  let since = start;
  for (;;) {
    const now = Date.now();
    if (now - since >= stableMs) return { sockets, stable: true, waitedMs: now - start };
    if (now - start >= timeoutMs) return { sockets, stable: false, waitedMs: now - start };
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    const current = openSockets();
    if (current !== sockets) {
      sockets = current;
      since = Date.now();
    }
  }
}

/**
 * Waits (bounded: 30 s, polling every 20 ms) until `server` holds at least `sessions` sessions and `streams`
 * event streams (the standalone GET streams open after `connect` resolves).
 * @throws When the server still holds fewer at the deadline.
 */
export async function settle(server: ChildUpstream, sessions: number, streams: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const now = await server.load();
    if (now.sessions >= sessions && now.streams >= streams) return;
    if (Date.now() > deadline) throw new Error(`server holds ${now.sessions} sessions and ${now.streams} streams, expected ${sessions} and ${streams}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Waits (bounded, polling every 20 ms) until `server` holds at most `load.sessions` sessions and at most
 * `load.streams` event streams, e.g. the load it had before a batch was opened and closed.
 * @returns The sessions still held above `load.sessions` when the wait ended (0 once drained); never throws.
 */
export async function drainTo(server: ChildUpstream, load: ServerLoad, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await server.load();
    if ((now.sessions <= load.sessions && now.streams <= load.streams) || Date.now() > deadline) return Math.max(0, now.sessions - load.sessions);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
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

/** Something that makes one tool call. */
export interface Caller {
  call(): Promise<unknown>;
}

/** Median CPU µs per call of `a` and of `b`, sampled in turn (`rounds` samples of `calls` calls each). */
export async function perCallCpu(a: Caller, b: Caller, calls: number, rounds: number): Promise<{ a: number; b: number }> {
  const samples = { a: [] as number[], b: [] as number[] };
  for (let round = 0; round < rounds + 2; round++) {
    for (const [name, caller] of (round % 2 === 0 ? [['a', a], ['b', b]] : [['b', b], ['a', a]]) as [keyof typeof samples, Caller][]) {
      const start = process.cpuUsage();
      for (let i = 0; i < calls; i++) await caller.call();
      // The first two rounds warm up.
      if (round >= 2) samples[name].push(cpuMicros(start) / calls);
    }
  }
  return { a: median(samples.a), b: median(samples.b) };
}

/** `calls` back-to-back calls; returns the MaxListenersExceededWarnings they raised (seen by `warnings`). */
export async function backToBack(caller: Caller, calls: number, warnings: ReturnType<typeof collectWarnings>): Promise<number> {
  warnings.reset();
  for (let i = 0; i < calls; i++) await caller.call();
  // Warnings are emitted asynchronously: let them land.
  await tick();
  await new Promise((resolve) => setTimeout(resolve, 20));
  return warnings.count('MaxListenersExceededWarning');
}

/** One ABBA round: the rates of contender `a` and of contender `b`. */
export interface RoundRates {
  readonly a: number;
  readonly b: number;
}

/**
 * Rounds of one `batch('a')` and one `batch('b')`, `a` first in even rounds and `b` first in odd ones (ABBA),
 * so drift over the run hits both alike. Warm-up rounds come first and are not returned: at least
 * `warmup.min`, then more until both rates move less than `warmup.tolerance` (a fraction) from the round
 * before, at most `warmup.max`.
 * @param batch - Runs one batch of a contender and returns its rate.
 * @param onWarmup - Sees each warm-up round's rates (for progress lines).
 * @returns How many warm-up rounds ran, and the `rounds` measured rounds in order.
 */
export async function abbaRounds(
  batch: (side: 'a' | 'b') => Promise<number>,
  rounds: number,
  warmup: { readonly min: number; readonly max: number; readonly tolerance: number },
  onWarmup?: (index: number, rates: RoundRates) => void,
): Promise<{ warmupRounds: number; measured: RoundRates[] }> {
  const round = async (index: number): Promise<RoundRates> => {
    const rates = { a: 0, b: 0 };
    for (const side of index % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const)) rates[side] = await batch(side);
    return rates;
  };
  const near = (x: number, y: number): boolean => Math.abs(x / y - 1) < warmup.tolerance;
  let warmupRounds = 0;
  for (let previous: RoundRates | undefined; ; ) {
    const current = await round(warmupRounds);
    onWarmup?.(warmupRounds++, current);
    const stable = previous !== undefined && near(current.a, previous.a) && near(current.b, previous.b);
    if ((stable && warmupRounds >= warmup.min) || warmupRounds >= warmup.max) break;
    previous = current;
  }
  const measured: RoundRates[] = [];
  for (let i = 0; i < rounds; i++) measured.push(await round(i));
  return { warmupRounds, measured };
}

/**
 * One batch from a common starting state (socket count stable, heap collected): times `open`, which opens
 * `size` sessions with an event stream each on `server` and returns their closer; then waits for the streams,
 * closes the batch and waits (bounded) until the server holds no more than before it.
 * @returns Creations per second, and the sessions of the batch the server still held when the drain ended.
 */
export async function timedBatch(server: ChildUpstream, size: number, open: () => Promise<() => Promise<unknown>>): Promise<{ perSec: number; left: number }> {
  await waitForStableSockets({ timeoutMs: 5_000 });
  fullGc();
  const before = await server.load();
  const start = nowNs();
  const close = await open();
  const perSec = size / ((nowNs() - start) / 1e9);
  await settle(server, before.sessions + size, before.streams + size);
  await close();
  return { perSec, left: await drainTo(server, before) };
}
