/**
 * Soak run: `npm run soak -- [--seconds N] [--requests N] [--json <path>] [--seed N]`.
 *
 * Real MCP SDK counter upstreams on 127.0.0.1 (each in its own child process, so the heap figure is the
 * gateway's), one `UpstreamSessionRegistry` with the default MCP factory and
 * small timeouts, several downstream sessions per upstream, random upstream restarts, slow responses,
 * server-side expiries and evictions, for N seconds or a request budget. Then `closeAll()`, and the verdict:
 * - sessions leaked: sessions the upstreams still hold after `closeAll` (given a bounded moment for the
 *   last DELETEs to land) — must be 0;
 * - heap growth between the first and last quarter of the run (medians of post-GC samples) — under 10 %;
 * - no crash: no uncaught exception, no unhandled rejection, no hung request, no unexpected error;
 * - no upstream session ever served two keys (checked by the upstreams from a per-key header).
 * Prints a summary, optionally writes JSON, and exits non-zero when a check fails. Closes every server and
 * socket, so the process exits by itself.
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createMcpSessionFactory, UpstreamSessionRegistry, type RegistrySnapshot } from '../src/index.js';
import { parseArgs, USAGE, type SoakArgs } from './args.js';
import { describe } from './errors.js';
import { exposedGc, HeapSampler } from './heap.js';
import { Load } from './load.js';
import { LogTally } from './log-tally.js';
import { Random } from './random.js';
import { formatReport, type SoakReport } from './report.js';
import { RemoteUpstream } from './remote-upstream.js';

const UPSTREAMS = ['alpha', 'beta', 'gamma'] as const;
const DOWNSTREAM_SESSIONS = 8;
const CONCURRENCY = 16;
const CALL_TIMEOUT_MS = 800;
/** Longer than `createTimeoutMs`, `probeTimeoutMs` and the call timeout, so slow windows trip all three. */
const MAX_SLOW_DELAY_MS = 1_500;
const HEAP_GROWTH_LIMIT = 0.1;
/** Which heap figure the limit applies to (see soak/heap.ts). */
const HEAP_GATED = 'heapUsed' as const;
/**
 * After `closeAll`, how long the upstreams get to see the last DELETEs. A creation abandoned while its
 * `initialize` was delayed waits for that response (at most {@link MAX_SLOW_DELAY_MS} here) before it
 * terminates the session, so this covers that plus the close bound.
 */
const LEAK_SETTLE_MS = 6_000;
/** If the process is still alive this long after the report, something holds it open: say what, and exit. */
const EXIT_WATCHDOG_MS = 10_000;

const REGISTRY_OPTIONS = {
  idleValidationMs: 50,
  probeTimeoutMs: 250,
  createTimeoutMs: 1_000,
  closeTimeoutMs: 500,
  idleTtlMs: 2_000,
  circuitBreaker: { failureThreshold: 3, resetMs: 250 },
} as const;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Waits (bounded) until the upstreams hold no session; returns what they still hold. */
async function settledLiveSessions(upstreams: readonly RemoteUpstream[]): Promise<number> {
  const live = async (): Promise<number> => {
    const stats = await Promise.all(upstreams.map((upstream) => upstream.refreshStats()));
    return stats.reduce((sum, s) => sum + s.liveSessions, 0);
  };
  const deadline = performance.now() + LEAK_SETTLE_MS;
  let count = await live();
  while (count > 0 && performance.now() < deadline) {
    await sleep(50);
    count = await live();
  }
  return count;
}

/** Whether the registry holds anything after `closeAll` (it must not). */
function residue(snapshot: RegistrySnapshot): number {
  return snapshot.sessions + snapshot.pending + snapshot.inFlight + snapshot.draining + snapshot.entries.length;
}

