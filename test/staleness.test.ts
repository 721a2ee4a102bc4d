/**
 * Staleness by the clock (SPEC §4.1.2): a session idle longer than `idleValidationMs` by `clock.now()` is
 * probed before reuse, and one past `idleTtlMs` or `maxAgeMs` is never handed out — even when no timer has run
 * (after a VM pause `Date.now()` jumps while timers fire late). Suspect sessions (SPEC §4.4) are probed before
 * reuse whatever their idle time.
 */
import { describe, expect, it } from 'vitest';
import { harness } from './support/harness.js';

const timeout = (): Error => Object.assign(new Error('MCP error -32001: Request timed out'), { name: 'McpError', code: -32001 });

describe('clock jumps without timers (a VM pause)', () => {
  it('probes a session idle longer than idleValidationMs by clock.now() before reusing it', async () => {
    const h = harness({ idleValidationMs: 60_000 });
    (await h.registry.acquire(h.request('A'))).release();
    h.clock.jump(60_001);
    (await h.registry.acquire(h.request('A'))).release();
    expect(h.events.payloads('probe')).toMatchObject([{ healthy: true, method: 'ping' }]);
    expect(h.factory.createCalls).toBe(1);
    await h.shutdown();
  });

  it('does not probe a session idle for exactly idleValidationMs', async () => {
    const h = harness({ idleValidationMs: 60_000 });
    (await h.registry.acquire(h.request('A'))).release();
    h.clock.jump(60_000);
    (await h.registry.acquire(h.request('A'))).release();
    expect(h.events.payloads('probe')).toEqual([]);
    await h.shutdown();
  });

  it('never hands out a session past idleTtlMs, even before its sweep timer ran', async () => {
    const h = harness({ idleTtlMs: 10_000 });
    const first = await h.registry.acquire(h.request('A'));
    const old = first.client;
    first.release();
    h.clock.jump(10_000);
    const lease = await h.registry.acquire(h.request('A'));
    expect(lease.client).not.toBe(old);
    expect(h.evictions()).toEqual(['A/counter:idle']);
    lease.release();
    await h.shutdown();
  });

  it('never hands out a session past maxAgeMs, even before its sweep timer ran', async () => {
    const h = harness({ maxAgeMs: 30_000, idleValidationMs: 3_600_000 });
    (await h.registry.acquire(h.request('A'))).release();
    h.clock.jump(30_000);
    const lease = await h.registry.acquire(h.request('A'));
    expect(h.evictions()).toEqual(['A/counter:max-age']);
    expect(h.factory.createCalls).toBe(2);
    lease.release();
    await h.shutdown();
  });

  it('a session with an open lease is reused without a probe however long ago it was created', async () => {
    const h = harness({ idleValidationMs: 1_000 });
    const open = await h.registry.acquire(h.request('A'));
    h.clock.jump(5_000);
    const second = await h.registry.acquire(h.request('A'));
    expect(second.client).toBe(open.client);
    expect(h.events.payloads('probe')).toEqual([]);
    open.release();
    second.release();
    await h.shutdown();
  });
});

describe('suspect sessions', () => {
  for (const [label, error] of [
    ['a request timeout (-32001)', timeout()],
    ['an HTTP 503', Object.assign(new Error('Error POSTing to endpoint (HTTP 503): Service Unavailable'), { name: 'StreamableHTTPError', code: 503 })],
    ['an HTTP 429', Object.assign(new Error('Error POSTing to endpoint (HTTP 429): Too Many Requests'), { name: 'StreamableHTTPError', code: 429 })],
  ] as const) {
    it(`after ${label}, the next acquire probes before reuse, whatever the idle time; a healthy probe clears the mark`, async () => {
      const h = harness();
      const lease = await h.registry.acquire(h.request('A'));
      lease.release(error);
      expect(h.registry.snapshot().entries[0]).toMatchObject({ suspect: true });
      (await h.registry.acquire(h.request('A'))).release();
      expect(h.events.payloads('probe')).toHaveLength(1);
      expect(h.registry.snapshot().entries[0]).toMatchObject({ suspect: false });
      (await h.registry.acquire(h.request('A'))).release();
      expect(h.events.payloads('probe')).toHaveLength(1);
      expect(h.factory.createCalls).toBe(1);
      await h.shutdown();
    });
  }

  it('a frozen upstream is replaced after one timed-out call instead of never while traffic continues', async () => {
    const h = harness({ probeTimeoutMs: 1_000 });
    const lease = await h.registry.acquire(h.request('A'));
    h.factory.created[0]!.client.script.ping = 'timeout';
    lease.release(timeout());
    const next = h.registry.acquire(h.request('A'));
    await h.clock.advance(1_000);
    const fresh = await next;
    expect(h.evictions()).toEqual(['A/counter:probe-failed']);
    expect(fresh.client).toBe(h.factory.created[1]!.client);
    fresh.release();
    await h.shutdown();
  });

  it('401, 403, tool errors and application errors do not mark a session suspect', async () => {
    const h = harness();
    for (const error of [
      Object.assign(new Error('Error POSTing to endpoint (HTTP 401): Unauthorized'), { name: 'StreamableHTTPError', code: 401 }),
      Object.assign(new Error('Error POSTing to endpoint (HTTP 403): Forbidden'), { name: 'StreamableHTTPError', code: 403 }),
      new Error('the tool said no'),
    ]) {
      (await h.registry.acquire(h.request('A'))).release(error);
    }
    expect(h.registry.snapshot().entries[0]).toMatchObject({ suspect: false });
    expect(h.events.payloads('probe')).toEqual([]);
    await h.shutdown();
  });
});

describe('lease.info', () => {
  it('is the session as it was when the lease was taken', async () => {
    const h = harness();
    const a = await h.registry.acquire(h.request('A'));
    const b = await h.registry.acquire(h.request('A'));
    a.release();
    b.release();
    expect([a.info.useCount, b.info.useCount]).toEqual([1, 2]);
    expect([a.info.inFlight, b.info.inFlight]).toEqual([1, 2]);
    await h.shutdown();
  });
});
