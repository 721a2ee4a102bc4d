/** The soak report (also written as JSON with `--json`) and its human-readable summary. */
import { type RegistryCounters, type RegistrySnapshot } from '../src/index.js';
import { type ChaosCounts } from './load.js';
import { MIN_SAMPLES_PER_QUARTER, type HeapReport, type HeapSample, type QuarterGrowth } from './heap.js';
import { type LogCount } from './log-tally.js';
import { type UpstreamStats } from './protocol.js';

/** Everything a soak run measured, and its verdict. */
export interface SoakReport {
  seed: number;
  seconds: number;
  requestBudget: number;
  /** How long the load ran, in ms. */
  durationMs: number;
  /** Which bound ended the load: the time or the request budget. */
  endedBy: 'time' | 'budget';
  requests: number;
  ok: number;
  /** Failed requests by category (see soak/errors.ts). */
  errors: Record<string, number>;
  /** The first error of each category, described on one line. */
  errorExamples: Record<string, string>;
  unexpectedErrors: number;
  unexpectedSamples: string[];
  chaos: ChaosCounts;
  /** Each upstream's own account, read after `closeAll` (`liveSessions` is what it still holds). */
  upstreams: (UpstreamStats & { id: string })[];
  registry: {
    /** Counters just before `closeAll`. */
    counters: RegistryCounters;
    /** Evictions by reason, `close-all` included. */
    evictionsByReason: RegistrySnapshot['evictionsByReason'];
    closeAllMs: number;
    /** How long the upstreams took, after `closeAll`, to hold no session (bounded by the settle window). */
    settleMs: number;
    /** Sessions, creations, leases and drains the registry still held after `closeAll` (must be 0). */
    residueAfterCloseAll: number;
    /** The registry's warnings by message. */
    warnings: Record<string, LogCount>;
    /** The registry's error-level logs by message (must be none). */
    errors: Record<string, LogCount>;
  };
  /** Sessions the upstreams still held after `closeAll` and the settle window (must be 0). */
  sessionsLeaked: number;
  /** Requests that reached an upstream session made for another key (must be 0). */
  bindingViolations: number;
  heap: HeapReport & {
    /** The figure the limit applies to. */
    gated: 'data' | 'heapUsed';
    limit: number;
    series: readonly HeapSample[];
  };
  crashes: string[];
  failures: string[];
  passed: boolean;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** The human-readable summary of a report. */
export function formatReport(report: SoakReport): string {
  const lines: string[] = [];
  const seconds = report.durationMs / 1_000;
  const failed = report.requests - report.ok;
  lines.push('', `soak summary (seed ${report.seed})`);
  lines.push(
    `  requests         ${count(report.requests)} in ${seconds.toFixed(1)} s (${count(Math.round(report.requests / seconds))}/s, ` +
      `ended by the ${report.endedBy === 'time' ? 'time bound' : 'request budget'}); ` +
      `${count(report.ok)} ok, ${count(failed)} failed (${((failed / Math.max(1, report.requests)) * 100).toFixed(1)} %)`,
  );
  const errors = Object.entries(report.errors);
  lines.push(`  errors           ${errors.length === 0 ? 'none' : errors.map(([category, n]) => `${category} ${count(n)}`).join(', ')}`);
  if (report.unexpectedErrors > 0) {
    lines.push(`  unexpected       ${report.unexpectedErrors}`);
    for (const sample of report.unexpectedSamples) lines.push(`                   ${sample}`);
  }
  const c = report.chaos;
  lines.push(
    `  chaos            restarts ${c.restarts}, slow windows ${c.slowWindows}, expiries ${c.expiries}, ` +
      `evictSession ${c.evictSession}, evict ${c.evict}, evictUpstream ${c.evictUpstream}`,
  );
  const counters = report.registry.counters;
  lines.push(
    `  registry         creates ${count(counters.creates)}, reuses ${count(counters.reuses)}, create failures ${count(counters.createFailures)}, ` +
      `probes ${count(counters.probes)} (${count(counters.probeFailures)} failed), close errors ${counters.closeErrors}, ` +
      `close timeouts ${counters.closeTimeouts}`,
  );
  const evictions = Object.entries(report.registry.evictionsByReason).filter(([, n]) => n > 0);
  const logs = (entries: Record<string, LogCount>): string =>
    Object.entries(entries)
      .map(([message, entry]) => `${message} ${count(entry.count)}`)
      .join(', ') || 'none';
  lines.push(`  registry warns   ${logs(report.registry.warnings)}`);
  if (Object.keys(report.registry.errors).length > 0) {
    lines.push(`  registry errors  ${logs(report.registry.errors)}`);
    for (const entry of Object.values(report.registry.errors)) for (const example of entry.examples) lines.push(`                   ${example}`);
  }
  lines.push(`  evictions        ${evictions.map(([reason, n]) => `${reason} ${count(n)}`).join(', ') || 'none'}`);
  lines.push(
    `  upstreams        ${report.upstreams
      .map((u) => `${u.id}: ${count(u.sessionsCreated)} sessions, ${u.restarts} restarts, ${count(u.delayedRequests)} delayed`)
      .join('; ')}`,
  );
  lines.push(
    `  closeAll         ${report.registry.closeAllMs.toFixed(0)} ms, registry residue ${report.registry.residueAfterCloseAll}; ` +
      `upstreams empty ${report.registry.settleMs.toFixed(0)} ms later`,
  );
  lines.push(`  sessions leaked  ${report.sessionsLeaked}   (upstream sessions still open after closeAll; must be 0)`);
  lines.push(`  key binding      ${report.bindingViolations} violations (must be 0)`);
  const { heap } = report;
  const line = (label: string, figure: QuarterGrowth, note: string): string =>
    `  ${label.padEnd(16)} ${(figure.growth * 100).toFixed(1).padStart(5)} %  (median ${mb(figure.firstQuarterMedian)} → ` +
    `${mb(figure.lastQuarterMedian)}; ${note})`;
  if (heap.data === null || heap.heapUsed === null) {
    lines.push(
      `  heap growth      not measured: ${heap.samples} samples after warm-up ` +
        `(needs ${4 * MIN_SAMPLES_PER_QUARTER}; run longer)`,
    );
  } else {
    const gatedNote = (figure: 'heapUsed' | 'data'): string => (heap.gated === figure ? `limit ${heap.limit * 100} %` : 'not gated');
    lines.push(line('heap growth', heap.heapUsed, `heapUsed, ${heap.perQuarter} of ${heap.samples} samples per quarter; ${gatedNote('heapUsed')}`));
    lines.push(line('', heap.data, `without V8 compiled code and bytecode; ${gatedNote('data')}`));
  }
  for (const crash of report.crashes) lines.push(`  crash            ${crash}`);
  lines.push('', report.passed ? 'PASS' : `FAIL: ${report.failures.join('; ')}`);
  return lines.join('\n');
}
