/**
 * Real sessions at scale: N real SDK sessions through the registry and the default factory against a
 * loopback stateful counter server (in a child process), and the same N raw SDK clients in the same run.
 *
 * Two servers: origin A holds 10 sessions, origin B holds N. Per-call CPU is measured on a session of each,
 * sample by sample in turn, so `perCallCpuGrowth` (B ÷ A) shows what N open sessions to one origin cost a
 * call, with machine drift hitting both alike.
 *
 * Phases: (1) the library, event stream on: creation rate at concurrency 64, heap / RSS / sockets per
 * session after GC, per-call CPU growth, listener warnings over back-to-back calls, `closeAll` (time,
 * sessions left on the upstream, peak fds); (2) raw SDK clients: creation rate, per-call growth, warnings,
 * close; (3) the library with `eventStream: false`: creation rate, heap / RSS / sockets per session, closeAll.
 *
 * Needs about N + 200 file descriptors in this process and in the server's (`ulimit -n`; 10,000 sessions fit
 * the usual 20,000 limit), and stays far below the ~28,000 ephemeral ports of one source address.
 */
import { type Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type SessionLease } from '../../src/lease.js';
import { createMcpSessionFactory, type McpSessionFactoryOptions } from '../../src/mcp/v1/factory.js';
import { UpstreamSessionRegistry } from '../../src/registry.js';
import {
  closeRaw,
  collectWarnings,
  connectRaw,
  cpuMicros,
  inPool,
  openFds,
  openSockets,
  startChildUpstream,
  withRetries,
  type ChildUpstream,
  type RawSession,
} from '../lib/real-upstream.js';
import { fullGc, median, nowNs, round, tick } from '../lib/stats.js';
import { type SuiteOptions } from './types.js';

/** Memory and sockets per session, measured after full GCs. */
export interface PerSessionCost {
  heapPerSessionB: number;
  rssPerSessionB: number;
  socketsPerSession: number;
  createsPerSec: number;
}

/** Results of the real-sessions suite. */
export interface RealResult {
  sessions: number;
  createConcurrency: number;
  heapPerSessionB: number;
  rssPerSessionB: number;
  socketsPerSession: number;
  createsPerSec: number;
  rawCreatesPerSec: number;
  createsVsRawSdk: number;
  noStream: PerSessionCost;
  closeAll: {
    ms: number;
    closeTimeoutMs: number;
    upstreamSessionsLeft: number;
    peakFds: number;
    /** Peak fds during closeAll ÷ N (before the fix: about 2, one socket for the stream and one for the DELETE). */
    peakFdsPerSession: number;
    fdsBefore: number;
    closeErrors: number;
    closeTimeouts: number;
  };
  rawClose: { ms: number; upstreamSessionsLeft: number };
  perCallCpuUsWith10: number;
  perCallCpuUsWithN: number;
  /** CPU per call with N sessions open to the origin ÷ with 10 (the target uses 4,000; N is larger in full mode). */
  perCallCpuGrowth: number;
  perCallCpuGrowthSessions: number;
  rawPerCallCpuGrowth: number;
  listenerWarnings: number;
  listenerWarningCalls: number;
  rawListenerWarnings: number;
  rawListenerWarningCalls: number;
  /** Creations retried after a failure (keep-alive races on a loaded machine), all phases. */
  createRetries: number;
}

const retries = { count: 0 };

const CLIENT_INFO = { name: 'bench-real', version: '0.0.0' };
const CONCURRENCY = 64;
const SMALL_ORIGIN_SESSIONS = 10;
const CLOSE_TIMEOUT_MS = 5_000;

interface Caller {
  call(): Promise<unknown>;
}

const increment = (client: Client) => (): Promise<unknown> => client.callTool({ name: 'increment', arguments: { by: 1 } });

function heapAndRss(): { heap: number; rss: number } {
  fullGc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heap: heapUsed, rss };
}

