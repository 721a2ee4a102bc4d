import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics_channel from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DIAGNOSTICS_CHANNELS,
  setPublishing,
  type CloseDiagnosticsContext,
  type CreateDiagnosticsContext,
  type EvictDiagnosticsMessage,
  type ProbeDiagnosticsContext,
} from '../../src/diagnostics.js';
import { SessionCreateError, UpstreamSessionRegistry, type SessionRequest } from '../../src/index.js';
import { FakeSessionFactory, ManualClock, createConnectionRefusedError, type FakeUpstreamClient } from '../../src/testing/index.js';
import { findSecrets } from '../support/capture.js';

// SPEC §10: the registry publishes on TracingChannels `…:create`, `…:probe`, `…:close` and the channel `…:evict`;
// contexts carry key, upstreamId, transport, era, reason / category — never header values, env, args or
// unsanitized URLs — and a non-enumerable `registry`. `start` runs in the triggering caller's async context.

const SECRET_URL = 'https://usr-SECRET:pw-SECRET@upstream.example:8443/mcp/path-SECRET?token=tok-SECRET';
const HEADERS = { authorization: 'Bearer hdr-SECRET-123', 'x-api-key': 'key-SECRET-456' };
const ENV = { API_TOKEN: 'env-SECRET-789' };
const ARGS = ['--token', 'arg-SECRET-abc'];
const SECRETS = ['usr-SECRET', 'pw-SECRET', 'tok-SECRET', 'hdr-SECRET-123', 'key-SECRET-456', 'env-SECRET-789', 'arg-SECRET-abc', '/usr/local/bin'];

const HTTP: SessionRequest = { downstreamSessionId: 'down-1', upstreamId: 'up-http', url: SECRET_URL, headers: HEADERS };
const STDIO: SessionRequest = {
  downstreamSessionId: 'down-1',
  upstreamId: 'up-stdio',
  transport: 'stdio',
  command: '/usr/local/bin/memory-server',
  args: ARGS,
  env: ENV,
};

type Phase = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error';
interface Publication {
  readonly channel: 'create' | 'probe' | 'close' | 'evict';
  readonly phase: Phase | 'message';
  readonly ctx: object;
  /** A copy of the context's own enumerable fields at publication time. */
  readonly fields: Record<string, unknown>;
  readonly store: unknown;
}

const als = new AsyncLocalStorage<string>();
const unsubscribers: (() => void)[] = [];

function record(): Publication[] {
  const out: Publication[] = [];
  for (const channel of ['create', 'probe', 'close'] as const) {
    const tracing = diagnostics_channel.tracingChannel<string, object>(DIAGNOSTICS_CHANNELS[channel]);
    const on = (phase: Phase) => (ctx: object) => {
      out.push({ channel, phase, ctx, fields: { ...ctx }, store: als.getStore() });
    };
    const subscribers = { start: on('start'), end: on('end'), asyncStart: on('asyncStart'), asyncEnd: on('asyncEnd'), error: on('error') };
    tracing.subscribe(subscribers);
    unsubscribers.push(() => tracing.unsubscribe(subscribers));
  }
  const onEvict = (message: unknown): void => {
    out.push({ channel: 'evict', phase: 'message', ctx: message as object, fields: { ...(message as object) }, store: als.getStore() });
  };
  diagnostics_channel.subscribe(DIAGNOSTICS_CHANNELS.evict, onEvict);
  unsubscribers.push(() => diagnostics_channel.unsubscribe(DIAGNOSTICS_CHANNELS.evict, onEvict));
  return out;
}

function setup(): { clock: ManualClock; factory: FakeSessionFactory; registry: UpstreamSessionRegistry<FakeUpstreamClient>; seen: Publication[] } {
  const clock = new ManualClock();
  const factory = new FakeSessionFactory({ clock });
  const registry = new UpstreamSessionRegistry<FakeUpstreamClient>({ sessionFactory: factory, clock, idleValidationMs: 1_000 });
  return { clock, factory, registry, seen: record() };
}

afterEach(() => {
  for (const unsubscribe of unsubscribers.splice(0)) unsubscribe();
});

