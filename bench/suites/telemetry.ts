/**
 * Telemetry overhead (issue #14): one registry instance, one process, samples interleaved round by round, so
 * the contenders differ only in what is measured (two copies of identical code measured up to 30 % apart on
 * this machine, so a comparison across copies could not resolve a 2 % target):
 *
 * - `noSubscribersOverhead`: the hit path (acquire + release on 10,000 warm keys) with the diagnostics channels
 *   on and no subscriber, against the same registry with publishing switched off (`setPublishing(false)`:
 *   every helper returns before it reads `hasSubscribers`, i.e. a build without channels). The hit path
 *   publishes nothing by design; this target fails if channel work ever lands on it.
 * - `hitPathOverhead`: the hit path with `instrumentRegistry` on (the real OpenTelemetry SDK: a metric reader
 *   and a span processor with no-op exporters; no context manager, which is the host's cost, not ours),
 *   against the same registry uninstrumented (instrumented before, disposed after each of its samples).
 * - An A/A pair (the same contender twice) shows the noise floor.
 * - Churn (acquire a fresh session, release, evict: one creation, eviction and close per op, with an
 *   in-memory factory, so the library's bookkeeping is all there is to measure) for both comparisons.
 * - `collectMs`: one metrics collection over 10,000 live sessions (the sessions gauge and reuses are read
 *   from `snapshot()`), once per export interval (60 s by default in the SDK).
 *
 * Overheads are ratios of CPU time per op at the 10th percentile of the rounds (>1 = slower): interference
 * only ever adds time, so the low end is the steadiest estimate of the code's own cost.
 */
import { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { setPublishing } from '../../src/diagnostics.js';
import { instrumentRegistry, type RegistryInstrumentation } from '../../src/otel/index.js';
import { warmContenders, type Contenders } from '../lib/telemetry-contenders.js';
import { median, minorGc, nowNs, percentile, round } from '../lib/stats.js';
import { type SuiteOptions } from './types.js';

/** Results of the telemetry suite. */
export interface TelemetryResult {
  /** Hit path instrumented ÷ uninstrumented (target ≤ 1.10). */
  hitPathOverhead: number;
  /** Hit path with channels and no subscriber ÷ publishing off (target ≤ 1.02). */
  noSubscribersOverhead: number;
  /** Hit path, the same contender twice (A/A: the noise floor). */
  aaControl: number;
  /** Churn (create + evict + close): channels and no subscriber ÷ publishing off. */
  churnNoSubscribersOverhead: number;
  /** Churn: instrumented (three histogram records and two spans per op) ÷ uninstrumented. */
  churnInstrumentedOverhead: number;
  noChannelsOpsPerSec: number;
  noSubscribersOpsPerSec: number;
  instrumentedOpsPerSec: number;
  churnNoChannelsOpsPerSec: number;
  churnInstrumentedOpsPerSec: number;
  /** One metrics collection over 10,000 live sessions, median ms. */
  collectMs: number;
  keys: number;
  samples: number;
}

const KEYS = 10_000;
const CHURN_KEYS = 1_000;

/** One timed sample: `before` and `after` run untimed around it (switching the contender's mode). */
interface Contender {
  readonly before?: () => void;
  readonly run: (ops: number) => Promise<void>;
  readonly after?: () => void;
}

interface Race {
  /** ops/s by wall time, per contender. */
  readonly opsPerSec: Record<string, number[]>;
  /** CPU seconds per op, per contender. */
  readonly cpuPerOp: Record<string, number[]>;
}

const noopMetricExporter: PushMetricExporter = {
  export: (_metrics, done) => done({ code: 0 }),
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
  selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
};
const noopSpanExporter: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: () => Promise.resolve(),
};

/** Runs every contender once per round (rotating the order), after `warmup` untimed rounds. */
async function race(contenders: Record<string, Contender>, ops: number, warmup: number, rounds: number): Promise<Race> {
  const names = Object.keys(contenders);
  const opsPerSec: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  const cpuPerOp: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let r = 0; r < warmup + rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length]!;
      const contender = contenders[name]!;
      contender.before?.();
      minorGc();
      const cpuStart = process.cpuUsage();
      const start = nowNs();
      await contender.run(ops);
      const seconds = (nowNs() - start) / 1e9;
      const cpu = process.cpuUsage(cpuStart);
      contender.after?.();
      if (r >= warmup) {
        opsPerSec[name]!.push(ops / seconds);
        cpuPerOp[name]!.push((cpu.user + cpu.system) / 1e6 / ops);
      }
    }
  }
  return { opsPerSec, cpuPerOp };
}

