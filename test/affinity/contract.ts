/**
 * The AffinityStore contract (SPEC §6), shared by every store implementation.
 * Each store's test file calls `describeAffinityStoreContract` with a harness factory.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AffinityStore } from '../../src/affinity/store.js';
import { InvalidRequestError } from '../../src/errors.js';

/** How the contract drives one store implementation. */
export interface StoreHarness {
  store: AffinityStore;
  /** `n` stores over the same backend (separate connections where the backend has them). */
  peers(n: number): Promise<AffinityStore[]>;
  /** A TTL short enough for the suite to let it pass. */
  shortTtlMs: number;
  /** Lets `ms` of store time pass (a ManualClock advance, or a real wait for a real server). */
  elapse(ms: number): Promise<void>;
  /** Every key in the backend, where it has keys (the hostile-id test checks they stay in `prefix`). */
  keys?: () => Promise<string[]>;
  prefix?: string;
  dispose?: () => Promise<void>;
}

/** Ids that break naive key building: separators, globs, whitespace, hash tags, length, unicode. */
export const HOSTILE_IDS: readonly string[] = [
  'a:b',
  'owner:x',
  '::',
  '*',
  'a*b?c[d]',
  'with space',
  ' leading',
  'tab\there',
  'line\nbreak',
  '{tag}',
  '}{',
  'pre{fix}post',
  'x'.repeat(256),
  'ü-ñ-日本-🙂',
  '%41',
  'A',
  'a%3Ab',
  '..',
  '/',
  '\\',
  '"quoted"',
];

const LONG_TTL = 60_000;

