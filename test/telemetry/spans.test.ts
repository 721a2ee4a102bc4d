import { context, trace } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamSessionRegistry, type SessionRequest } from '../../src/index.js';
import { FakeSessionFactory, ManualClock, createConnectionRefusedError, type FakeUpstreamClient } from '../../src/testing/index.js';
import { disableContext, enableContext, setupTelemetry, type Telemetry } from './harness.js';

// SPEC §10: spans for creation and probes are children of the context of the caller that triggered them; a
// shared creation is one span; probe spans carry `mcp.method.name` and the outcome.

const REQUEST: SessionRequest = { downstreamSessionId: 'down-1', upstreamId: 'github', url: 'https://api.example.com/mcp' };

let telemetry: Telemetry | undefined;
beforeAll(enableContext);
afterAll(disableContext);
afterEach(async () => {
  await telemetry?.shutdown();
  telemetry = undefined;
});

function setup(): { clock: ManualClock; factory: FakeSessionFactory; registry: UpstreamSessionRegistry<FakeUpstreamClient>; t: Telemetry } {
  const clock = new ManualClock();
  const factory = new FakeSessionFactory({ clock });
  const registry = new UpstreamSessionRegistry<FakeUpstreamClient>({ sessionFactory: factory, clock, idleValidationMs: 1_000 });
  telemetry = setupTelemetry(registry);
  return { clock, factory, registry, t: telemetry };
}

describe('OpenTelemetry spans', () => {
  it('a creation span is a child of the span active around the acquire that triggered it', async () => {
    const { registry, t } = setup();
    const tracer = t.tracerProvider.getTracer('gateway');
    const parent = await tracer.startActiveSpan('tools/call github', async (span) => {
      (await registry.acquire(REQUEST)).release();
      span.end();
      return span;
    });
    const create = t.finished().find((span) => span.name === 'mcp_upstream.session.create');
    expect(create?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(create?.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(create?.attributes).toMatchObject({
      'mcp_upstream.upstream.id': 'github',
      'network.transport': 'tcp',
      'server.address': 'api.example.com',
      'server.port': 443,
    });
    await registry.closeAll();
  });

  it('a shared creation is one span, parented to its first caller', async () => {
    const { clock, factory, registry, t } = setup();
    const tracer = t.tracerProvider.getTracer('gateway');
    factory.nextCreate({ delayMs: 50 });
    const spans = ['first', 'second', 'third'].map((name) => tracer.startSpan(name));
    const acquires = spans.map((span) => context.with(trace.setSpan(context.active(), span), () => registry.acquire(REQUEST)));
    await clock.advance(50);
    for (const lease of await Promise.all(acquires)) lease.release();
    const creates = t.finished().filter((span) => span.name === 'mcp_upstream.session.create');
    expect(creates).toHaveLength(1);
    expect(creates[0]?.parentSpanContext?.spanId).toBe(spans[0]!.spanContext().spanId);
    expect(factory.createCalls).toBe(1);
    await registry.closeAll();
  });

  it('a failed creation span has an error status and error.type, and no message text', async () => {
    const { factory, registry, t } = setup();
    factory.nextCreate('fail', createConnectionRefusedError('github'));
    await expect(registry.acquire(REQUEST)).rejects.toThrow();
    const [span] = t.finished();
    expect(span?.status).toEqual({ code: 2, message: 'CREATE_FAILED' });
    expect(span?.attributes['error.type']).toBe('connection_refused');
    expect(span?.events).toEqual([]);
    await registry.closeAll();
  });

  it('probe spans carry mcp.method.name and the outcome, parented to the acquire that probed', async () => {
    const { clock, factory, registry, t } = setup();
    const tracer = t.tracerProvider.getTracer('gateway');
    (await registry.acquire(REQUEST)).release();
    await clock.advance(1_500);
    factory.created[0]!.client.script.ping = 'method-not-found';
    const parent = await tracer.startActiveSpan('tools/list github', async (span) => {
      (await registry.acquire(REQUEST)).release();
      span.end();
      return span;
    });
    const healthy = t.finished().find((span) => span.name === 'mcp_upstream.session.probe');
    expect(healthy?.attributes).toMatchObject({ 'mcp.method.name': 'tools/list', outcome: 'healthy' });
    expect(healthy?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(healthy?.status.code).toBe(0);

    await clock.advance(1_500);
    factory.created[0]!.client.script.listTools = 'broken';
    (await registry.acquire(REQUEST)).release();
    const probes = t.finished().filter((span) => span.name === 'mcp_upstream.session.probe');
    expect(probes[1]?.attributes).toMatchObject({ 'mcp.method.name': 'tools/list', outcome: 'unhealthy' });
    expect(probes[1]?.attributes['error.type']).toEqual(expect.any(String));
    expect(probes[1]?.status.code).toBe(2);
    // The unhealthy session was replaced: a second creation span.
    expect(t.finished().filter((span) => span.name === 'mcp_upstream.session.create')).toHaveLength(2);
    await registry.closeAll();
  });

  it('a probe cut short by an eviction ends its span with error.type = the error code', async () => {
    const { clock, factory, registry, t } = setup();
    (await registry.acquire(REQUEST)).release();
    await clock.advance(1_500);
    factory.created[0]!.client.script.ping = { delayMs: 1_000 };
    const probing = registry.acquire(REQUEST);
    await clock.flush();
    await registry.evict(REQUEST);
    await clock.advance(1_000);
    (await probing).release();
    const probe = t.finished().find((span) => span.name === 'mcp_upstream.session.probe');
    expect(probe?.attributes['error.type']).toBe('EVICTED');
    expect(probe?.status).toEqual({ code: 2, message: 'EVICTED' });
    await registry.closeAll();
  });
});
