/**
 * The pool's OpenTelemetry metrics (SPEC §10), recorded from the registry's diagnostics channels and
 * observed from `registry.snapshot()` at collection time.
 *
 * The reuse fast path records nothing: reuses are counted by an observable counter that adds, per attribute
 * set, each live session's reuses (`useCount - 1`) to those of the sessions already evicted — so an
 * instrumented hit path costs what a plain one does. Creations and evictions are counted in local tallies
 * that observable counters report (the SDK hashes the attributes of every synchronous `add`, which would
 * double the cost of an in-process create/evict cycle); only the three histograms record per event.
 *
 * @packageDocumentation
 */

import {
  type BatchObservableCallback,
  type Histogram,
  type Meter,
  type Observable,
  type ObservableCounter,
  type ObservableGauge,
} from '@opentelemetry/api';
import {
  type CreateDiagnosticsContext,
  type EvictDiagnosticsMessage,
  type ProbeDiagnosticsContext,
} from '../diagnostics.js';
import { type EvictReason, type SessionInfo } from '../types.js';
import { ATTR, type AttributeCache, type CommonAttributes } from './attributes.js';

/** The metric names the instrumentation creates. */
export const METRIC_NAMES = Object.freeze({
  sessionDuration: 'mcp.client.session.duration',
  sessions: 'mcp_upstream.sessions',
  creates: 'mcp_upstream.session.creates',
  reuses: 'mcp_upstream.session.reuses',
  evictions: 'mcp_upstream.session.evictions',
  probeDuration: 'mcp_upstream.probe.duration',
  createDuration: 'mcp_upstream.session.create.duration',
} as const);

/** Eviction reasons that mean the session failed; they become `error.type` of `mcp.client.session.duration`. */
const FAILURE_REASONS: ReadonlySet<EvictReason> = new Set<EvictReason>(['probe-failed', 'transport-closed', 'transport-error']);

/** Buckets for creations and probes, in seconds (up to the default 30 s create timeout). */
const OPERATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30];
/** Buckets for session lifetimes, in seconds: the MCP semantic conventions' advice, then up to a day. */
const SESSION_BUCKETS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 86400];

/** What the metrics read at collection time (the registry). */
export interface SnapshotSource {
  snapshot(): { readonly entries: readonly SessionInfo[] };
}

/** Sessions of one gauge attribute set, by state. */
interface GaugeGroup {
  readonly common: CommonAttributes;
  ready: number;
  creating: number;
  draining: number;
}

/** A count for one attribute set (reuses, creations or evictions). */
interface CountGroup {
  readonly common: CommonAttributes;
  reuses: number;
}

/** Adds `n` to the count of one attribute set. */
function tally(counts: Map<string, CountGroup>, set: CommonAttributes, n: number): void {
  const kept = counts.get(set.id);
  if (kept === undefined) counts.set(set.id, { common: set, reuses: n });
  else kept.reuses += n;
}

/**
 * Creates the instruments on `meter` and records into them. One instance per instrumented registry.
 *
 * @example
 * ```ts
 * import { AttributeCache } from './attributes.js';
 * declare const ctx: CreateDiagnosticsContext;
 * const meter = meterProvider.getMeter('mcp-upstream-sessions');
 * const metrics = new PoolMetrics(meter, new AttributeCache({}), registry);
 * metrics.created(ctx); // from the create channel's asyncEnd
 * metrics.dispose();
 * ```
 */
export class PoolMetrics {
  readonly #attributes: AttributeCache;
  readonly #source: SnapshotSource;
  readonly #meter: Meter;
  readonly #sessionDuration: Histogram;
  readonly #creates: ObservableCounter;
  readonly #evictions: ObservableCounter;
  readonly #probeDuration: Histogram;
  readonly #createDuration: Histogram;
  readonly #sessions: ObservableGauge;
  readonly #reuses: ObservableCounter;
  /** Reuses of evicted sessions, per attribute set (live sessions are read from the snapshot). */
  readonly #evictedReuses = new Map<string, CountGroup>();
  /**
   * Gauge attribute sets last reported with sessions. The SDK keeps reporting an observed set's last value, so
   * a set whose sessions are gone is observed once more, at 0, then forgotten here.
   */
  readonly #gaugeSets = new Map<string, CommonAttributes>();
  /** Creations and evictions so far, by attribute set (reported by observable counters: no SDK call per event). */
  readonly #createTally = new Map<string, CountGroup>();
  readonly #evictionTally = new Map<string, CountGroup>();
  readonly #observe: BatchObservableCallback;
  #disposed = false;