export function describeAffinityStoreContract(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`${name} — AffinityStore contract`, () => {
    let h: StoreHarness;
    let store: AffinityStore;

    beforeEach(async () => {
      h = await makeHarness();
      store = h.store;
    });
    afterEach(async () => {
      await h.dispose?.();
    });

    describe('claim', () => {
      it('claims a vacant session for the caller and returns the caller', async () => {
        await expect(store.claim('s1', 'w1', LONG_TTL)).resolves.toBe('w1');
        await expect(store.owner('s1')).resolves.toBe('w1');
      });

      it('returns the existing owner to another worker and leaves the claim alone', async () => {
        await store.claim('s1', 'w1', LONG_TTL);
        await expect(store.claim('s1', 'w2', LONG_TTL)).resolves.toBe('w1');
        await expect(store.owner('s1')).resolves.toBe('w1');
      });

      it('is idempotent for the owner and extends its claim', async () => {
        await store.claim('s1', 'w1', h.shortTtlMs);
        await expect(store.claim('s1', 'w1', LONG_TTL)).resolves.toBe('w1');
        await h.elapse(h.shortTtlMs);
        await expect(store.owner('s1')).resolves.toBe('w1');
      });

      it('keeps sessions independent', async () => {
        await store.claim('s1', 'w1', LONG_TTL);
        await expect(store.claim('s2', 'w2', LONG_TTL)).resolves.toBe('w2');
        await expect(store.owner('s1')).resolves.toBe('w1');
        await expect(store.owner('s2')).resolves.toBe('w2');
      });

      it('lets another worker claim once the TTL has passed', async () => {
        await store.claim('s1', 'w1', h.shortTtlMs);
        await h.elapse(h.shortTtlMs);
        await expect(store.owner('s1')).resolves.toBeNull();
        await expect(store.claim('s1', 'w2', LONG_TTL)).resolves.toBe('w2');
      });

      it('has exactly one winner among 8 concurrent claimers', async () => {
        const peers = await h.peers(8);
        const results = await Promise.all(peers.map((peer, i) => peer.claim('contested', `w${i}`, LONG_TTL)));
        const winners = new Set(results);
        expect(winners.size).toBe(1);
        const [winner] = winners;
        expect(peers.map((_, i) => `w${i}`)).toContain(winner);
        await expect(store.owner('contested')).resolves.toBe(winner);
      });

      it('has exactly one winner per session when 8 claimers race for 20 sessions', async () => {
        const peers = await h.peers(8);
        const ids = Array.from({ length: 20 }, (_, i) => `race-${i}`);
        const results = await Promise.all(
          peers.map((peer, w) => Promise.all(ids.map((id) => peer.claim(id, `w${w}`, LONG_TTL)))),
        );
        for (const [i, id] of ids.entries()) {
          const owners = new Set(results.map((perWorker) => perWorker[i]));
          expect(owners.size).toBe(1);
          await expect(store.owner(id)).resolves.toBe([...owners][0]);
        }
      });
    });

    describe('refresh', () => {
      it('lets the owner set its claim to expire ttlMs from now', async () => {
        await store.claim('s1', 'w1', LONG_TTL);
        await expect(store.refresh('s1', 'w1', LONG_TTL)).resolves.toBe(true);
        await expect(store.owner('s1')).resolves.toBe('w1');
        await expect(store.refresh('s1', 'w1', h.shortTtlMs)).resolves.toBe(true);
        await h.elapse(h.shortTtlMs);
        await expect(store.owner('s1')).resolves.toBeNull();
      });

      it('refuses a worker that does not own the claim', async () => {
        await store.claim('s1', 'w1', h.shortTtlMs);
        await expect(store.refresh('s1', 'w2', LONG_TTL)).resolves.toBe(false);
        await h.elapse(h.shortTtlMs);
        await expect(store.owner('s1')).resolves.toBeNull();
      });

      it('does not create a claim for a vacant session', async () => {
        await expect(store.refresh('s1', 'w1', LONG_TTL)).resolves.toBe(false);
        await expect(store.owner('s1')).resolves.toBeNull();
      });

      it('fails after the claim expired', async () => {
        await store.claim('s1', 'w1', h.shortTtlMs);
        await h.elapse(h.shortTtlMs);
        await expect(store.refresh('s1', 'w1', LONG_TTL)).resolves.toBe(false);
        await expect(store.owner('s1')).resolves.toBeNull();
      });
    });

    describe('release', () => {
      it('deletes the claim of the owner', async () => {
        await store.claim('s1', 'w1', LONG_TTL);
        await expect(store.release('s1', 'w1')).resolves.toBe(true);
        await expect(store.owner('s1')).resolves.toBeNull();
        await expect(store.claim('s1', 'w2', LONG_TTL)).resolves.toBe('w2');
      });

      it('refuses a worker that does not own the claim', async () => {
        await store.claim('s1', 'w1', LONG_TTL);
        await expect(store.release('s1', 'w2')).resolves.toBe(false);
        await expect(store.owner('s1')).resolves.toBe('w1');
      });

      it('returns false for a vacant session', async () => {
        await expect(store.release('s1', 'w1')).resolves.toBe(false);
      });
    });

    describe('reclaim', () => {
      it('moves the claim from the named dead worker to the caller', async () => {
        await store.claim('s1', 'dead', LONG_TTL);
        await expect(store.reclaim('s1', 'dead', 'w2', LONG_TTL)).resolves.toBe(true);
        await expect(store.owner('s1')).resolves.toBe('w2');
      });

      it('is a compare-and-set: fails when someone else already holds the claim', async () => {
        await store.claim('s1', 'dead', LONG_TTL);
        await expect(store.reclaim('s1', 'dead', 'w2', LONG_TTL)).resolves.toBe(true);
        await expect(store.reclaim('s1', 'dead', 'w3', LONG_TTL)).resolves.toBe(false);
        await expect(store.owner('s1')).resolves.toBe('w2');
      });

      it('lets exactly one of 8 concurrent reclaimers win', async () => {
        await store.claim('s1', 'dead', LONG_TTL);
        const peers = await h.peers(8);
        const results = await Promise.all(peers.map((peer, i) => peer.reclaim('s1', 'dead', `w${i}`, LONG_TTL)));
        expect(results.filter(Boolean)).toHaveLength(1);
        await expect(store.owner('s1')).resolves.toBe(`w${results.indexOf(true)}`);
      });

      it('does not create a claim for a vacant session', async () => {
        await expect(store.reclaim('s1', 'dead', 'w2', LONG_TTL)).resolves.toBe(false);
        await expect(store.owner('s1')).resolves.toBeNull();
      });

      it('gives the new claim the new TTL', async () => {
        await store.claim('s1', 'dead', LONG_TTL);
        await store.reclaim('s1', 'dead', 'w2', h.shortTtlMs);
        await h.elapse(h.shortTtlMs);
        await expect(store.owner('s1')).resolves.toBeNull();
      });
    });

    describe('owner', () => {
      it('is null for a session nobody claimed', async () => {
        await expect(store.owner('never-claimed')).resolves.toBeNull();
      });
    });

    describe('heartbeat and isAlive', () => {
      it('a worker without a heartbeat is not alive', async () => {
        await expect(store.isAlive('w1')).resolves.toBe(false);
      });

      it('a heartbeat makes the worker alive', async () => {
        await store.heartbeat('w1', LONG_TTL);
        await expect(store.isAlive('w1')).resolves.toBe(true);
        await expect(store.isAlive('w2')).resolves.toBe(false);
      });

      it('a worker is dead once the TTL of its last heartbeat has passed', async () => {
        await store.heartbeat('w1', LONG_TTL);
        await store.heartbeat('w1', h.shortTtlMs);
        await h.elapse(h.shortTtlMs);
        await expect(store.isAlive('w1')).resolves.toBe(false);
      });

      it('a later heartbeat extends liveness', async () => {
        await store.heartbeat('w1', h.shortTtlMs);
        await store.heartbeat('w1', LONG_TTL);
        await h.elapse(h.shortTtlMs);
        await expect(store.isAlive('w1')).resolves.toBe(true);
      });

      it('heartbeats and claims do not collide when a worker id equals a session id', async () => {
        await store.heartbeat('same', LONG_TTL);
        await expect(store.owner('same')).resolves.toBeNull();
        await store.claim('other', 'x', LONG_TTL);
        await expect(store.isAlive('other')).resolves.toBe(false);
      });
    });

    describe('hostile ids', () => {
      it('round-trips every id as a distinct session and worker', async () => {
        for (const [i, id] of HOSTILE_IDS.entries()) {
          await expect(store.claim(id, `worker-${i}`, LONG_TTL)).resolves.toBe(`worker-${i}`);
          await store.heartbeat(id, LONG_TTL);
        }
        for (const [i, id] of HOSTILE_IDS.entries()) {
          await expect(store.owner(id)).resolves.toBe(`worker-${i}`);
          await expect(store.isAlive(id)).resolves.toBe(true);
        }
        await expect(store.owner('a')).resolves.toBeNull();
        await expect(store.owner('x'.repeat(255))).resolves.toBeNull();
      });

      it('uses hostile worker ids as opaque owners', async () => {
        for (const [i, id] of HOSTILE_IDS.entries()) {
          const session = `session-${i}`;
          await expect(store.claim(session, id, LONG_TTL)).resolves.toBe(id);
          await expect(store.refresh(session, id, LONG_TTL)).resolves.toBe(true);
          await expect(store.reclaim(session, id, `${id}-next`, LONG_TTL)).resolves.toBe(true);
          await expect(store.release(session, `${id}-next`)).resolves.toBe(true);
        }
      });

      it('keeps every key inside the prefix and free of hash tags', async ({ skip }) => {
        if (h.keys === undefined || h.prefix === undefined) {
          skip('this store has no keys to list');
          return;
        }
        for (const [i, id] of HOSTILE_IDS.entries()) {
          await store.claim(id, `worker-${i}`, LONG_TTL);
          await store.heartbeat(id, LONG_TTL);
        }
        const keys = await h.keys();
        expect(keys).toHaveLength(2 * HOSTILE_IDS.length);
        for (const key of keys) {
          expect(key.startsWith(h.prefix)).toBe(true);
          expect(key.slice(h.prefix.length)).toMatch(/^(owner|hb):[A-Za-z0-9._~%-]+$/);
        }
      });
    });

    describe('arguments', () => {
      it.each([
        ['empty session id', (s: AffinityStore) => s.claim('', 'w', 1000)],
        ['non-string session id', (s: AffinityStore) => s.owner(42 as unknown as string)],
        ['empty worker id', (s: AffinityStore) => s.heartbeat('', 1000)],
        ['over-long id', (s: AffinityStore) => s.isAlive('x'.repeat(5000))],
        ['zero TTL', (s: AffinityStore) => s.claim('s', 'w', 0)],
        ['negative TTL', (s: AffinityStore) => s.refresh('s', 'w', -1)],
        ['fractional TTL', (s: AffinityStore) => s.reclaim('s', 'a', 'b', 1.5)],
        ['NaN TTL', (s: AffinityStore) => s.heartbeat('w', Number.NaN)],
        ['missing dead worker id', (s: AffinityStore) => s.reclaim('s', undefined as unknown as string, 'b', 10)],
        ['missing release worker id', (s: AffinityStore) => s.release('s', null as unknown as string)],
      ])('rejects %s with InvalidRequestError', async (_label, call) => {
        await expect(call(store)).rejects.toBeInstanceOf(InvalidRequestError);
      });
    });
  });
}
