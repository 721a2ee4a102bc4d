import { describe, expect, it } from 'vitest';
import { InMemoryEraStore } from '../../src/eras/in-memory.js';
import { InvalidOptionsError } from '../../src/errors.js';
import { ManualClock } from '../../src/testing/index.js';
import { describeEraStoreContract } from './contract.js';

describeEraStoreContract('InMemoryEraStore', async () => {
  const clock = new ManualClock();
  const store = new InMemoryEraStore({ clock });
  return {
    store,
    peer: () => Promise.resolve(store),
    shortTtlMs: 1_000,
    elapse: async (ms) => {
      await clock.advance(ms);
    },
  };
});

describe('InMemoryEraStore options', () => {
  it('rejects unknown options and a clock without now()', () => {
    expect(() => new InMemoryEraStore({ ttl: 1 } as never)).toThrow(InvalidOptionsError);
    expect(() => new InMemoryEraStore({ clock: {} as never })).toThrow(InvalidOptionsError);
    expect(() => new InMemoryEraStore(null as never)).toThrow(InvalidOptionsError);
  });

  it('sweeps expired verdicts as it grows', async () => {
    const clock = new ManualClock();
    const store = new InMemoryEraStore({ clock });
    for (let i = 0; i < 1_000; i += 1) await store.set(`old-${i}`, { era: 'legacy', checkedAt: 0 }, 10);
    await clock.advance(10);
    for (let i = 0; i < 1_100; i += 1) await store.set(`new-${i}`, { era: 'legacy', checkedAt: 0 }, 60_000);
    expect(store.size).toBeLessThanOrEqual(1_100 + 24);
  });
});