/** Subject's CPU time per op ÷ baseline's, each at its 10th percentile over the rounds. */
function overhead({ cpuPerOp }: Race, subject: string, baseline: string): number {
  return round(percentile(cpuPerOp[subject]!, 10) / percentile(cpuPerOp[baseline]!, 10));
}

function opsPerSec({ opsPerSec: samples }: Race, name: string): number {
  return Math.round(median(samples[name]!));
}

/** Runs the suite. */
export async function runTelemetry({ quick, log }: SuiteOptions): Promise<TelemetryResult> {
  const hitOps = 5_000;
  const churnOps = 250;
  const warmup = quick ? 10 : 20;
  const rounds = quick ? 60 : 300;
  const churnRounds = quick ? 20 : 80;

  const subject: Contenders = await warmContenders('bench', KEYS, CHURN_KEYS);
  for (let i = 0; i < KEYS; i++) await subject.warm(i);
  if (subject.registry.size !== KEYS) throw new Error(`expected ${KEYS} warm sessions, got ${subject.registry.size}`);

  const off = (run: (ops: number) => Promise<void>): Contender => ({
    before: () => setPublishing(false),
    run,
    after: () => setPublishing(true),
  });
  log('  no subscriber vs publishing off (and an A/A pair)');
  const noSubscribers = await race(
    { noChannels: off(subject.hit), channels: { run: subject.hit }, channelsAgain: { run: subject.hit } },
    hitOps,
    warmup,
    rounds,
  );
  const churnNoSubscribers = await race({ noChannels: off(subject.churn), channels: { run: subject.churn } }, churnOps, 3, churnRounds);

  log('  instrumented vs uninstrumented');
  const reader = new PeriodicExportingMetricReader({ exporter: noopMetricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(noopSpanExporter)] });
  let instrumentation: RegistryInstrumentation | undefined;
  const instrumented = (run: (ops: number) => Promise<void>): Contender => ({
    before: () => {
      instrumentation = instrumentRegistry(subject.registry, { meterProvider, tracerProvider });
    },
    run,
    after: () => instrumentation?.dispose(),
  });
  const withOtel = await race({ plain: { run: subject.hit }, instrumented: instrumented(subject.hit) }, hitOps, warmup, rounds);
  const churnWithOtel = await race({ plain: { run: subject.churn }, instrumented: instrumented(subject.churn) }, churnOps, 3, churnRounds);

  instrumentation = instrumentRegistry(subject.registry, { meterProvider, tracerProvider });
  const collects: number[] = [];
  for (let i = 0; i < (quick ? 5 : 20); i++) {
    const start = nowNs();
    await reader.forceFlush();
    collects.push((nowNs() - start) / 1e6);
  }
  instrumentation.dispose();
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
  await subject.registry.closeAll();

  return {
    hitPathOverhead: overhead(withOtel, 'instrumented', 'plain'),
    noSubscribersOverhead: overhead(noSubscribers, 'channels', 'noChannels'),
    aaControl: overhead(noSubscribers, 'channelsAgain', 'channels'),
    churnNoSubscribersOverhead: overhead(churnNoSubscribers, 'channels', 'noChannels'),
    churnInstrumentedOverhead: overhead(churnWithOtel, 'instrumented', 'plain'),
    noChannelsOpsPerSec: opsPerSec(noSubscribers, 'noChannels'),
    noSubscribersOpsPerSec: opsPerSec(noSubscribers, 'channels'),
    instrumentedOpsPerSec: opsPerSec(withOtel, 'instrumented'),
    churnNoChannelsOpsPerSec: opsPerSec(churnNoSubscribers, 'noChannels'),
    churnInstrumentedOpsPerSec: opsPerSec(churnWithOtel, 'instrumented'),
    collectMs: round(median(collects)),
    keys: KEYS,
    samples: rounds,
  };
}
