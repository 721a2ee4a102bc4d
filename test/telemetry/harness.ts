/**
 * Test harness for the telemetry suite: the real OpenTelemetry SDK (`sdk-metrics` with an in-memory exporter,
 * `sdk-trace-base` with `InMemorySpanExporter`, `context-async-hooks`) wired to an `instrumentRegistry` call,
 * plus helpers to read metric points and spans.
 */

import { context, type Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { instrumentRegistry, type InstrumentableRegistry, type RegistryInstrumentation } from '../../src/otel/index.js';

/** One data point of any metric, flattened. */
export interface Point {
  readonly attributes: Attributes;
  /** Sum or gauge value, or the histogram's count. */
  readonly value: number;
  /** Histograms only: the sum of recorded values. */
  readonly sum?: number;
}

/** An OTel SDK set up for one test. */
export interface Telemetry {
  readonly instrumentation: RegistryInstrumentation;
  readonly spans: InMemorySpanExporter;
  readonly tracerProvider: BasicTracerProvider;
  /** Collects now and returns every metric by name. */
  collect(): Promise<Map<string, MetricData>>;
  /** The points of one metric (empty when it was not reported). */
  points(name: string): Promise<Point[]>;
  /** Ended spans so far. */
  finished(): ReadableSpan[];
  shutdown(): Promise<void>;
}

let contextManager: AsyncLocalStorageContextManager | undefined;

/** Installs the AsyncLocalStorage context manager (once per test file). */
export function enableContext(): void {
  if (contextManager !== undefined) return;
  contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
}

/** Removes the global context manager. */
export function disableContext(): void {
  context.disable();
  contextManager = undefined;
}

/**
 * Instruments `registry` with a fresh meter and tracer provider.
 *
 * @param registry - What to instrument.
 * @param attributes - The `attributes` option.
 */
export function setupTelemetry(registry: InstrumentableRegistry, attributes?: Attributes): Telemetry {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // A huge interval: the test collects explicitly with forceFlush.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 2_147_483_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const instrumentation = instrumentRegistry(
    registry,
    attributes === undefined ? { meterProvider, tracerProvider } : { meterProvider, tracerProvider, attributes },
  );
  const collect = async (): Promise<Map<string, MetricData>> => {
    exporter.reset();
    await reader.forceFlush();
    const out = new Map<string, MetricData>();
    for (const resource of exporter.getMetrics()) {
      for (const scope of resource.scopeMetrics) for (const metric of scope.metrics) out.set(metric.descriptor.name, metric);
    }
    return out;
  };
  return {
    instrumentation,
    spans,
    tracerProvider,
    collect,
    async points(name) {
      const metric = (await collect()).get(name);
      if (metric === undefined) return [];
      return metric.dataPoints.map((point) => {
        const value = point.value as unknown;
        if (metric.dataPointType === DataPointType.HISTOGRAM) {
          const histogram = value as { count: number; sum?: number };
          return histogram.sum === undefined
            ? { attributes: point.attributes, value: histogram.count }
            : { attributes: point.attributes, value: histogram.count, sum: histogram.sum };
        }
        return { attributes: point.attributes, value: value as number };
      });
    },
    finished: () => spans.getFinishedSpans(),
    async shutdown() {
      instrumentation.dispose();
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}

/** The value of the one point whose attributes include `match` (0 when none; throws when several). */
export function valueOf(points: readonly Point[], match: Attributes): number {
  const found = points.filter((point) => Object.entries(match).every(([k, v]) => point.attributes[k] === v));
  if (found.length > 1) throw new Error(`${found.length} points match ${JSON.stringify(match)}`);
  return found[0]?.value ?? 0;
}

/** The sum of the values of every point whose attributes include `match`. */
export function totalOf(points: readonly Point[], match: Attributes = {}): number {
  return points
    .filter((point) => Object.entries(match).every(([k, v]) => point.attributes[k] === v))
    .reduce((sum, point) => sum + point.value, 0);
}