const phases = (seen: readonly Publication[], channel: Publication['channel']): string[] =>
  seen.filter((p) => p.channel === channel).map((p) => p.phase);

describe('diagnostics channels', () => {
  it('create publishes start, end, asyncStart, asyncEnd with the new SessionInfo as result', async () => {
    const { clock, factory, registry, seen } = setup();
    factory.nextCreate({ delayMs: 40 });
    const acquiring = registry.acquire(HTTP);
    await clock.advance(40);
    (await acquiring).release();

    expect(phases(seen, 'create')).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    const start = seen.find((p) => p.channel === 'create')!;
    expect(start.fields).toEqual({
      key: { downstreamSessionId: 'down-1', upstreamId: 'up-http' },
      upstreamId: 'up-http',
      transport: 'streamable-http',
      url: 'https://***:***@upstream.example:8443/mcp/path-SECRET?token=***',
    });
    const ctx = start.ctx as CreateDiagnosticsContext;
    expect(ctx.registry).toBe(registry);
    expect(Object.keys(ctx)).not.toContain('registry');
    expect(ctx.result).toEqual(expect.objectContaining({ key: ctx.key, state: 'ready', transport: 'streamable-http' }));
    expect(ctx.result).not.toHaveProperty('client');
    expect(ctx.durationMs).toBe(40);
    await registry.closeAll();
  });

  it('a failed create publishes error with the library error and its category', async () => {
    const { factory, registry, seen } = setup();
    factory.nextCreate('fail', createConnectionRefusedError('up-http'));
    await expect(registry.acquire(HTTP)).rejects.toBeInstanceOf(SessionCreateError);

    expect(phases(seen, 'create')).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    const ctx = seen.find((p) => p.phase === 'error')!.ctx as CreateDiagnosticsContext;
    expect(ctx.error).toBeInstanceOf(SessionCreateError);
    expect(ctx.category).toBe('connection_refused');
    expect(ctx.result).toBeUndefined();
    await registry.closeAll();
  });

  it('a creation abandoned by an eviction publishes error with the eviction reason', async () => {
    const { registry, factory, seen } = setup();
    factory.nextCreate('hang');
    const acquiring = registry.acquire(HTTP);
    await registry.evict(HTTP);
    await expect(acquiring).rejects.toMatchObject({ code: 'EVICTED' });
    const ctx = seen.find((p) => p.phase === 'error')!.ctx as CreateDiagnosticsContext;
    expect(ctx.reason).toBe('evict');
    expect(ctx.category).toBeUndefined();
    await registry.closeAll();
  });

  it('publishes start in the async context of the caller that triggered a shared creation, once', async () => {
    const { clock, factory, registry, seen } = setup();
    factory.nextCreate({ delayMs: 10 });
    const first = als.run('caller-1', () => registry.acquire(HTTP));
    const second = als.run('caller-2', () => registry.acquire(HTTP));
    await clock.advance(10);
    (await first).release();
    (await second).release();
    const starts = seen.filter((p) => p.channel === 'create' && p.phase === 'start');
    expect(starts.map((p) => p.store)).toEqual(['caller-1']);
    expect(factory.createCalls).toBe(1);
    await registry.closeAll();
  });

  it('probe publishes its outcome with the deciding method; unhealthy ones carry only a category', async () => {
    const { clock, factory, registry, seen } = setup();
    (await registry.acquire(HTTP)).release();
    await clock.advance(1_500);
    (await als.run('prober', () => registry.acquire(HTTP))).release();
    const healthy = seen.filter((p) => p.channel === 'probe');
    expect(healthy.map((p) => p.phase)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(healthy[0]?.store).toBe('prober');
    const ctx = healthy[0]!.ctx as ProbeDiagnosticsContext;
    expect(ctx.result).toEqual({ healthy: true, method: 'ping' });
    expect(ctx.registry).toBe(registry);

    factory.created[0]!.client.script.ping = 'broken';
    await clock.advance(1_500);
    (await registry.acquire(HTTP)).release();
    const unhealthy = seen.filter((p) => p.channel === 'probe').at(-1)!.ctx as ProbeDiagnosticsContext;
    expect(unhealthy.result).toEqual({ healthy: false, method: 'ping', category: expect.any(String) as string });
    expect(unhealthy).not.toHaveProperty('error');
    expect(seen.filter((p) => p.channel === 'evict').map((p) => (p.ctx as EvictDiagnosticsMessage).reason)).toEqual(['probe-failed']);
    await registry.closeAll();
  });

  it('evict and close publish the reason, the age and how the close ended', async () => {
    const { clock, factory, registry, seen } = setup();
    (await registry.acquire(HTTP)).release();
    await clock.advance(250);
    await registry.evict(HTTP);
    const evict = seen.find((p) => p.channel === 'evict')!.ctx as EvictDiagnosticsMessage;
    expect(evict).toMatchObject({ reason: 'evict', durationMs: 250, upstreamId: 'up-http', transport: 'streamable-http' });
    expect(evict.info.state).toBe('draining');
    expect(evict.registry).toBe(registry);
    expect(phases(seen, 'close')).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    const close = seen.find((p) => p.channel === 'close')!.ctx as CloseDiagnosticsContext;
    expect(close).toMatchObject({ reason: 'evict', result: { outcome: 'closed' } });

    factory.script.close = 'fail';
    (await registry.acquire(HTTP)).release();
    await registry.evict(HTTP);
    const failed = seen.filter((p) => p.channel === 'close').at(-1)!.ctx as CloseDiagnosticsContext;
    expect(failed.result).toEqual({ outcome: 'error' });
    expect(failed.category).toEqual(expect.any(String));
    await registry.closeAll();
  });

  it('a probe cut short by an eviction publishes error with the eviction', async () => {
    const { clock, factory, registry, seen } = setup();
    (await registry.acquire(HTTP)).release();
    await clock.advance(1_500);
    factory.created[0]!.client.script.ping = { delayMs: 1_000 };
    const probing = registry.acquire(HTTP);
    await clock.flush();
    await registry.evict(HTTP);
    await clock.advance(1_000);
    (await probing).release(); // the waiter got a fresh session
    expect(phases(seen, 'probe')).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    const ctx = seen.find((p) => p.channel === 'probe' && p.phase === 'error')!.ctx as ProbeDiagnosticsContext;
    expect(ctx.error).toMatchObject({ code: 'EVICTED', reason: 'evict' });
    expect(ctx.result).toBeUndefined();
    await registry.closeAll();
  });

  it('publishes nothing while publishing is switched off (the benchmark\'s build without channels)', async () => {
    const { registry, seen } = setup();
    setPublishing(false);
    try {
      (await registry.acquire(HTTP)).release();
      await registry.evict(HTTP);
    } finally {
      setPublishing(true);
    }
    expect(seen).toEqual([]);
    await registry.closeAll();
  });

  it('the reuse fast path publishes nothing', async () => {
    const { registry, seen } = setup();
    (await registry.acquire(HTTP)).release();
    const before = seen.length;
    for (let i = 0; i < 100; i++) (await registry.acquire(HTTP)).release();
    await registry.withSession(HTTP, () => undefined);
    expect(seen.length).toBe(before);
    await registry.closeAll();
  });

  it('no context carries a header value, env value, arg, URL credential or query value', async () => {
    const { clock, factory, registry, seen } = setup();
    (await registry.acquire(HTTP)).release();
    (await registry.acquire(STDIO)).release();
    factory.nextCreate('fail', createConnectionRefusedError('up-http'));
    await expect(registry.acquire({ ...HTTP, downstreamSessionId: 'down-2' })).rejects.toThrow();
    await clock.advance(1_500);
    (await registry.acquire(HTTP)).release();
    (await registry.acquire(STDIO)).release();
    await registry.evictSession('down-1');
    await registry.closeAll();

    expect(new Set(seen.map((p) => p.channel))).toEqual(new Set(['create', 'probe', 'close', 'evict']));
    const stdio = seen.find((p) => p.channel === 'create' && (p.ctx as CreateDiagnosticsContext).transport === 'stdio')!;
    expect(stdio.fields).toMatchObject({ command: 'memory-server', transport: 'stdio' });
    expect(findSecrets(SECRETS, seen.map((p) => p.ctx))).toEqual([]);
  });
});