/** Waits (bounded) until the server holds `sessions` sessions and `streams` event streams. */
async function settle(server: ChildUpstream, sessions: number, streams: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [s, t] = [await server.sessions(), await server.streams()];
    if (s >= sessions && t >= streams) return;
    if (Date.now() > deadline) throw new Error(`server holds ${s} sessions and ${t} streams, expected ${sessions} and ${streams}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Median CPU µs per call of `a` and of `b`, sampled in turn (`rounds` samples of `calls` calls each). */
async function perCallCpu(a: Caller, b: Caller, calls: number, rounds: number): Promise<{ a: number; b: number }> {
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

/** `calls` back-to-back calls; returns the MaxListenersExceededWarnings they raised. */
async function backToBack(caller: Caller, calls: number, warnings: ReturnType<typeof collectWarnings>): Promise<number> {
  warnings.reset();
  for (let i = 0; i < calls; i++) await caller.call();
  // Warnings are emitted asynchronously: let them land.
  await tick();
  await new Promise((resolve) => setTimeout(resolve, 20));
  return warnings.count('MaxListenersExceededWarning');
}

interface LibraryPhase {
  cost: PerSessionCost;
  small: Caller;
  large: Caller;
  leases: SessionLease<Client>[];
  registry: UpstreamSessionRegistry<Client>;
}

/** Opens 10 sessions on A and N on B through a registry; measures creation rate and per-session cost. */
async function openLibrarySessions(a: ChildUpstream, b: ChildUpstream, n: number, options: McpSessionFactoryOptions, tag: string): Promise<LibraryPhase> {
  const registry = new UpstreamSessionRegistry<Client>({
    sessionFactory: createMcpSessionFactory({ clientInfo: CLIENT_INFO, ...options }),
    maxSessions: n + SMALL_ORIGIN_SESSIONS,
    closeTimeoutMs: CLOSE_TIMEOUT_MS,
    // Creation throughput is measured, not bounded: a loaded machine must not turn it into timeouts.
    createTimeoutMs: 600_000,
  });
  const leases: SessionLease<Client>[] = [];
  for (let i = 0; i < SMALL_ORIGIN_SESSIONS; i++) {
    leases.push(await registry.acquire({ downstreamSessionId: `${tag}-a-${i}`, upstreamId: 'small', url: a.url }));
  }
  const streams = options.eventStream === false ? 0 : 1;
  await settle(a, SMALL_ORIGIN_SESSIONS, SMALL_ORIGIN_SESSIONS * streams);
  await tick();
  const before = heapAndRss();
  const socketsBefore = openSockets();
  const start = nowNs();
  await inPool(n, CONCURRENCY, async (i) => {
    const lease = await withRetries(() => registry.acquire({ downstreamSessionId: `${tag}-b-${i}`, upstreamId: 'large', url: b.url }), retries);
    if (i === 0) leases.push(lease);
    else lease.release();
  });
  const seconds = (nowNs() - start) / 1e9;
  await settle(b, n, n * streams);
  await tick();
  const after = heapAndRss();
  const sockets = openSockets();
  const [small, large] = [leases[0]!, leases[SMALL_ORIGIN_SESSIONS]!];
  return {
    cost: {
      heapPerSessionB: Math.round((after.heap - before.heap) / n),
      rssPerSessionB: Math.round((after.rss - before.rss) / n),
      socketsPerSession: round((sockets - socketsBefore) / n, 3),
      createsPerSec: Math.round(n / seconds),
    },
    small: { call: increment(small.client) },
    large: { call: increment(large.client) },
    leases,
    registry,
  };
}

/** `closeAll` over everything, with a peak-fd sampler; then counts what the upstreams still hold. */
async function closeLibrarySessions(phase: LibraryPhase, a: ChildUpstream, b: ChildUpstream, n: number): Promise<RealResult['closeAll']> {
  for (const lease of phase.leases) lease.release();
  const fdsBefore = openFds();
  let peakFds = fdsBefore;
  const sampler = setInterval(() => {
    peakFds = Math.max(peakFds, openFds());
  }, 10);
  const start = nowNs();
  await phase.registry.closeAll();
  const ms = (nowNs() - start) / 1e6;
  clearInterval(sampler);
  peakFds = Math.max(peakFds, openFds());
  const { closeErrors, closeTimeouts } = phase.registry.snapshot().counters;
  return {
    ms: Math.round(ms),
    closeTimeoutMs: CLOSE_TIMEOUT_MS,
    upstreamSessionsLeft: (await a.sessions()) + (await b.sessions()),
    peakFds,
    peakFdsPerSession: round(peakFds / n, 3),
    fdsBefore,
    closeErrors,
    closeTimeouts,
  };
}

/** The raw-SDK phase: creation rate, per-call growth, warnings, close. */
async function rawPhase(
  a: ChildUpstream,
  b: ChildUpstream,
  n: number,
  calls: { growthCalls: number; rounds: number; backToBack: number },
  warnings: ReturnType<typeof collectWarnings>,
): Promise<{ createsPerSec: number; growth: number; warnings: number; close: RealResult['rawClose'] }> {
  const small: RawSession[] = [];
  for (let i = 0; i < SMALL_ORIGIN_SESSIONS; i++) small.push(await connectRaw(a.url, CLIENT_INFO));
  const large: RawSession[] = new Array<RawSession>(n);
  const start = nowNs();
  await inPool(n, CONCURRENCY, async (i) => {
    large[i] = await withRetries(() => connectRaw(b.url, CLIENT_INFO), retries);
  });
  const createsPerSec = Math.round(n / ((nowNs() - start) / 1e9));
  await settle(b, n, n);
  const cpu = await perCallCpu({ call: increment(small[0]!.client) }, { call: increment(large[0]!.client) }, calls.growthCalls, calls.rounds);
  const rawWarnings = await backToBack({ call: increment(large[0]!.client) }, calls.backToBack, warnings);
  const closeStart = nowNs();
  const all = [...small, ...large];
  await inPool(all.length, CONCURRENCY, (i) => closeRaw(all[i]!));
  const ms = Math.round((nowNs() - closeStart) / 1e6);
  return { createsPerSec, growth: round(cpu.b / cpu.a), warnings: rawWarnings, close: { ms, upstreamSessionsLeft: (await a.sessions()) + (await b.sessions()) } };
}

/** Runs the suite. Both servers are stopped whatever happens. */
export async function runReal({ quick, log }: SuiteOptions): Promise<RealResult> {
  // REAL_SESSIONS overrides N (for a machine whose fd limit or time budget needs fewer).
  const n = Number(process.env.REAL_SESSIONS ?? (quick ? 2_000 : 10_000));
  const calls = quick ? { growthCalls: 200, rounds: 6, backToBack: 10_000, rawBackToBack: 3_000 } : { growthCalls: 500, rounds: 12, backToBack: 10_000, rawBackToBack: 10_000 };
  const [a, b] = await Promise.all([startChildUpstream(), startChildUpstream()]);
  const warnings = collectWarnings();
  try {
    log(`  ${n.toLocaleString('en-US')} sessions; servers pid ${a.pid} (10 sessions) and ${b.pid} (N sessions)`);
    const streamPhase = await openLibrarySessions(a, b, n, {}, 'stream');
    log(`  library, event stream on: ${JSON.stringify(streamPhase.cost)}`);
    const cpu = await perCallCpu(streamPhase.small, streamPhase.large, calls.growthCalls, calls.rounds);
    log(`  per-call CPU µs with 10 / with N sessions to the origin: ${round(cpu.a, 1)} / ${round(cpu.b, 1)}`);
    const listenerWarnings = await backToBack(streamPhase.large, calls.backToBack, warnings);
    log(`  listener warnings in ${calls.backToBack} back-to-back calls: ${listenerWarnings}`);
    const closeAll = await closeLibrarySessions(streamPhase, a, b, n);
    log(`  closeAll: ${JSON.stringify(closeAll)}`);

    const raw = await rawPhase(a, b, n, { growthCalls: calls.growthCalls, rounds: calls.rounds, backToBack: calls.rawBackToBack }, warnings);
    log(`  raw SDK: ${JSON.stringify(raw)}`);

    const noStreamPhase = await openLibrarySessions(a, b, n, { eventStream: false }, 'nostream');
    log(`  library, eventStream false: ${JSON.stringify(noStreamPhase.cost)}`);
    const noStreamClose = await closeLibrarySessions(noStreamPhase, a, b, n);
    log(`  closeAll (eventStream false): ${JSON.stringify(noStreamClose)}`);

    return {
      sessions: n,
      createConcurrency: CONCURRENCY,
      ...streamPhase.cost,
      rawCreatesPerSec: raw.createsPerSec,
      createsVsRawSdk: round(streamPhase.cost.createsPerSec / raw.createsPerSec),
      noStream: noStreamPhase.cost,
      closeAll,
      rawClose: raw.close,
      perCallCpuUsWith10: round(cpu.a, 1),
      perCallCpuUsWithN: round(cpu.b, 1),
      perCallCpuGrowth: round(cpu.b / cpu.a),
      perCallCpuGrowthSessions: n,
      rawPerCallCpuGrowth: raw.growth,
      listenerWarnings,
      listenerWarningCalls: calls.backToBack,
      rawListenerWarnings: raw.warnings,
      rawListenerWarningCalls: calls.rawBackToBack,
      createRetries: retries.count,
    };
  } finally {
    warnings.stop();
    await Promise.all([a.stop(), b.stop()]);
  }
}
