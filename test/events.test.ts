import { describe, expect, it } from 'vitest';
import {
  CircuitOpenError,
  SessionCreateTimeoutError,
  UpstreamSessionError,
  type UpstreamSessionRegistry,
  type AffinityStore,
  type EvictReason,
  type RegistryEvents,
  type SessionKey,
} from '../src/index.js';
import { type HttpSessionRequest as SessionRequest } from '../src/types.js';
import { createConnectionClosedError, createConnectionRefusedError, type FakeUpstreamClient } from '../src/testing/index.js';
import { REGISTRY_EVENT_NAMES, type LogRecord } from './support/capture.js';
import { harness, type Harness, type HarnessSetup, type Tuning } from './support/harness.js';

// SPEC §4.7: typed events with documented payloads; a listener that throws (or an async listener that
// rejects) must not break the registry: it is logged, and nothing else changes.

const EVENT_NAMES = REGISTRY_EVENT_NAMES;

const URL_A = 'http://127.0.0.1:9/mcp?token=t';
const URL_A_SAFE = 'http://127.0.0.1:9/mcp?token=***';

function request(downstreamSessionId: string, upstreamId = 'up-1', url = URL_A): SessionRequest {
  return { downstreamSessionId, upstreamId, url };
}

function keyOf(downstreamSessionId: string, upstreamId = 'up-1'): SessionKey {
  return { downstreamSessionId, upstreamId };
}

type Options = Omit<Tuning, 'logger'>;

/** A throwing and a rejecting listener on every event, subscribed ahead of the harness's recorder. */
function hostileListeners(registry: UpstreamSessionRegistry<FakeUpstreamClient>): void {
  const emitter = registry as unknown as { on(event: string, fn: (payload: unknown) => unknown): void };
  for (const event of EVENT_NAMES) {
    emitter.on(event, () => {
      throw new Error(`listener for ${event} exploded`);
    });
    emitter.on(event, async () => {
      await Promise.resolve();
      throw new Error(`async listener for ${event} rejected`);
    });
  }
}

/** Every event recorded as it was when emitted, by a listener registered last. */
const RECORD: HarnessSetup = { clonePayloads: true };
/** {@link RECORD}, behind a throwing and a rejecting listener on every event. */
const HOSTILE: HarnessSetup = { clonePayloads: true, listenFirst: hostileListeners };

/** The error-level log calls. */
function errorLogs(h: Harness): LogRecord[] {
  return h.logs.filter((l) => l.level === 'error');
}

function payloads<E extends keyof RegistryEvents>(h: Harness, event: E): Parameters<RegistryEvents[E]>[0][] {
  return h.events.payloads(event);
}

