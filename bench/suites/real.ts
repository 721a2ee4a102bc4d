/**
 * Real sessions at scale: N real SDK sessions through the registry and the default factory against a
 * loopback stateful counter server (in a child process), and the same N raw SDK clients in the same run.
 *
 * Two servers: origin A holds 10 sessions, origin B holds N. Per-call CPU is measured on a session of each,
 * sample by sample in turn, so `perCallCpuGrowth` (B ÷ A) shows what N open sessions to one origin cost a
 * call, with machine drift hitting both alike.
 *
 * Phases: (1) the library, event stream on: bulk creation rate of the N sessions (concurrency 64), heap / RSS /
 * sockets per session after GC, per-call CPU growth, listener warnings over back-to-back calls, `closeAll`
 * (time, sessions left, peak fds); (2) raw SDK clients: bulk creation rate, per-call growth, warnings, close;
 * (3) the library with `eventStream: false`: the same as (1) without calls; (4) creation rate, library vs raw
 * SDK, on the warm process and server: after warm-up rounds, ABBA rounds of one library and one raw batch of B
 * sessions (concurrency 64), one library factory throughout (its connection pools persist), each batch closed
 * and drained from the server before the next. `createsVsRawSdk` is the median per-round ratio; the A/A
 * control `createsAaRatio` (raw ÷ the raw batch of the round before) shows how noisy such a ratio is.
 *
 * A phase's socket baseline waits (bounded) until the socket count has held still longer than undici's 4 s
 * keep-alive; "sessions left" counts what a phase left (after − before), not earlier phases' leftovers.
 *
 * Needs about N + 200 file descriptors in this process and in the server's (`ulimit -n`; 10,000 sessions fit
 * the usual 20,000 limit), and stays far below the ~28,000 ephemeral ports of one source address.
 */
