/**
 * Health-probe chain (SPEC §4.3; issue #2 item 5): `runProbeChain` used directly on a `FakeUpstreamClient`, and
 * the registry probing a session on reuse after `idleValidationMs`.
 */
import { getEventListeners } from 'node:events';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import {
  UpstreamSessionRegistry,
  runProbeChain,
  type EvictReason,
  type ProbeEvent,
  type ProbeMethod,
  type ProbeResult,
  type RegistryOptions,
  type SessionRequest,
} from '../src/index.js';
import {
  FakeMcpError,
  FakeSessionFactory,
  FakeUpstreamClient,
  ManualClock,
  type FakeClientScript,
  type FakeRequestBehavior,
} from '../src/testing/index.js';
import { InvalidOptionsError, ProbeTimeoutError } from '../src/errors.js';

const DEFAULT_CHAIN: readonly ProbeMethod[] = ['ping', 'tools/list', 'prompts/list', 'resources/list', 'skip'];

/** A client scripted per method, on a ManualClock the chain also uses for its step timeouts. */
function clientWith(script: FakeClientScript = {}): { client: FakeUpstreamClient; clock: ManualClock } {
  const clock = new ManualClock();
  return { client: new FakeUpstreamClient({ script, clock }), clock };
}

/** Observes whether a promise has settled, and marks its rejection handled. */
function watch<T>(promise: Promise<T>): { readonly promise: Promise<T>; readonly settled: boolean } {
  let settled = false;
  void promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  return {
    promise,
    get settled() {
      return settled;
    },
  };
}

function fetchFailed(code: string, message: string): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(message), { code, syscall: 'connect' }) });
}