/** What an operation ended with: its value, or the error's code. */
async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    const value = await promise;
    if (typeof value === 'object' && value !== null && 'release' in value) {
      (value as { release(): void }).release();
      return 'lease';
    }
    return value;
  } catch (error) {
    return error instanceof UpstreamSessionError ? error.code : String(error);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Scenarios that make every event fire. Each is run twice: with only a recording listener, and with a
// throwing and a rejecting listener in front of it on every event. The two runs must not differ.

interface Scenario {
  name: string;
  options: Options;
  events: readonly (keyof RegistryEvents)[];
  run(h: Harness): Promise<unknown[]>;
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'create, reuse, notify, probe, evict, fail, open and close the circuit, time out, close',
    options: {
      createTimeoutMs: 1_000,
      closeTimeoutMs: 1_000,
      probeTimeoutMs: 1_000,
      idleTtlMs: 0,
      circuitBreaker: { failureThreshold: 2, resetMs: 5_000 },
    },
    events: [
      'session:created',
      'session:reused',
      'session:evicted',
      'session:create-failed',
      'probe',
      'close:timeout',
      'notification',
      'upstream:list-changed',
      'circuit:open',
      'circuit:close',
    ],
    async run({ clock, factory, registry }) {
      const out: unknown[] = [];
      const A = request('A');
      const l1 = await registry.acquire(A);
      const l2 = await registry.acquire(A);
      out.push(l1.client === l2.client);
      l1.release();
      l2.release();
      const first = factory.created[0]!;
      first.notify('notifications/tools/list_changed');
      first.notify('notifications/message', { level: 'info', data: 'hi' });
      await clock.advance(1_000);
      await clock.advance(60_001);
      out.push(await outcome(registry.acquire(A))); // healthy probe
      first.client.script.ping = 'broken';
      await clock.advance(60_001);
      out.push(await outcome(registry.acquire(A))); // probe fails, session replaced
      const lease = await registry.acquire(A);
      lease.release(createConnectionClosedError()); // transport-error
      out.push(await outcome(registry.acquire(A)));
      factory.created.at(-1)!.dropTransport(); // transport-closed
      await clock.flush();
      out.push(await outcome(registry.acquire({ ...A, url: 'http://127.0.0.1:9/other' }))); // fingerprint-changed
      out.push(await registry.evict(keyOf('A')));
      out.push(await outcome(registry.acquire(A)), await outcome(registry.acquire(request('A', 'up-2'))));
      out.push(await registry.evictSession('A'));
      out.push(await outcome(registry.acquire(request('B'))), await outcome(registry.acquire(request('C'))));
      out.push(await registry.evictUpstream('up-1'));
      factory.script.create = 'fail';
      out.push(await outcome(registry.acquire(request('D'))), await outcome(registry.acquire(request('D'))));
      out.push(await outcome(registry.acquire(request('D')))); // circuit open
      await clock.advance(5_000);
      factory.script.create = 'ok';
      out.push(await outcome(registry.acquire(request('D')))); // trial succeeds, circuit closes
      factory.nextCreate('hang');
      const timingOut = outcome(registry.acquire(request('E', 'up-3')));
      await clock.advance(1_000);
      out.push(await timingOut);
      factory.script.close = 'hang-ignoring-signal';
      const evicting = registry.evict(keyOf('D'));
      await clock.advance(2_000);
      out.push(await evicting); // close:timeout
      factory.script.close = 'ok';
      out.push(await outcome(registry.acquire(request('F'))));
      out.push(registry.size);
      return out;
    },
  },
  {
    name: 'idle, max-age and capacity evictions and a capacity error',
    options: { idleTtlMs: 1_000, maxAgeMs: 5_000, maxSessions: 2, idleValidationMs: 600_000 },
    events: ['session:created', 'session:reused', 'session:evicted'],
    async run({ clock, registry }) {
      const out: unknown[] = [];
      out.push(await outcome(registry.acquire(request('A'))));
      await clock.advance(1_000); // idle
      out.push(registry.size);
      out.push(await outcome(registry.acquire(request('A'))));
      for (let i = 0; i < 6; i += 1) {
        await clock.advance(900);
        out.push(await outcome(registry.acquire(request('A'))));
      }
      await clock.advance(900); // max-age reached while idle
      out.push(registry.snapshot().evictionsByReason);
      out.push(await outcome(registry.acquire(request('X'))));
      out.push(await outcome(registry.acquire(request('Y'))));
      out.push(await outcome(registry.acquire(request('Z')))); // evicts X (capacity)
      const held = [await registry.acquire(request('Y')), await registry.acquire(request('Z'))];
      out.push(await outcome(registry.acquire(request('W')))); // CAPACITY
      for (const lease of held) lease.release();
      return out;
    },
  },
];

/** Run snapshot without the random worker id. */
function comparable(h: Harness): unknown {
  const { workerId: _workerId, ...rest } = h.registry.snapshot();
  return rest;
}