async function soak(args: SoakArgs, crashes: string[]): Promise<SoakReport> {
  const gc = exposedGc();
  const random = new Random(args.seed);
  const heap = new HeapSampler(gc);
  const upstreams: RemoteUpstream[] = [];
  const durationMs = args.seconds * 1_000;
  console.log(
    `soak: ${UPSTREAMS.length} upstreams × ${DOWNSTREAM_SESSIONS} downstream sessions, concurrency ${CONCURRENCY}, ` +
      `${args.seconds} s or ${args.requests} requests, seed ${args.seed}`,
  );
  try {
    const started = await Promise.allSettled(UPSTREAMS.map((id, i) => RemoteUpstream.start(id, args.seed + i + 1)));
    for (const result of started) if (result.status === 'fulfilled') upstreams.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const log = new LogTally();
    const registry = new UpstreamSessionRegistry({ sessionFactory: createMcpSessionFactory(), logger: log, ...REGISTRY_OPTIONS });
    const load = new Load({
      registry,
      upstreams,
      random,
      heap,
      durationMs,
      requests: args.requests,
      downstreamSessions: DOWNSTREAM_SESSIONS,
      concurrency: CONCURRENCY,
      callTimeoutMs: CALL_TIMEOUT_MS,
      maxSlowDelayMs: MAX_SLOW_DELAY_MS,
      progressEveryMs: 5_000,
      progress: (elapsedMs) => {
        const last = heap.samples.at(-1);
        console.log(
          `  ${(elapsedMs / 1_000).toFixed(0).padStart(4)} s  requests ${load.requests}  errors ${load.errors.total}  ` +
            `sessions ${registry.size}  restarts ${load.chaos.restarts}` +
            (last === undefined ? '' : `  heap ${mb(last.heapUsed)}`),
        );
      },
    });

    let loadError: unknown;
    try {
      await load.run();
    } catch (error) {
      loadError = error;
    }
    const before = registry.snapshot();
    const closeStartedAt = performance.now();
    await registry.closeAll();
    const closeAllMs = performance.now() - closeStartedAt;
    const after = registry.snapshot();
    const settleStartedAt = performance.now();
    const leaked = await settledLiveSessions(upstreams);
    const settleMs = performance.now() - settleStartedAt;
    if (loadError !== undefined) crashes.push(`load: ${describe(loadError)}`);
    if (load.hung) crashes.push('requests still in flight 15 s after the load stopped');
    for (const upstream of upstreams) if (upstream.crash !== undefined) crashes.push(upstream.crash);

    return {
      seed: args.seed,
      seconds: args.seconds,
      requestBudget: args.requests,
      durationMs: load.elapsedMs,
      endedBy: load.endedBy,
      requests: load.requests,
      ok: load.ok,
      errors: Object.fromEntries(load.errors.sorted()),
      errorExamples: Object.fromEntries(load.errors.examples),
      unexpectedErrors: load.errors.unexpected,
      unexpectedSamples: load.errors.unexpectedSamples,
      chaos: { ...load.chaos },
      upstreams: upstreams.map((upstream) => ({ id: upstream.id, ...upstream.stats })),
      registry: {
        counters: before.counters,
        evictionsByReason: after.evictionsByReason,
        closeAllMs,
        settleMs,
        residueAfterCloseAll: residue(after),
        warnings: Object.fromEntries(log.warnings),
        errors: Object.fromEntries(log.errors),
      },
      sessionsLeaked: leaked,
      bindingViolations: upstreams.reduce((sum, upstream) => sum + upstream.stats.bindingViolations, 0),
      heap: { ...heap.report(), gated: HEAP_GATED, limit: HEAP_GROWTH_LIMIT, series: heap.samples },
      crashes,
      failures: [],
      passed: false,
    };
  } finally {
    await Promise.all(upstreams.map((upstream) => upstream.close()));
  }
}

/** The failed checks of a report (empty when it passes). */
function verdict(report: SoakReport): string[] {
  const failures: string[] = [];
  if (report.sessionsLeaked > 0) failures.push(`${report.sessionsLeaked} upstream session(s) leaked after closeAll`);
  if (report.registry.residueAfterCloseAll > 0) failures.push('the registry still holds sessions after closeAll');
  const gated = report.heap[report.heap.gated];
  if (gated !== null && gated.growth >= HEAP_GROWTH_LIMIT) {
    failures.push(`heap grew ${(gated.growth * 100).toFixed(1)} % (limit ${HEAP_GROWTH_LIMIT * 100} %)`);
  }
  if (report.bindingViolations > 0) failures.push(`${report.bindingViolations} request(s) reached another key's upstream session`);
  if (report.unexpectedErrors > 0) failures.push(`${report.unexpectedErrors} unexpected error(s)`);
  const logged = Object.values(report.registry.errors).reduce((sum, entry) => sum + entry.count, 0);
  if (logged > 0) failures.push(`the registry logged ${logged} error(s)`);
  if (report.crashes.length > 0) failures.push(`crashed: ${report.crashes.length} uncaught failure(s)`);
  return failures;
}

function exitWatchdog(): void {
  const timer = setTimeout(() => {
    console.error(`soak: the process did not exit by itself; still open: ${process.getActiveResourcesInfo().join(', ')}`);
    process.exit(1);
  }, EXIT_WATCHDOG_MS);
  timer.unref();
}

async function main(): Promise<void> {
  let args: SoakArgs | 'help';
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 2;
    return;
  }
  if (args === 'help') {
    console.log(USAGE);
    return;
  }
  const crashes: string[] = [];
  const crashed = (what: string): void => {
    crashes.push(what);
    console.error(`soak: ${what}`);
    process.exitCode = 1;
  };
  process.on('uncaughtException', (error) => crashed(`uncaught exception: ${describe(error)}`));
  process.on('unhandledRejection', (reason) => crashed(`unhandled rejection: ${describe(reason)}`));

  let report: SoakReport;
  try {
    report = await soak(args, crashes);
  } catch (error) {
    console.error(`soak: crashed: ${describe(error)}`);
    process.exitCode = 1;
    exitWatchdog();
    return;
  }
  report.failures = verdict(report);
  report.passed = report.failures.length === 0;
  console.log(formatReport(report));
  if (args.json !== undefined) writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
  // A crash after the report (while closing down) still fails the run.
  process.exitCode = report.passed && crashes.length === 0 ? 0 : 1;
  exitWatchdog();
}

await main();