import { type Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type SessionFactory } from '../../src/factory.js';
import { type SessionLease } from '../../src/lease.js';
import { createMcpSessionFactory, type McpSessionFactoryOptions } from '../../src/mcp/v1/factory.js';
import { UpstreamSessionRegistry } from '../../src/registry.js';
import {
  abbaRounds,
  backToBack,
  closeRaw,
  collectWarnings,
  connectRaw,
  inPool,
  openFds,
  openSockets,
  perCallCpu,
  settle,
  startChildUpstream,
  timedBatch,
  waitForStableSockets,
  withRetries,
  type Caller,
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

/** Phase 4: creations per second at concurrency 64 in ABBA batches, library vs raw SDK. */
export interface CreationRates {
  batchSessions: number;
  /** Warm-up rounds run, not counted (see `WARMUP`). */
  warmupRounds: number;
  rounds: number;
  /** Library creations per second, per measured round. */
  libraryPerRound: number[];
  /** Raw SDK creations per second, per measured round. */
  rawPerRound: number[];
  /** Library ÷ raw, per measured round. */
  ratioPerRound: number[];
  /** A/A control: raw ÷ raw of the round before, per measured round after the first. */
  aaPerRound: number[];
  /** Sessions of a batch the server still held when its bounded drain ended, over all batches (0 expected). */
  sessionsLeft: number;
}

/** Results of the real-sessions suite. */
export interface RealResult {
  sessions: number;
  createConcurrency: number;
  heapPerSessionB: number;
  rssPerSessionB: number;
  socketsPerSession: number;
  /** Library creations per second: median of the batches of phase 4. */
  createsPerSec: number;
  /** Raw SDK creations per second: median of the batches of phase 4. */
  rawCreatesPerSec: number;
  /** Median of phase 4's per-round ratios, library ÷ raw SDK. */
  createsVsRawSdk: number;
  /** Median of phase 4's A/A ratios (raw ÷ raw): how far from 1 the same measurement lands. */
  createsAaRatio: number;
  /** Creation rate of phase 1's N sessions (cold process and server; not comparable with the raw rate). */
  bulkCreatesPerSec: number;
  /** Creation rate of phase 2's N raw SDK sessions. */
  rawBulkCreatesPerSec: number;
  createRates: CreationRates;
  noStream: PerSessionCost;
  closeAll: {
    ms: number;
    closeTimeoutMs: number;
    /** Sessions this phase left on the upstreams (count after closeAll − count before the phase, ≥ 0). */
    upstreamSessionsLeft: number;
    /** Sessions both upstreams hold after closeAll, earlier phases' leftovers included. */
    upstreamSessionsTotal: number;
    peakFds: number;
    /** Peak fds during closeAll ÷ N (before the fix: about 2, one socket for the stream and one for the DELETE). */
    peakFdsPerSession: number;
    fdsBefore: number;
    closeErrors: number;
    closeTimeouts: number;
  };
  rawClose: { ms: number; upstreamSessionsLeft: number; upstreamSessionsTotal: number };
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
/** Phase 4: warm-up rounds at least / at most, and the round-to-round change under which rates count as stable. */
const WARMUP = { min: 2, max: 4, tolerance: 0.15 } as const;
/** A phase's socket baseline waits this long without change: the idle pooled sockets of the phase before (hundreds
 * after the raw phase) all close about 4 s (undici's keep-alive) after their last request. */
const BASELINE_QUIET_MS = 4_500;

const increment = (client: Client) => (): Promise<unknown> => client.callTool({ name: 'increment', arguments: { by: 1 } });

function heapAndRss(): { heap: number; rss: number } {
  fullGc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heap: heapUsed, rss };
}

interface LibraryPhase {
  cost: PerSessionCost;
  small: Caller;
  large: Caller;
  leases: SessionLease<Client>[];
  registry: UpstreamSessionRegistry<Client>;
  /** Sessions both upstreams held before the phase opened any. */
  upstreamSessionsBefore: number;
}

/** Sessions both upstreams hold now. */
async function upstreamSessions(a: ChildUpstream, b: ChildUpstream): Promise<number> {
  return (await a.sessions()) + (await b.sessions());
}

/** Open sockets of this process once the count held still for `stableMs` (bounded, 10 s); logs when it did not. */
async function stableSockets(log: (message: string) => void, what: string, stableMs = 300): Promise<number> {
  const { sockets, stable, waitedMs } = await waitForStableSockets({ stableMs });
  if (!stable) log(`  (socket count still moving after ${waitedMs} ms, ${what})`);
  return sockets;
}

/** Opens 10 sessions on A and N on B through a registry; measures creation rate and per-session cost. */
async function openLibrarySessions(
  a: ChildUpstream,
  b: ChildUpstream,
  n: number,
  options: McpSessionFactoryOptions,
  tag: string,
  log: (message: string) => void,
): Promise<LibraryPhase> {
  const upstreamSessionsBefore = await upstreamSessions(a, b);
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
  // Sockets of earlier phases may still be closing: the baseline waits until the count holds still.
  await stableSockets(log, `${tag} baseline`, BASELINE_QUIET_MS);
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
  await stableSockets(log, `${tag} after`);
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
    upstreamSessionsBefore,
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
  const upstreamSessionsTotal = await upstreamSessions(a, b);
  return {
    ms: Math.round(ms),
    closeTimeoutMs: CLOSE_TIMEOUT_MS,
    upstreamSessionsLeft: Math.max(0, upstreamSessionsTotal - phase.upstreamSessionsBefore),
    upstreamSessionsTotal,
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
  const upstreamSessionsBefore = await upstreamSessions(a, b);
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
  const upstreamSessionsTotal = await upstreamSessions(a, b);
  const upstreamSessionsLeft = Math.max(0, upstreamSessionsTotal - upstreamSessionsBefore);
  return { createsPerSec, growth: round(cpu.b / cpu.a), warnings: rawWarnings, close: { ms, upstreamSessionsLeft, upstreamSessionsTotal } };
}

type BatchKind = 'library' | 'raw';

/** Phase 4's state: one server, one library factory for every library batch, and the batch size. */
interface RateBench {
  readonly server: ChildUpstream;
  readonly factory: SessionFactory<Client>;
  readonly size: number;
  batches: number;
  sessionsLeft: number;
}

/** Opens `bench.size` sessions at concurrency 64 and returns their closer; the caller times it. */
function openBatch(bench: RateBench, kind: BatchKind): Promise<() => Promise<unknown>> {
  const { server, size } = bench;
  const tag = `rate-${bench.batches++}`;
  if (kind === 'raw') {
    const sessions = new Array<RawSession>(size);
    return inPool(size, CONCURRENCY, async (i) => {
      sessions[i] = await withRetries(() => connectRaw(server.url, CLIENT_INFO), retries);
    }).then(() => () => inPool(size, CONCURRENCY, (i) => closeRaw(sessions[i]!)));
  }
  // A new registry per batch, the same factory (and so the same connection pools) for all.
  const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: bench.factory, maxSessions: size, closeTimeoutMs: CLOSE_TIMEOUT_MS, createTimeoutMs: 600_000 });
  return inPool(size, CONCURRENCY, async (i) => {
    const lease = await withRetries(() => registry.acquire({ downstreamSessionId: `${tag}-${i}`, upstreamId: 'rate', url: server.url }), retries);
    lease.release();
  }).then(() => () => registry.closeAll());
}

/** One timed batch of `kind` (see `timedBatch`); counts what the server still held of it. */
async function creationBatch(bench: RateBench, kind: BatchKind): Promise<number> {
  const { perSec, left } = await timedBatch(bench.server, bench.size, () => openBatch(bench, kind));
  bench.sessionsLeft += left;
  return perSec;
}