describe('a throwing or rejecting listener changes nothing', () => {
  for (const scenario of SCENARIOS) {
    it(`for every event of: ${scenario.name}`, async () => {
      const control = harness(scenario.options, RECORD);
      const hostile = harness(scenario.options, HOSTILE);
      const controlOut = await scenario.run(control);
      const hostileOut = await scenario.run(hostile);
      await hostile.clock.flush();

      expect(hostileOut).toEqual(controlOut);
      expect(comparable(hostile)).toEqual(comparable(control));
      expect(hostile.factory.createCalls).toBe(control.factory.createCalls);
      expect(hostile.factory.open).toBe(control.factory.open);
      // Later listeners still get every event, with an intact payload.
      expect(hostile.events.records).toEqual(control.events.records);
      expect(new Set(control.events.records.map((r) => r.event))).toEqual(new Set(scenario.events));
      expect(errorLogs(control)).toEqual([]);

      // Each emission is logged twice (the throw and the rejection) at error level, naming the event.
      const failures = errorLogs(hostile).filter((l) => l.message === 'registry event listener threw');
      expect(failures).toHaveLength(2 * hostile.events.records.length);
      for (const event of scenario.events) {
        const count = hostile.events.records.filter((r) => r.event === event).length;
        expect(failures.filter((l) => l.fields?.event === event)).toHaveLength(2 * count);
      }
      expect(failures.map((l) => String(l.fields?.error))).toEqual(
        expect.arrayContaining([expect.stringContaining('exploded'), expect.stringContaining('rejected')]),
      );

      // Acquire still works afterwards, exactly as without the hostile listeners.
      for (const h of [control, hostile]) {
        const lease = await h.registry.acquire(request('after'));
        expect(lease.info.state).toBe('ready');
        lease.release();
      }
      await control.shutdown();
      await hostile.shutdown();
      expect(comparable(hostile)).toEqual(comparable(control));
    });
  }

  it('for affinity:error (a failing affinity store still fails open)', async () => {
    const failing = (): Promise<never> => Promise.reject(new Error('store down'));
    const store: AffinityStore = {
      claim: failing,
      refresh: failing,
      release: failing,
      owner: failing,
      reclaim: failing,
      heartbeat: failing,
      isAlive: failing,
    };
    const h = harness({ affinity: store }, HOSTILE);
    const decision = await h.registry.route('A');
    expect(decision).toEqual({ local: true, owner: h.registry.workerId });
    const lease = await h.registry.acquire(request('A'));
    lease.release();
    await h.clock.flush();
    const errors = payloads(h, 'affinity:error');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ operation: expect.any(String), downstreamSessionId: 'A' });
    expect(errorLogs(h).filter((l) => l.fields?.event === 'affinity:error')).toHaveLength(2 * errors.length);
    const closing = h.registry.closeAll();
    await h.clock.advance(30_000);
    await closing;
    expect(h.factory.open).toBe(0);
  });

  it('even when the logger throws too', async () => {
    const explode = (): void => {
      throw new Error('logger down');
    };
    const h = harness({}, { ...HOSTILE, logger: { debug: explode, info: explode, warn: explode, error: explode } });
    const lease = await h.registry.acquire(request('A'));
    lease.release();
    (await h.registry.acquire(request('A'))).release();
    await h.registry.evict(keyOf('A'));
    await h.clock.flush();
    expect(h.events.records.map((r) => r.event)).toEqual(['session:created', 'session:reused', 'session:evicted']);
    expect(h.registry.snapshot().counters).toMatchObject({ creates: 1, reuses: 1, evictions: 1 });
    await h.shutdown();
  });

  it('calls a once() listener only once, also when it throws', async () => {
    const h = harness({}, RECORD);
    let calls = 0;
    let throwingCalls = 0;
    h.registry.once('session:created', () => {
      calls += 1;
    });
    h.registry.once('session:created', () => {
      throwingCalls += 1;
      throw new Error('once');
    });
    (await h.registry.acquire(request('A'))).release();
    (await h.registry.acquire(request('B'))).release();
    expect(calls).toBe(1);
    expect(throwingCalls).toBe(1);
    expect(h.registry.listenerCount('session:created')).toBe(1); // only the recorder is left
    expect(h.registry.size).toBe(2);
    await h.shutdown();
  });

  it('calls a listener with the context it was registered with, and not after off()', async () => {
    const h = harness({}, RECORD);
    const context = { name: 'ctx' };
    const contexts: unknown[] = [];
    function listener(this: unknown): void {
      contexts.push(this);
    }
    h.registry.on('session:created', listener, context);
    (await h.registry.acquire(request('A'))).release();
    h.registry.off('session:created', listener, context);
    (await h.registry.acquire(request('B'))).release();
    expect(contexts).toEqual([context]);
    await h.shutdown();
  });
});

// ---------------------------------------------------------------------------------------------------------
// Payloads

