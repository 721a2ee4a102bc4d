/**
 * `instrumentRegistry`: OpenTelemetry metrics and spans for one registry, built on `@opentelemetry/api`
 * only, fed by the registry's diagnostics channels (SPEC §10).
 *
 * @packageDocumentation
 */

import { tracingChannel, subscribe, unsubscribe } from 'node:diagnostics_channel';
import { metrics, trace, type Attributes, type MeterProvider, type TracerProvider } from '@opentelemetry/api';
import {
  DIAGNOSTICS_CHANNELS,
  type CreateDiagnosticsContext,
  type DiagnosticsSubject,
  type EvictDiagnosticsMessage,
  type ProbeDiagnosticsContext,
} from '../diagnostics.js';
import { InvalidOptionsError } from '../errors.js';
import { AttributeCache } from './attributes.js';
import { PoolMetrics, type SnapshotSource } from './metrics.js';
import { SessionSpans } from './spans.js';

/** The instrumentation scope name of every meter and tracer. */
export const INSTRUMENTATION_SCOPE = 'mcp-upstream-sessions';

/** Options of {@link instrumentRegistry}. */
export interface InstrumentRegistryOptions {
  /** Where the metrics go. @default the global meter provider (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider;
  /** Where the spans go. @default the global tracer provider (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider;
  /**
   * Added to every metric point and span (e.g. `{ 'deployment.environment.name': 'prod' }`). The library's own
   * attribute names win on a clash. Keep them low-cardinality.
   * @default {}
   */
  attributes?: Attributes;
}

/** What {@link instrumentRegistry} returns. */
export interface RegistryInstrumentation {
  /** Removes every channel subscriber and observable callback and ends open spans. Idempotent. */
  dispose(): void;
}

/** The registry as the instrumentation sees it: something with a snapshot, compared by identity. */
export type InstrumentableRegistry = SnapshotSource & object;

const KNOWN_OPTIONS: ReadonlySet<string> = new Set(['meterProvider', 'tracerProvider', 'attributes']);

function checkOptions(registry: unknown, options: unknown): InstrumentRegistryOptions {
  if (typeof registry !== 'object' || registry === null || typeof (registry as { snapshot?: unknown }).snapshot !== 'function') {
    throw new InvalidOptionsError('registry', 'Expected `registry` to be an UpstreamSessionRegistry');
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError('options', `Expected options to be an object, got ${options === null ? 'null' : typeof options}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN_OPTIONS.has(key)) throw new InvalidOptionsError(key, `Unknown option \`${key}\``);
  }
  if (o.meterProvider !== undefined && typeof (o.meterProvider as { getMeter?: unknown }).getMeter !== 'function') {
    throw new InvalidOptionsError('meterProvider', 'Expected `meterProvider` to have a getMeter() method');
  }
  if (o.tracerProvider !== undefined && typeof (o.tracerProvider as { getTracer?: unknown }).getTracer !== 'function') {
    throw new InvalidOptionsError('tracerProvider', 'Expected `tracerProvider` to have a getTracer() method');
  }
  if (o.attributes !== undefined && (typeof o.attributes !== 'object' || o.attributes === null || Array.isArray(o.attributes))) {
    throw new InvalidOptionsError('attributes', 'Expected `attributes` to be an object of attribute values');
  }
  return o;
}

/**
 * Records OpenTelemetry metrics and spans for `registry` (SPEC §10):
 * `mcp.client.session.duration`, `mcp_upstream.sessions`, `mcp_upstream.session.creates`,
 * `mcp_upstream.session.reuses`, `mcp_upstream.session.evictions`, `mcp_upstream.probe.duration`,
 * `mcp_upstream.session.create.duration` (durations in seconds), and spans `mcp_upstream.session.create` /
 * `mcp_upstream.session.probe` parented to the context active around the `acquire` that triggered them.
 * Attributes never include downstream session ids or URL paths (only `server.address` and `server.port`).
 *
 * Subscribes to the registry's diagnostics channels (scoped to this registry); the reuse fast path records
 * nothing (reuses and the sessions gauge are read from `snapshot()` when the metrics are collected).
 *
 * @param registry - The registry to instrument.
 * @param options - See {@link InstrumentRegistryOptions}.
 * @returns A handle whose `dispose()` stops all recording.
 * @throws {@link InvalidOptionsError} for an unknown option or a value of the wrong shape.
 * @example
 * ```ts
 * import { instrumentRegistry } from 'mcp-upstream-sessions/otel';
 * const instrumentation = instrumentRegistry(registry, { attributes: { 'service.namespace': 'gateway' } });
 * // … on shutdown:
 * instrumentation.dispose();
 * ```
 */
export function instrumentRegistry(registry: InstrumentableRegistry, options: InstrumentRegistryOptions = {}): RegistryInstrumentation {
  const checked = checkOptions(registry, options);
  const meterProvider = checked.meterProvider ?? metrics.getMeterProvider();
  const tracerProvider = checked.tracerProvider ?? trace.getTracerProvider();
  const attributes = new AttributeCache({ ...checked.attributes });
  const poolMetrics = new PoolMetrics(meterProvider.getMeter(INSTRUMENTATION_SCOPE), attributes, registry);
  const spans = new SessionSpans(tracerProvider.getTracer(INSTRUMENTATION_SCOPE), attributes);
  // A throwing channel subscriber would surface as an uncaught exception in the publishing process: never throw.
  const ours = (ctx: object): boolean => (ctx as DiagnosticsSubject).registry === registry;
  const guarded =
    <T extends object>(fn: (ctx: T) => void) =>
    (ctx: T): void => {
      try {
        if (ours(ctx)) fn(ctx);
      } catch {
        // Telemetry is best-effort; the registry's behaviour never depends on it.
      }
    };

  const create = tracingChannel<string, CreateDiagnosticsContext>(DIAGNOSTICS_CHANNELS.create);
  const createSubscribers = {
    start: guarded((ctx: CreateDiagnosticsContext) => spans.createStarted(ctx)),
    end: () => undefined,
    asyncStart: () => undefined,
    asyncEnd: guarded((ctx: CreateDiagnosticsContext) => {
      spans.createSettled(ctx);
      poolMetrics.created(ctx);
    }),
    error: () => undefined,
  };
  const probe = tracingChannel<string, ProbeDiagnosticsContext>(DIAGNOSTICS_CHANNELS.probe);
  const probeSubscribers = {
    start: guarded((ctx: ProbeDiagnosticsContext) => spans.probeStarted(ctx)),
    end: () => undefined,
    asyncStart: () => undefined,
    asyncEnd: guarded((ctx: ProbeDiagnosticsContext) => {
      spans.probeSettled(ctx);
      poolMetrics.probed(ctx);
    }),
    error: () => undefined,
  };
  const onEvictMessage = guarded((message: EvictDiagnosticsMessage) => poolMetrics.evicted(message));
  const onEvict = (message: unknown): void => {
    if (typeof message === 'object' && message !== null) onEvictMessage(message as EvictDiagnosticsMessage);
  };
  create.subscribe(createSubscribers);
  probe.subscribe(probeSubscribers);
  subscribe(DIAGNOSTICS_CHANNELS.evict, onEvict);

  let disposed = false;
  return {
    dispose(): void {
      if (disposed) return;
      disposed = true;
      create.unsubscribe(createSubscribers);
      probe.unsubscribe(probeSubscribers);
      unsubscribe(DIAGNOSTICS_CHANNELS.evict, onEvict);
      poolMetrics.dispose();
      spans.dispose();
      attributes.clear();
    },
  };
}
