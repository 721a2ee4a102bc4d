import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  publishCreateEnd,
  publishCreateError,
  publishCreateResult,
  publishCreateStart,
  publishEvict,
  publishProbeEnd,
  publishProbeResult,
  publishProbeStart,
  type DiagnosticsSession,
} from '../../src/diagnostics.js';
import { ProbeTimeoutError, SessionCreateError } from '../../src/errors.js';
import { instrumentRegistry } from '../../src/otel/index.js';
import { type SessionInfo, type SessionState } from '../../src/types.js';
import { disableContext, enableContext, setupTelemetry, totalOf, valueOf } from './harness.js';

// The ./otel adapter on its own, against a stub that publishes on the diagnostics channels exactly as the
// registry does (SPEC §10). The registry-driven suites are channels/metrics/spans/cardinality.test.ts.

class StubSession implements DiagnosticsSession {
  readonly key;
  state: SessionState = 'creating';
  useCount = 0;
  protocolVersion: string | undefined;
  constructor(
    downstreamSessionId: string,
    upstreamId: string,
    readonly url = 'https://***:***@api.example.com:8443/mcp/tenant-7?token=***',
  ) {
    this.key = Object.freeze({ downstreamSessionId, upstreamId });
  }
  info(): SessionInfo {
    return {
      key: { ...this.key },
      url: this.url,
      transport: 'streamable-http',
      ...(this.protocolVersion === undefined ? {} : { protocolVersion: this.protocolVersion, era: 'legacy' as const }),
      createdAt: 0,
      lastUsedAt: 0,
      useCount: this.useCount,
      inFlight: 0,
      state: this.state,
      suspect: false,
    };
  }
}

/** A clock stuck at `ms`. */
const at = (ms: number): { now(): number } => ({ now: () => ms });

class StubRegistry {
  readonly sessions = new Set<StubSession>();
  snapshot(): { entries: SessionInfo[] } {
    return { entries: [...this.sessions].map((session) => session.info()) };
  }
  create(session: StubSession, now = 0): void {
    this.sessions.add(session);
    publishCreateStart(this, session, at(now));
    publishCreateEnd(session);
  }
  succeed(session: StubSession, now: number): void {
    session.state = 'ready';
    session.protocolVersion = '2025-11-25';
    publishCreateResult(session, at(now));
  }
  evict(session: StubSession, reason: 'idle' | 'transport-error', durationMs: number): void {
    session.state = 'draining';
    publishEvict(this, session, reason, durationMs);
  }
}

beforeAll(enableContext);
afterAll(disableContext);