describe('event payloads', () => {
  it('session:created carries the key, the session info and how long the factory took', async () => {
    const h = harness({}, RECORD);
    h.factory.nextCreate({ delayMs: 250 });
    const acquiring = h.registry.acquire(request('A'));
    await h.clock.advance(250);
    const lease = await acquiring;
    expect(payloads(h, 'session:created')).toEqual([
      {
        key: keyOf('A'),
        info: {
          key: keyOf('A'),
          url: URL_A_SAFE,
          transport: 'streamable-http',
          createdAt: 250,
          lastUsedAt: 250,
          useCount: 0,
          inFlight: 0,
          state: 'ready',
          suspect: false,
        },
        durationMs: 250,
      },
    ]);
    lease.release();
    await h.shutdown();
  });

  it('session:reused carries the key and the info after the reuse (not fired for the first lease)', async () => {
    const h = harness({}, RECORD);
    const first = await h.registry.acquire({ ...request('A'), transport: 'sse' });
    expect(payloads(h, 'session:reused')).toEqual([]);
    await h.clock.advance(10);
    const second = await h.registry.acquire({ ...request('A'), transport: 'sse' });
    expect(payloads(h, 'session:reused')).toEqual([
      {
        key: keyOf('A'),
        info: {
          key: keyOf('A'),
          url: URL_A_SAFE,
          transport: 'sse',
          createdAt: 0,
          lastUsedAt: 0, // last release, creation or probe: the first lease is still open
          useCount: 2,
          inFlight: 2,
          state: 'ready',
          suspect: false,
        },
      },
    ]);
    first.release();
    second.release();
    await h.shutdown();
  });

  it('session:evicted carries the session age by the registry clock as durationMs', async () => {
    const h = harness({}, RECORD);
    h.factory.nextCreate({ delayMs: 100 });
    const acquiring = h.registry.acquire(request('A'));
    await h.clock.advance(100);
    (await acquiring).release();
    await h.clock.advance(2_500);
    await h.registry.evict(keyOf('A'));
    expect(payloads(h, 'session:evicted')[0]).toMatchObject({ reason: 'evict', durationMs: 2_500 });
    await h.shutdown();
  });

  describe('session:evicted carries the key, the reason and the info, for each reason', () => {
    const reasons: Record<EvictReason, { options?: Options; run(h: Harness): Promise<void> }> = {
      evict: {
        async run(h) {
          await h.registry.evict(keyOf('A'));
        },
      },
      session: {
        async run(h) {
          await h.registry.evictSession('A');
        },
      },
      upstream: {
        async run(h) {
          await h.registry.evictUpstream('up-1');
        },
      },
      'close-all': {
        async run(h) {
          await h.shutdown();
        },
      },
      'probe-failed': {
        async run(h) {
          h.factory.created[0]!.client.script.ping = 'broken';
          await h.clock.advance(60_001);
          (await h.registry.acquire(request('A'))).release();
        },
      },
      'transport-closed': {
        async run(h) {
          h.factory.created[0]!.dropTransport(new Error('socket hang up'));
          await h.clock.flush();
        },
      },
      'transport-error': {
        async run(h) {
          const lease = await h.registry.acquire(request('A'));
          lease.release(createConnectionClosedError());
          await h.clock.flush();
        },
      },
      idle: {
        options: { idleTtlMs: 5_000 },
        async run(h) {
          await h.clock.advance(5_000);
        },
      },
      'max-age': {
        options: { maxAgeMs: 5_000 },
        async run(h) {
          await h.clock.advance(5_000);
        },
      },
      capacity: {
        options: { maxSessionsPerUpstream: 1 },
        async run(h) {
          (await h.registry.acquire(request('B'))).release();
        },
      },
      'fingerprint-changed': {
        async run(h) {
          (await h.registry.acquire({ ...request('A'), fingerprint: 'v2' })).release();
        },
      },
    };

    for (const [reason, { options, run }] of Object.entries(reasons) as [EvictReason, (typeof reasons)[EvictReason]][]) {
      it(`reason ${reason}`, async () => {
        const h = harness(options, RECORD);
        (await h.registry.acquire(request('A'))).release();
        await run(h);
        const evicted = payloads(h, 'session:evicted');
        expect(evicted).toHaveLength(1);
        expect(evicted[0]).toEqual({
          key: keyOf('A'),
          reason,
          info: expect.objectContaining({ key: keyOf('A'), url: URL_A_SAFE, transport: 'streamable-http', inFlight: 0 }),
          durationMs: expect.any(Number),
        });
        expect(evicted[0]!.durationMs).toBeGreaterThanOrEqual(0);
        expect(['draining', 'closed']).toContain(evicted[0]!.info.state);
        expect(h.registry.snapshot().evictionsByReason[reason]).toBe(1);
        await h.shutdown();
      });
    }
  });

  it('session:create-failed carries the key, the category and the original error', async () => {
    const h = harness({ createTimeoutMs: 1_000 }, RECORD);
    const refused = createConnectionRefusedError('up-1');
    h.factory.nextCreate('fail', refused);
    await expect(h.registry.acquire(request('A'))).rejects.toMatchObject({ code: 'CREATE_FAILED', cause: refused });
    h.factory.nextCreate('hang');
    const timingOut = h.registry.acquire(request('B'));
    const timedOut = expect(timingOut).rejects.toBeInstanceOf(SessionCreateTimeoutError);
    await h.clock.advance(1_000);
    await timedOut;
    const failed = payloads(h, 'session:create-failed');
    expect(failed).toHaveLength(2);
    expect(failed[0]).toEqual({ key: keyOf('A'), category: 'connection_refused', error: expect.any(Error) });
    expect((failed[0]!.error as Error).message).toBe(refused.message);
    expect(failed[1]).toEqual({ key: keyOf('B'), category: 'timeout', error: expect.any(Error) });
    await h.shutdown();
  });

  it('probe carries the key, the outcome, the deciding step and its duration (and the error when unhealthy)', async () => {
    const h = harness({ probeTimeoutMs: 2_000 }, RECORD);
    (await h.registry.acquire(request('A'))).release();
    const client = h.factory.created[0]!.client;

    client.script.ping = { delayMs: 40 };
    await h.clock.advance(60_001);
    const healthy = h.registry.acquire(request('A'));
    await h.clock.advance(40);
    (await healthy).release();

    client.script.ping = 'method-not-found';
    client.script.listTools = 'timeout';
    await h.clock.advance(60_001);
    const timingOut = h.registry.acquire(request('A'));
    await h.clock.flush(); // let the chain reach tools/list before time moves
    await h.clock.advance(2_000);
    (await timingOut).release();

    const probes = payloads(h, 'probe');
    expect(probes).toHaveLength(2);
    expect(probes[0]).toEqual({ key: keyOf('A'), healthy: true, method: 'ping', durationMs: 40 });
    expect(probes[1]).toEqual({
      key: keyOf('A'),
      healthy: false,
      method: 'tools/list',
      durationMs: 2_000,
      error: expect.anything(),
    });
    await h.shutdown();
  });

  it('close:timeout carries the key and closeTimeoutMs', async () => {
    const h = harness({ closeTimeoutMs: 1_000 }, RECORD);
    (await h.registry.acquire(request('A'))).release();
    h.factory.created[0]!.closeBehavior = 'hang-ignoring-signal';
    const evicting = h.registry.evict(keyOf('A'));
    await h.clock.advance(1_999);
    expect(payloads(h, 'close:timeout')).toEqual([]);
    await h.clock.advance(1);
    await evicting;
    expect(payloads(h, 'close:timeout')).toEqual([{ key: keyOf('A'), closeTimeoutMs: 1_000 }]);
    await h.shutdown();
  });

  it('notification carries the key and the notification (method, params when given)', async () => {
    const h = harness({}, RECORD);
    (await h.registry.acquire(request('A'))).release();
    const conn = h.factory.created[0]!;
    conn.notify('notifications/message', { level: 'info', data: 'hello' });
    conn.notify('notifications/tools/list_changed');
    expect(payloads(h, 'notification')).toEqual([
      { key: keyOf('A'), notification: { method: 'notifications/message', params: { level: 'info', data: 'hello' } } },
      { key: keyOf('A'), notification: { method: 'notifications/tools/list_changed' } },
    ]);
    expect(h.registry.snapshot().counters.notifications).toBe(2);
    await h.shutdown();
  });

  describe('upstream:list-changed', () => {
    it('merges list_changed notifications of different kinds within notificationDebounceMs into one event', async () => {
      const h = harness({ notificationDebounceMs: 1_000 }, RECORD);
      (await h.registry.acquire(request('A'))).release();
      (await h.registry.acquire(request('B'))).release();
      const [a, b] = h.factory.created as [(typeof h.factory.created)[0], (typeof h.factory.created)[0]];
      a.notify('notifications/tools/list_changed');
      await h.clock.advance(200);
      b.notify('notifications/prompts/list_changed'); // another downstream session, same upstream
      a.notify('notifications/tools/list_changed');
      await h.clock.advance(200);
      a.notify('notifications/resources/list_changed');
      await h.clock.advance(500);
      expect(payloads(h, 'upstream:list-changed')).toEqual([]);
      await h.clock.advance(1_000);
      const events = payloads(h, 'upstream:list-changed');
      expect(events).toHaveLength(1);
      expect(events[0]!.upstreamId).toBe('up-1');
      expect([...events[0]!.kinds].sort()).toEqual(['prompts', 'resources', 'tools']);
      await h.shutdown();
    });

    it('debounces per upstream: two upstreams get one event each', async () => {
      const h = harness({ notificationDebounceMs: 1_000 }, RECORD);
      (await h.registry.acquire(request('A', 'up-1'))).release();
      (await h.registry.acquire(request('A', 'up-2'))).release();
      h.factory.created[0]!.notify('notifications/tools/list_changed');
      h.factory.created[1]!.notify('notifications/resources/list_changed');
      h.factory.created[1]!.notify('notifications/resources/list_changed');
      await h.clock.advance(2_000);
      const events = payloads(h, 'upstream:list-changed');
      expect(events).toHaveLength(2);
      expect(events).toEqual(
        expect.arrayContaining([
          { upstreamId: 'up-1', kinds: ['tools'] },
          { upstreamId: 'up-2', kinds: ['resources'] },
        ]),
      );
      await h.shutdown();
    });

    it('starts a new window after an event, and ignores other notifications', async () => {
      const h = harness({ notificationDebounceMs: 1_000 }, RECORD);
      (await h.registry.acquire(request('A'))).release();
      const conn = h.factory.created[0]!;
      conn.notify('notifications/message', { level: 'info' });
      conn.notify('notifications/progress', { progress: 1 });
      await h.clock.advance(2_000);
      expect(payloads(h, 'upstream:list-changed')).toEqual([]);
      conn.notify('notifications/tools/list_changed');
      await h.clock.advance(2_000);
      conn.notify('notifications/tools/list_changed');
      await h.clock.advance(2_000);
      expect(payloads(h, 'upstream:list-changed')).toEqual([
        { upstreamId: 'up-1', kinds: ['tools'] },
        { upstreamId: 'up-1', kinds: ['tools'] },
      ]);
      await h.shutdown();
    });
  });

  it('circuit:open carries the upstream, the failures and retryAfterMs; circuit:close the upstream', async () => {
    const h = harness({ circuitBreaker: { failureThreshold: 3, resetMs: 10_000 } }, RECORD);
    h.factory.script.create = 'fail';
    for (let i = 0; i < 3; i += 1) await expect(h.registry.acquire(request(`D${i}`))).rejects.toMatchObject({ code: 'CREATE_FAILED' });
    expect(payloads(h, 'circuit:open')).toEqual([{ upstreamId: 'up-1', failures: 3, retryAfterMs: 10_000 }]);
    await h.clock.advance(4_000);
    await expect(h.registry.acquire(request('E'))).rejects.toMatchObject({ code: 'CIRCUIT_OPEN', retryAfterMs: 6_000 });
    await expect(h.registry.acquire(request('E'))).rejects.toBeInstanceOf(CircuitOpenError);
    expect(payloads(h, 'circuit:close')).toEqual([]);
    await h.clock.advance(6_000);
    h.factory.script.create = 'ok';
    (await h.registry.acquire(request('E'))).release();
    expect(payloads(h, 'circuit:close')).toEqual([{ upstreamId: 'up-1' }]);
    expect(payloads(h, 'circuit:open')).toHaveLength(1);
    await h.shutdown();
  });

  it('affinity:error carries the operation, the downstream session id and the error', async () => {
    const storeError = new Error('store down');
    const failing = (): Promise<never> => Promise.reject(storeError);
    const store: AffinityStore = {
      claim: failing,
      refresh: failing,
      release: failing,
      owner: failing,
      reclaim: failing,
      heartbeat: failing,
      isAlive: failing,
    };
    const h = harness({ affinity: store }, RECORD);
    await expect(h.registry.route('A')).resolves.toEqual({ local: true, owner: h.registry.workerId });
    const errors = payloads(h, 'affinity:error');
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors[0]).toEqual({ operation: expect.any(String), downstreamSessionId: 'A', error: expect.any(Error) });
    expect((errors[0]!.error as Error).message).toBe('store down');
    const closing = h.registry.closeAll();
    await h.clock.advance(30_000);
    await closing;
  });
});