/** Phase 4: library vs raw SDK creation rate in ABBA rounds after warm-up (see the file's comment). */
async function creationRates(server: ChildUpstream, size: number, rounds: number, log: (message: string) => void): Promise<CreationRates> {
  const bench: RateBench = { server, factory: createMcpSessionFactory({ clientInfo: CLIENT_INFO }), size, batches: 0, sessionsLeft: 0 };
  const { warmupRounds, measured } = await abbaRounds((side) => creationBatch(bench, side === 'a' ? 'library' : 'raw'), rounds, WARMUP, (i, r) =>
    log(`  warm-up round ${i + 1}: library ${Math.round(r.a)}/s, raw ${Math.round(r.b)}/s`),
  );
  const library = measured.map((r) => r.a);
  const raw = measured.map((r) => r.b);
  return {
    batchSessions: size,
    warmupRounds,
    rounds,
    libraryPerRound: library.map(Math.round),
    rawPerRound: raw.map(Math.round),
    ratioPerRound: measured.map((r) => round(r.a / r.b)),
    aaPerRound: raw.slice(1).map((rate, i) => round(rate / raw[i]!)),
    sessionsLeft: bench.sessionsLeft,
  };
}

/** Runs the suite. Both servers are stopped whatever happens. */
export async function runReal({ quick, log }: SuiteOptions): Promise<RealResult> {
  // REAL_SESSIONS overrides N (for a machine whose fd limit or time budget needs fewer).
  const n = Number(process.env.REAL_SESSIONS ?? (quick ? 2_000 : 10_000));
  const calls = quick ? { growthCalls: 200, rounds: 6, backToBack: 10_000, rawBackToBack: 3_000 } : { growthCalls: 500, rounds: 12, backToBack: 10_000, rawBackToBack: 10_000 };
  // Many small rounds: the ratio of one round moves ±25 % on a 2-core machine (see the A/A control).
  const rates = quick ? { batch: 500, rounds: 4 } : { batch: 500, rounds: 14 };
  const [a, b] = await Promise.all([startChildUpstream(), startChildUpstream()]);
  const warnings = collectWarnings();
  try {
    log(`  ${n.toLocaleString('en-US')} sessions; servers pid ${a.pid} (10 sessions) and ${b.pid} (N sessions)`);
    const streamPhase = await openLibrarySessions(a, b, n, {}, 'stream', log);
    log(`  library, event stream on: ${JSON.stringify(streamPhase.cost)}`);
    const cpu = await perCallCpu(streamPhase.small, streamPhase.large, calls.growthCalls, calls.rounds);
    log(`  per-call CPU µs with 10 / with N sessions to the origin: ${round(cpu.a, 1)} / ${round(cpu.b, 1)}`);
    const listenerWarnings = await backToBack(streamPhase.large, calls.backToBack, warnings);
    log(`  listener warnings in ${calls.backToBack} back-to-back calls: ${listenerWarnings}`);
    const closeAll = await closeLibrarySessions(streamPhase, a, b, n);
    log(`  closeAll: ${JSON.stringify(closeAll)}`);

    const raw = await rawPhase(a, b, n, { growthCalls: calls.growthCalls, rounds: calls.rounds, backToBack: calls.rawBackToBack }, warnings);
    log(`  raw SDK: ${JSON.stringify(raw)}`);

    const noStreamPhase = await openLibrarySessions(a, b, n, { eventStream: false }, 'nostream', log);
    log(`  library, eventStream false: ${JSON.stringify(noStreamPhase.cost)}`);
    const noStreamClose = await closeLibrarySessions(noStreamPhase, a, b, n);
    log(`  closeAll (eventStream false): ${JSON.stringify(noStreamClose)}`);

    log(`  creation rate, ${rates.rounds} ABBA rounds of ${rates.batch} library + ${rates.batch} raw sessions after warm-up:`);
    const createRates = await creationRates(b, rates.batch, rates.rounds, log);
    log(`  creation rate: ${JSON.stringify(createRates)}`);

    return {
      sessions: n,
      createConcurrency: CONCURRENCY,
      ...streamPhase.cost,
      createsPerSec: Math.round(median(createRates.libraryPerRound)),
      rawCreatesPerSec: Math.round(median(createRates.rawPerRound)),
      createsVsRawSdk: round(median(createRates.ratioPerRound)),
      createsAaRatio: round(median(createRates.aaPerRound)),
      bulkCreatesPerSec: streamPhase.cost.createsPerSec,
      rawBulkCreatesPerSec: raw.createsPerSec,
      createRates,
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
