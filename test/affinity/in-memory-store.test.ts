import { describe, expect, it } from 'vitest';
import { InMemoryAffinityStore } from '../../src/affinity/in-memory.js';
import { InvalidOptionsError } from '../../src/errors.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { describeAffinityStoreContract } from './contract.js';

describeAffinityStoreContract('InMemoryAffinityStore', async () => {
  const clock = new ManualClock();
  const store = new InMemoryAffinityStore({ clock });
  return {
    store,
    peers: async (n) => Array.from({ length: n }, () => store),
    shortTtlMs: 100,
    elapse: (ms) => clock.advance(ms),
  };
});

describe('InMemoryAffinityStore', () => {
  it('expires a claim exactly when its TTL has passed on the clock', async () => {
    const clock = new ManualClock();
    const store = new InMemoryAffinityStore({ clock });
    await store.claim('s1', 'w1', 1_000);
    await clock.advance(999);
    await expect(store.owner('s1')).resolves.toBe('w1');
    await clock.advance(1);
    await expect(store.owner('s1')).resolves.toBeNull();
  });

  it('expires a heartbeat exactly when its TTL has passed on the clock', async () => {
    const clock = new ManualClock();
    const store = new InMemoryAffinityStore({ clock });
    await store.heartbeat('w1', 300);
    await clock.advance(299);
    await expect(store.isAlive('w1')).resolves.toBe(true);
    await clock.advance(1);
    await expect(store.isAlive('w1')).resolves.toBe(false);
  });

  it('runs no timers of its own', async () => {
    const clock = new ManualClock();
    const store = new InMemoryAffinityStore({ clock });
    await store.claim('s1', 'w1', 1_000);
    await store.heartbeat('w1', 1_000);
    expect(clock.pendingTimers).toBe(0);
  });

  it('uses the system clock by default', async () => {
    const store = new InMemoryAffinityStore();
    await expect(store.claim('s1', 'w1', 60_000)).resolves.toBe('w1');
    await store.heartbeat('w1', 60_000);
    await expect(store.isAlive('w1')).resolves.toBe(true);
  });

  it('drops expired records as it grows, and keeps the live ones', async () => {
    const clock = new ManualClock();
    const store = new InMemoryAffinityStore({ clock });
    for (let i = 0; i < 3_000; i += 1) await store.claim(`old-${i}`, 'w1', 10);
    await clock.advance(10);
    for (let i = 0; i < 3_000; i += 1) await store.claim(`new-${i}`, 'w2', 60_000);
    await expect(store.owner('old-0')).resolves.toBeNull();
    await expect(store.owner('old-2999')).resolves.toBeNull();
    await expect(store.owner('new-0')).resolves.toBe('w2');
    await expect(store.owner('new-2999')).resolves.toBe('w2');
  });

  describe('options', () => {
    it.each([
      ['a non-object', 'clock'],
      ['an array', []],
      ['null', null],
    ])('rejects %s', (_label, options) => {
      expect(() => new InMemoryAffinityStore(options as never)).toThrow(InvalidOptionsError);
    });

    it('rejects an unknown option, naming it', () => {
      expect(() => new InMemoryAffinityStore({ clok: new ManualClock() } as never)).toThrow(/Unknown option `clok`/);
    });

    it('rejects a clock without now()', () => {
      expect(() => new InMemoryAffinityStore({ clock: {} as never })).toThrow(InvalidOptionsError);
      expect(() => new InMemoryAffinityStore({ clock: null as never })).toThrow(/`clock`/);
    });
  });
});