  /**
   * @param meter - Where the instruments are created.
   * @param attributes - The common-attribute cache (carries the host's `attributes`).
   * @param source - The registry, read by the observable instruments.
   */
  constructor(meter: Meter, attributes: AttributeCache, source: SnapshotSource) {
    this.#meter = meter;
    this.#attributes = attributes;
    this.#source = source;
    this.#sessionDuration = meter.createHistogram(METRIC_NAMES.sessionDuration, {
      description: 'How long upstream MCP client sessions lived, from ready to eviction.',
      unit: 's',
      advice: { explicitBucketBoundaries: SESSION_BUCKETS },
    });
    this.#creates = meter.createObservableCounter(METRIC_NAMES.creates, {
      description: 'Upstream session creations that ended, by outcome.',
      unit: '{session}',
    });
    this.#evictions = meter.createObservableCounter(METRIC_NAMES.evictions, {
      description: 'Upstream sessions evicted, by reason.',
      unit: '{session}',
    });
    this.#probeDuration = meter.createHistogram(METRIC_NAMES.probeDuration, {
      description: 'Duration of health probes before reuse, by outcome and deciding method.',
      unit: 's',
      advice: { explicitBucketBoundaries: OPERATION_BUCKETS },
    });
    this.#createDuration = meter.createHistogram(METRIC_NAMES.createDuration, {
      description: 'Duration of upstream session creations, by outcome.',
      unit: 's',
      advice: { explicitBucketBoundaries: OPERATION_BUCKETS },
    });
    this.#sessions = meter.createObservableGauge(METRIC_NAMES.sessions, {
      description: 'Upstream sessions by state: ready (sums to registry.size), creating, draining.',
      unit: '{session}',
    });
    this.#reuses = meter.createObservableCounter(METRIC_NAMES.reuses, {
      description: 'Leases served by an existing upstream session.',
      unit: '{lease}',
    });
    this.#observe = (result) => {
      const { gauge, reuses } = this.#count();
      for (const group of gauge) {
        result.observe(this.#sessions, group.ready, this.#attributes.extend(group.common, { [ATTR.state]: 'ready' }).attributes);
        result.observe(this.#sessions, group.creating, this.#attributes.extend(group.common, { [ATTR.state]: 'creating' }).attributes);
        result.observe(this.#sessions, group.draining, this.#attributes.extend(group.common, { [ATTR.state]: 'draining' }).attributes);
      }
      for (const group of reuses) result.observe(this.#reuses, group.reuses, group.common.attributes);
      for (const tally of this.#createTally.values()) result.observe(this.#creates, tally.reuses, tally.common.attributes);
      for (const tally of this.#evictionTally.values()) result.observe(this.#evictions, tally.reuses, tally.common.attributes);
    };
    meter.addBatchObservableCallback(this.#observe, this.#observables());
  }

  /**
   * Records a settled creation (`asyncEnd` of the create channel): `creates` and `create.duration` with
   * `outcome` `ok`, or `error` with `error.type` = the category. Creations abandoned by an eviction,
   * `closeAll` or a rejected request have no category and are not an upstream outcome: not recorded.
   *
   * @param ctx - The settled create context.
   */
  created(ctx: CreateDiagnosticsContext): void {
    if (this.#disposed) return;
    let set: CommonAttributes;
    if (ctx.result !== undefined) {
      set = this.#attributes.extend(this.#attributes.of(ctx.result), { [ATTR.outcome]: 'ok' });
    } else if (ctx.category !== undefined) {
      set = this.#attributes.extend(this.#attributes.of(ctx), { [ATTR.outcome]: 'error', [ATTR.errorType]: ctx.category });
    } else {
      return;
    }
    tally(this.#createTally, set, 1);
    if (ctx.durationMs !== undefined) this.#createDuration.record(ctx.durationMs / 1000, set.attributes);
  }

  /**
   * Records a probe that reached an outcome (`asyncEnd` of the probe channel): `probe.duration` with `outcome`
   * `healthy` | `unhealthy`, `mcp.method.name`, and `error.type` for unhealthy ones.
   *
   * @param ctx - The settled probe context.
   */
  probed(ctx: ProbeDiagnosticsContext): void {
    if (this.#disposed || ctx.result === undefined || ctx.durationMs === undefined) return;
    const { healthy, method, category } = ctx.result;
    this.#probeDuration.record(
      ctx.durationMs / 1000,
      this.#attributes.extend(this.#attributes.of(ctx), {
        [ATTR.outcome]: healthy ? 'healthy' : 'unhealthy',
        [ATTR.methodName]: method,
        [ATTR.errorType]: healthy ? undefined : (category ?? '_OTHER'),
      }).attributes,
    );
  }

  /**
   * Records an eviction (the evict channel): `evictions` by `reason`, `mcp.client.session.duration` (with
   * `error.type` for failure reasons), and keeps the session's reuses for the reuse counter.
   *
   * @param message - The evict message.
   */
  evicted(message: EvictDiagnosticsMessage): void {
    if (this.#disposed) return;
    const common = this.#attributes.of(message.info);
    tally(this.#evictionTally, this.#attributes.extend(common, { [ATTR.reason]: message.reason }), 1);
    this.#sessionDuration.record(
      message.durationMs / 1000,
      this.#attributes.extend(common, { [ATTR.errorType]: FAILURE_REASONS.has(message.reason) ? message.reason : undefined }).attributes,
    );
    const reuses = message.info.useCount - 1;
    if (reuses > 0) tally(this.#evictedReuses, common, reuses);
  }

  /** Stops recording and removes the observable callback (the instruments stay registered but silent). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#meter.removeBatchObservableCallback(this.#observe, this.#observables());
    this.#evictedReuses.clear();
    this.#createTally.clear();
    this.#evictionTally.clear();
    this.#gaugeSets.clear();
  }

  #observables(): Observable[] {
    return [this.#sessions, this.#reuses, this.#creates, this.#evictions];
  }

  /** Live sessions by gauge attribute set and state, and reuses by attribute set (live and evicted). */
  #count(): { gauge: Iterable<GaugeGroup>; reuses: Iterable<CountGroup> } {
    const gauge = new Map<string, GaugeGroup>();
    for (const [id, common] of this.#gaugeSets) gauge.set(id, { common, ready: 0, creating: 0, draining: 0 });
    const reuses = new Map<string, CountGroup>();
    for (const [id, kept] of this.#evictedReuses) reuses.set(id, { common: kept.common, reuses: kept.reuses });
    for (const info of this.#source.snapshot().entries) {
      const common = this.#attributes.of(info, false);
      let group = gauge.get(common.id);
      if (group === undefined) {
        group = { common, ready: 0, creating: 0, draining: 0 };
        gauge.set(common.id, group);
        this.#gaugeSets.set(common.id, common);
      }
      if (info.state === 'ready' || info.state === 'probing') {
        group.ready += 1;
        if (info.useCount > 1) {
          const withVersion = this.#attributes.of(info);
          const reuse = reuses.get(withVersion.id);
          if (reuse === undefined) reuses.set(withVersion.id, { common: withVersion, reuses: info.useCount - 1 });
          else reuse.reuses += info.useCount - 1;
        }
      } else if (info.state === 'creating') {
        group.creating += 1;
      } else if (info.state === 'draining') {
        group.draining += 1;
      }
    }
    // A set reported at 0 keeps that value in the SDK: it need not be observed again until it has sessions.
    for (const [id, group] of gauge) {
      if (group.ready + group.creating + group.draining === 0) this.#gaugeSets.delete(id);
    }
    return { gauge: gauge.values(), reuses: reuses.values() };
  }
}