describe('runProbeChain', () => {
  it('is healthy at the first step that succeeds', async () => {
    const { client, clock } = clientWith();

    const result = await runProbeChain(client, { probes: DEFAULT_CHAIN, timeoutMs: 5_000, clock });

    expect(result).toEqual({ healthy: true, method: 'ping' });
    expect(client.calls).toMatchObject({ ping: 1, listTools: 0, listPrompts: 0, listResources: 0 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('falls through to the next step on method-not-found (-32601)', async () => {
    const { client, clock } = clientWith({ ping: 'method-not-found' });

    const result = await runProbeChain(client, { probes: DEFAULT_CHAIN, timeoutMs: 5_000, clock });

    expect(result).toEqual({ healthy: true, method: 'tools/list' });
    expect(client.calls).toMatchObject({ ping: 1, listTools: 1, listPrompts: 0, listResources: 0 });
  });

  it('reaches skip, healthy, when every earlier step is method-not-found', async () => {
    const { client, clock } = clientWith({
      ping: 'method-not-found',
      listTools: 'method-not-found',
      listPrompts: 'method-not-found',
      listResources: 'method-not-found',
    });

    const result = await runProbeChain(client, { probes: DEFAULT_CHAIN, timeoutMs: 5_000, clock });

    expect(result).toEqual({ healthy: true, method: 'skip' });
    expect(client.calls).toMatchObject({ ping: 1, listTools: 1, listPrompts: 1, listResources: 1 });
  });

  const transportFailures: [string, FakeRequestBehavior][] = [
    ['connection closed (-32000)', 'broken'],
    ['HTTP 404 session not found', 'session-not-found'],
    ['fetch failed caused by ECONNREFUSED', fetchFailed('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1')],
    ['fetch failed caused by ECONNRESET', fetchFailed('ECONNRESET', 'read ECONNRESET')],
  ];

  it.each(transportFailures)('is unhealthy at once on a transport failure: %s', async (_name, behavior) => {
    const { client, clock } = clientWith({ ping: behavior });

    const result = await runProbeChain(client, { probes: DEFAULT_CHAIN, timeoutMs: 5_000, clock });

    expect(result).toMatchObject({ healthy: false, method: 'ping' });
    if (behavior instanceof Error) expect((result as { error: unknown }).error).toBe(behavior);
    expect(client.calls).toMatchObject({ ping: 1, listTools: 0 });
  });

  const otherMcpErrors: [string, Error][] = [
    ['McpError -32603 internal error', new McpError(-32603, 'Internal error')],
    ['McpError -32602 invalid params', new McpError(-32602, 'Invalid params')],
    ['McpError-shaped -32603', new FakeMcpError(-32603, 'Internal error')],
  ];

  it.each(otherMcpErrors)('is unhealthy at once on any other MCP error: %s', async (_name, error) => {
    const { client, clock } = clientWith({ ping: error });

    const result = await runProbeChain(client, { probes: DEFAULT_CHAIN, timeoutMs: 5_000, clock });

    expect(result).toEqual({ healthy: false, method: 'ping', error });
    expect((result as { error: unknown }).error).toBe(error);
    expect(client.calls.listTools).toBe(0);
  });

  it('is unhealthy when a step times out, without moving on to the next step', async () => {
    const { client, clock } = clientWith({ ping: 'timeout' });

    const pending = watch(runProbeChain(client, { probes: DEFAULT_CHAIN, timeoutMs: 5_000, clock }));
    await clock.advance(4_999);
    expect(pending.settled).toBe(false);
    await clock.advance(1);
    const result = await pending.promise;

    expect(result).toMatchObject({ healthy: false, method: 'ping', error: { name: 'ProbeTimeoutError', code: 'PROBE_TIMEOUT' } });
    if (!result.healthy) expect(result.error).toBeInstanceOf(ProbeTimeoutError);
    expect(client.calls).toMatchObject({ ping: 1, listTools: 0, listPrompts: 0, listResources: 0 });
    expect(client.requests[0]?.options?.signal?.aborted).toBe(true);
    expect(client.pendingRequests).toBe(0);
  });

  it('is unhealthy when a later step times out after earlier method-not-found steps', async () => {
    const { client, clock } = clientWith({ ping: 'method-not-found', listTools: 'timeout' });

    const pending = watch(runProbeChain(client, { probes: DEFAULT_CHAIN, timeoutMs: 2_000, clock }));
    await clock.flush(); // ping answered method-not-found; tools/list is now waiting
    expect(client.calls.listTools).toBe(1);
    await clock.advance(1_999);
    expect(pending.settled).toBe(false);
    await clock.advance(1);
    const result = await pending.promise;

    expect(result).toMatchObject({ healthy: false, method: 'tools/list' });
    expect(client.calls).toMatchObject({ ping: 1, listTools: 1, listPrompts: 0, listResources: 0 });
  });

  it('is unhealthy when a custom chain without skip is exhausted by method-not-found', async () => {
    const { client, clock } = clientWith({ ping: 'method-not-found', listTools: 'method-not-found' });

    const result = await runProbeChain(client, { probes: ['ping', 'tools/list'], timeoutMs: 5_000, clock });

    expect(result).toMatchObject({ healthy: false, method: 'tools/list', error: { code: -32601 } });
    expect(client.calls).toMatchObject({ ping: 1, listTools: 1, listPrompts: 0, listResources: 0 });
  });

  it('is unhealthy for an empty chain', async () => {
    const { client, clock } = clientWith();

    const result = await runProbeChain(client, { probes: [], timeoutMs: 5_000, clock });

    expect(result.healthy).toBe(false);
    expect(client.requests).toHaveLength(0);
  });

  it.each([
    ['TypeError', new TypeError("Cannot read properties of undefined (reading 'tools')")],
    ['ReferenceError', new ReferenceError('client is not defined')],
  ])('rethrows a programming error (%s) instead of reporting it as unhealthy', async (_name, error) => {
    const { client, clock } = clientWith({ ping: error });

    await expect(runProbeChain(client, { probes: DEFAULT_CHAIN, timeoutMs: 5_000, clock })).rejects.toBe(error);
    expect(client.calls.listTools).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it("rejects with the caller's abort reason and aborts the running step", async () => {
    const { client, clock } = clientWith({ ping: 'timeout' });
    const controller = new AbortController();
    const reason = new Error('acquire abandoned');

    const pending = watch(runProbeChain(client, { probes: DEFAULT_CHAIN, timeoutMs: 5_000, signal: controller.signal, clock }));
    await clock.flush();
    controller.abort(reason);

    await expect(pending.promise).rejects.toBe(reason);
    expect(client.requests[0]?.options?.signal?.aborted).toBe(true);
    expect(client.pendingRequests).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    expect(client.calls.listTools).toBe(0);
  });

  it("rejects with an already-aborted signal's reason without sending anything", async () => {
    const { client, clock } = clientWith();
    const controller = new AbortController();
    const reason = new Error('already gone');
    controller.abort(reason);

    await expect(runProbeChain(client, { probes: DEFAULT_CHAIN, timeoutMs: 5_000, signal: controller.signal, clock })).rejects.toBe(reason);
    expect(client.requests).toHaveLength(0);
  });

  it('gives each step a fresh AbortSignal and the step timeout', async () => {
    const { client, clock } = clientWith({
      ping: 'method-not-found',
      listTools: 'method-not-found',
      listPrompts: 'method-not-found',
    });
    const controller = new AbortController();

    const result = await runProbeChain(client, { probes: DEFAULT_CHAIN, timeoutMs: 3_000, signal: controller.signal, clock });

    expect(result).toEqual({ healthy: true, method: 'resources/list' });
    expect(client.requests.map((r) => r.method)).toEqual(['ping', 'listTools', 'listPrompts', 'listResources']);
    const signals = client.requests.map((r) => r.options?.signal);
    for (const signal of signals) {
      expect(signal).toBeInstanceOf(AbortSignal);
      expect(signal).not.toBe(controller.signal);
    }
    expect(new Set(signals).size).toBe(4);
    expect(client.requests.map((r) => r.options?.timeout)).toEqual([3_000, 3_000, 3_000, 3_000]);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0);
  });
});

const request: SessionRequest = { downstreamSessionId: 'A', upstreamId: 'counter', url: 'http://127.0.0.1:3001/mcp' };

/** A registry with the probe settings spelled out, recording probe and eviction events. */
function probingRegistry(tuning: Omit<RegistryOptions<FakeUpstreamClient>, 'sessionFactory' | 'clock'> = {}) {
  const clock = new ManualClock();
  const factory = new FakeSessionFactory({ clock });
  const registry = new UpstreamSessionRegistry({
    idleValidationMs: 60_000,
    probeTimeoutMs: 5_000,
    ...tuning,
    sessionFactory: factory,
    clock,
  });
  const probes: ProbeEvent[] = [];
  const evictions: EvictReason[] = [];
  registry.on('probe', (event) => probes.push(event));
  registry.on('session:evicted', (event) => evictions.push(event.reason));
  async function shutdown(): Promise<void> {
    const closing = registry.closeAll();
    await clock.advance(10_000);
    await closing;
    expect(factory.open).toBe(0);
    expect(factory.doubleClosed).toEqual([]);
  }
  return { clock, factory, registry, probes, evictions, shutdown };
}

function probeSummary(events: ProbeEvent[]): Pick<ProbeResult, 'healthy' | 'method'>[] {
  return events.map(({ healthy, method }) => ({ healthy, method }));
}

describe('runProbeChain validates its input before sending anything', () => {
  const bad: [string, unknown][] = [
    ['an unknown probe name', { probes: ['ping', 'tools/call'], timeoutMs: 1_000 }],
    ['a probe name that is not a string', { probes: [42], timeoutMs: 1_000 }],
    ['probes that are not an array', { probes: 'ping', timeoutMs: 1_000 }],
    ['a timeoutMs of 0', { probes: ['ping'], timeoutMs: 0 }],
    ['a negative timeoutMs', { probes: ['ping'], timeoutMs: -1 }],
    ['a NaN timeoutMs', { probes: ['ping'], timeoutMs: Number.NaN }],
    ['an infinite timeoutMs', { probes: ['ping'], timeoutMs: Number.POSITIVE_INFINITY }],
    ['a fractional timeoutMs', { probes: ['ping'], timeoutMs: 1.5 }],
    ['a string timeoutMs', { probes: ['ping'], timeoutMs: '1000' }],
    ['a missing timeoutMs', { probes: ['ping'] }],
    ['a signal that is not an AbortSignal', { probes: ['ping'], timeoutMs: 1_000, signal: {} }],
    ['a clock without timers', { probes: ['ping'], timeoutMs: 1_000, clock: { now: () => 0 } }],
    ['no options object', null],
  ];
  for (const [label, options] of bad) {
    it(`rejects ${label} with InvalidOptionsError`, async () => {
      const { client } = clientWith();
      const error: unknown = await runProbeChain(client, options as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect(Object.values(client.calls).every((count) => count === 0)).toBe(true);
    });
  }

  it('names the option and shows the value', async () => {
    const { client } = clientWith();
    await expect(runProbeChain(client, { probes: ['ping'], timeoutMs: -1 })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      option: 'timeoutMs',
      message: expect.stringMatching(/timeoutMs.*-1/) as unknown,
    });
    await expect(runProbeChain(client, { probes: ['pong' as ProbeMethod], timeoutMs: 1 })).rejects.toMatchObject({
      option: 'probes',
      message: expect.stringMatching(/pong/) as unknown,
    });
  });
});

describe("runProbeChain: a 'server/discover' step", () => {
  it("is sent through the client's discover() when it has one", async () => {
    const { client, clock } = clientWith();
    const sent: unknown[] = [];
    const discovering = Object.assign(client, {
      discover: (options?: unknown) => {
        sent.push(options);
        return Promise.resolve({ supportedVersions: ['2026-07-28'] });
      },
    });
    const result = await runProbeChain(discovering, { probes: ['server/discover'], timeoutMs: 1_000, clock });
    expect(result).toEqual({ healthy: true, method: 'server/discover' });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ timeout: 1_000, signal: expect.any(AbortSignal) as unknown });
  });

  it('counts as method-not-found on a client without discover(), so the chain moves on', async () => {
    const { client, clock } = clientWith();
    const result = await runProbeChain(client, { probes: ['server/discover', 'ping'], timeoutMs: 1_000, clock });
    expect(result).toEqual({ healthy: true, method: 'ping' });
  });
});

describe('the registry probes a reused session after idleValidationMs', () => {
  it('does not probe a session reused within idleValidationMs of its last use', async () => {
    const { clock, factory, registry, probes, shutdown } = probingRegistry();
    await registry.withSession(request, () => undefined);
    const client = factory.created[0]!.client;

    await clock.advance(60_000);
    await registry.withSession(request, () => undefined);
    await clock.advance(60_000);
    await registry.withSession(request, () => undefined);

    expect(client.requests).toHaveLength(0);
    expect(probes).toEqual([]);
    expect(registry.snapshot().counters.probes).toBe(0);

    await clock.advance(60_001);
    await registry.withSession(request, () => undefined);
    expect(client.calls.ping).toBe(1);
    expect(probeSummary(probes)).toEqual([{ healthy: true, method: 'ping' }]);
    expect(factory.createCalls).toBe(1);
    await shutdown();
  });

  it('does not probe a session that has an open lease: a session in use is not idle', async () => {
    const { clock, factory, registry, probes, shutdown } = probingRegistry();
    const held = await registry.acquire(request);
    const client = factory.created[0]!.client;

    await clock.advance(120_000); // a long tool call keeps its lease open
    const second = await registry.acquire(request);

    expect(second.client).toBe(client);
    expect(client.calls.ping).toBe(0);
    expect(probes).toEqual([]);
    held.release();
    second.release();
    await shutdown();
  });

  it('runs the configured chain, one fresh signal per step, and keeps a healthy session', async () => {
    const { clock, factory, registry, probes, shutdown } = probingRegistry({ probes: ['ping', 'resources/list'] });
    await registry.withSession(request, () => undefined);
    const client = factory.created[0]!.client;
    client.script.ping = 'method-not-found';

    await clock.advance(60_001);
    const lease = await registry.acquire(request);

    expect(lease.client).toBe(client);
    expect(client.requests.map((r) => r.method)).toEqual(['ping', 'listResources']);
    const [first, second] = client.requests.map((r) => r.options?.signal);
    expect(first).toBeInstanceOf(AbortSignal);
    expect(second).toBeInstanceOf(AbortSignal);
    expect(first).not.toBe(second);
    expect(client.requests.map((r) => r.options?.timeout)).toEqual([5_000, 5_000]);
    expect(probeSummary(probes)).toEqual([{ healthy: true, method: 'resources/list' }]);
    expect(factory.createCalls).toBe(1);
    lease.release();
    await shutdown();
  });

  const failures: [string, FakeRequestBehavior][] = [
    ['a transport failure', 'broken'],
    ['an HTTP 404 session-not-found', 'session-not-found'],
    ['another MCP error', new FakeMcpError(-32603, 'Internal error')],
  ];

  it.each(failures)('replaces the session at once when the probe hits %s', async (_name, behavior) => {
    const { clock, factory, registry, probes, evictions, shutdown } = probingRegistry();
    await registry.withSession(request, () => undefined);
    const old = factory.created[0]!;
    old.client.script.ping = behavior;

    await clock.advance(60_001);
    const lease = await registry.acquire(request);

    expect(factory.createCalls).toBe(2);
    expect(lease.client).toBe(factory.created[1]!.client);
    expect(old.client.calls).toMatchObject({ ping: 1, listTools: 0 });
    expect(probeSummary(probes)).toEqual([{ healthy: false, method: 'ping' }]);
    expect(evictions).toEqual(['probe-failed']);
    expect(registry.snapshot().counters).toMatchObject({ probes: 1, probeFailures: 1 });
    await clock.flush();
    expect(old.closeCalls).toBe(1);
    lease.release();
    await shutdown();
  });

  it('replaces the session when a probe step times out (after probeTimeoutMs, not after the whole chain)', async () => {
    const { clock, factory, registry, probes, evictions, shutdown } = probingRegistry();
    await registry.withSession(request, () => undefined);
    const old = factory.created[0]!;
    old.client.script.ping = 'timeout';

    await clock.advance(60_001);
    const pending = watch(registry.acquire(request));
    await clock.advance(4_999);
    expect(pending.settled).toBe(false);
    await clock.advance(1);
    const lease = await pending.promise;

    expect(lease.client).toBe(factory.created[1]!.client);
    expect(factory.createCalls).toBe(2);
    expect(old.client.calls).toMatchObject({ ping: 1, listTools: 0, listPrompts: 0, listResources: 0 });
    expect(probeSummary(probes)).toEqual([{ healthy: false, method: 'ping' }]);
    expect(evictions).toEqual(['probe-failed']);
    expect(old.closeCalls).toBe(1);
    lease.release();
    await shutdown();
  });

  it('shares one probe among concurrent acquirers', async () => {
    const { clock, factory, registry, probes, shutdown } = probingRegistry();
    await registry.withSession(request, () => undefined);
    const client = factory.created[0]!.client;
    client.script.ping = { delayMs: 100 };

    await clock.advance(60_001);
    const pending = Array.from({ length: 10 }, () => registry.acquire(request));
    await clock.flush();
    expect(client.calls.ping).toBe(1);
    await clock.advance(100);
    const leases = await Promise.all(pending);

    expect(new Set(leases.map((lease) => lease.client))).toEqual(new Set([client]));
    expect(client.calls.ping).toBe(1);
    expect(probes).toHaveLength(1);
    expect(registry.snapshot().counters.probes).toBe(1);
    expect(factory.createCalls).toBe(1);
    for (const lease of leases) lease.release();
    await shutdown();
  });

  it('shares one failed probe and one replacement among concurrent acquirers', async () => {
    const { clock, factory, registry, shutdown } = probingRegistry();
    await registry.withSession(request, () => undefined);
    factory.created[0]!.client.script.ping = 'broken';

    await clock.advance(60_001);
    const leases = await Promise.all(Array.from({ length: 10 }, () => registry.acquire(request)));

    expect(factory.createCalls).toBe(2);
    expect(new Set(leases.map((lease) => lease.client))).toEqual(new Set([factory.created[1]!.client]));
    expect(registry.snapshot().counters).toMatchObject({ probes: 1, probeFailures: 1 });
    for (const lease of leases) lease.release();
    await shutdown();
  });

  it("propagates a probe's programming error out of acquire instead of reconnecting", async () => {
    const { clock, factory, registry, evictions, shutdown } = probingRegistry();
    await registry.withSession(request, () => undefined);
    const bug = new TypeError("Cannot read properties of undefined (reading 'result')");
    factory.created[0]!.client.script.ping = bug;

    await clock.advance(60_001);
    const outcomes = await Promise.allSettled([registry.acquire(request), registry.acquire(request)]);

    expect(outcomes).toEqual([
      { status: 'rejected', reason: bug },
      { status: 'rejected', reason: bug },
    ]);
    for (const outcome of outcomes) expect(outcome.status === 'rejected' && outcome.reason === bug).toBe(true);
    expect(factory.createCalls).toBe(1);
    expect(evictions).toEqual([]);
    await shutdown();
  });
});