describe('instrumentRegistry against a stub publisher', () => {
  it('records creations, reuses, evictions and the sessions gauge with the common attributes', async () => {
    const registry = new StubRegistry();
    const telemetry = setupTelemetry(registry, { 'deployment.environment.name': 'test' });
    const a = new StubSession('down-a', 'github');
    registry.create(a);
    expect(valueOf(await telemetry.points('mcp_upstream.sessions'), { state: 'creating' })).toBe(1);
    registry.succeed(a, 120);
    a.useCount = 3;

    const creates = await telemetry.points('mcp_upstream.session.creates');
    expect(creates).toEqual([
      {
        attributes: {
          'deployment.environment.name': 'test',
          'mcp_upstream.upstream.id': 'github',
          'network.transport': 'tcp',
          'server.address': 'api.example.com',
          'server.port': 8443,
          'mcp.protocol.version': '2025-11-25',
          outcome: 'ok',
        },
        value: 1,
      },
    ]);
    const duration = await telemetry.points('mcp_upstream.session.create.duration');
    expect(duration.map((p) => [p.value, p.sum])).toEqual([[1, 0.12]]);
    expect(valueOf(await telemetry.points('mcp_upstream.sessions'), { state: 'ready' })).toBe(1);
    expect(totalOf(await telemetry.points('mcp_upstream.session.reuses'))).toBe(2);

    registry.evict(a, 'transport-error', 5_000);
    a.useCount = 3;
    const evictions = await telemetry.points('mcp_upstream.session.evictions');
    expect(valueOf(evictions, { reason: 'transport-error' })).toBe(1);
    const lifetimes = await telemetry.points('mcp.client.session.duration');
    expect(lifetimes.map((p) => [p.attributes['error.type'], p.value, p.sum])).toEqual([['transport-error', 1, 5]]);
    // The evicted session's reuses are kept once, not also read from the draining entry.
    expect(totalOf(await telemetry.points('mcp_upstream.session.reuses'))).toBe(2);
    expect(valueOf(await telemetry.points('mcp_upstream.sessions'), { state: 'draining' })).toBe(1);
    await telemetry.shutdown();
  });

  it('counts a failed creation with error.type = its category and no protocol version', async () => {
    const registry = new StubRegistry();
    const telemetry = setupTelemetry(registry);
    const session = new StubSession('down-b', 'search');
    registry.create(session);
    registry.sessions.delete(session);
    publishCreateError(session, new SessionCreateError('search', 'connection_refused', new Error('refused')), 'connection_refused', at(30));
    const creates = await telemetry.points('mcp_upstream.session.creates');
    expect(creates.map((p) => [p.attributes.outcome, p.attributes['error.type'], p.attributes['mcp.protocol.version'], p.value])).toEqual([
      ['error', 'connection_refused', undefined, 1],
    ]);
    const [span] = telemetry.finished();
    expect(span?.attributes['error.type']).toBe('connection_refused');
    expect(span?.status).toEqual({ code: 2, message: 'CREATE_FAILED' });
    await telemetry.shutdown();
  });

  it('parents a creation span to the span active where start was published', async () => {
    const registry = new StubRegistry();
    const telemetry = setupTelemetry(registry);
    const tracer = telemetry.tracerProvider.getTracer('test');
    const session = new StubSession('down-c', 'github');
    const parent = tracer.startActiveSpan('downstream tools/call', (span) => {
      registry.create(session);
      span.end();
      return span;
    });
    // Settled later, from another async context: still the same span, still that parent.
    await new Promise<void>((resolve) => setImmediate(resolve));
    registry.succeed(session, 10);
    const created = telemetry.finished().find((span) => span.name === 'mcp_upstream.session.create');
    expect(created?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(created?.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(trace.getActiveSpan()).toBeUndefined();
    await telemetry.shutdown();
  });

  it('records a probe with outcome, mcp.method.name and error.type when unhealthy', async () => {
    const registry = new StubRegistry();
    const telemetry = setupTelemetry(registry);
    const session = new StubSession('down-d', 'github');
    session.state = 'ready';
    publishProbeStart(registry, session, at(0));
    publishProbeEnd(session);
    publishProbeResult(session, { healthy: false, method: 'tools/list', error: new ProbeTimeoutError('tools/list', 5_000) }, at(5_000));
    const probes = await telemetry.points('mcp_upstream.probe.duration');
    expect(probes.map((p) => [p.attributes.outcome, p.attributes['mcp.method.name'], p.attributes['error.type'], p.sum])).toEqual([
      ['unhealthy', 'tools/list', 'timeout', 5],
    ]);
    const [span] = telemetry.finished();
    expect(span?.name).toBe('mcp_upstream.session.probe');
    expect(span?.attributes).toMatchObject({ 'mcp.method.name': 'tools/list', outcome: 'unhealthy', 'error.type': 'timeout' });
    await telemetry.shutdown();
  });

  it('ignores publications of other registries', async () => {
    const mine = new StubRegistry();
    const other = new StubRegistry();
    const telemetry = setupTelemetry(mine);
    const session = new StubSession('down-e', 'github');
    other.create(session);
    other.succeed(session, 1);
    expect(await telemetry.points('mcp_upstream.session.creates')).toEqual([]);
    expect(telemetry.finished()).toEqual([]);
    await telemetry.shutdown();
  });

  it('stops all recording on dispose (idempotent), and ends spans still open', async () => {
    const registry = new StubRegistry();
    const telemetry = setupTelemetry(registry);
    const open = new StubSession('down-f', 'github');
    registry.create(open);
    telemetry.instrumentation.dispose();
    telemetry.instrumentation.dispose();
    expect(telemetry.finished().map((span) => span.name)).toEqual(['mcp_upstream.session.create']);
    registry.succeed(open, 5);
    const later = new StubSession('down-g', 'github');
    registry.create(later);
    registry.succeed(later, 5);
    const metrics = await telemetry.collect();
    for (const metric of metrics.values()) expect(metric.dataPoints).toEqual([]);
    expect(telemetry.finished()).toHaveLength(1);
    await telemetry.shutdown();
  });

  it('rejects unknown options and values of the wrong shape', () => {
    const registry = new StubRegistry();
    expect(() => instrumentRegistry(registry, { meter: {} } as never)).toThrow(/Unknown option `meter`/);
    expect(() => instrumentRegistry(registry, { meterProvider: {} } as never)).toThrow(/meterProvider/);
    expect(() => instrumentRegistry(registry, { attributes: [] } as never)).toThrow(/attributes/);
    expect(() => instrumentRegistry({} as never)).toThrow(/registry/);
  });
});
