/**
 * The EraStore contract (SPEC §8), shared by every store implementation. Each store's test file calls
 * `describeEraStoreContract` with a harness factory.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EraStore, type EraVerdict } from '../../src/eras/store.js';
import { InvalidRequestError } from '../../src/errors.js';

/** How the contract drives one store implementation. */
export interface EraStoreHarness {
  store: EraStore;
  /** A second store over the same backend (another connection where the backend has them). */
  peer(): Promise<EraStore>;
  /** A TTL short enough for the suite to let it pass. */
  shortTtlMs: number;
  /** Lets `ms` of store time pass (a ManualClock advance, or a real wait for a real server). */
  elapse(ms: number): Promise<void>;
  dispose?: () => Promise<void>;
}

const KEY = 'a'.repeat(64);
const MODERN: EraVerdict = {
  era: 'modern',
  discover: { supportedVersions: ['2026-07-28'], capabilities: { tools: { listChanged: true } }, _meta: { 'io.modelcontextprotocol/serverInfo': { name: 's', version: '1' } } },
  checkedAt: 1_000,
};
const LEGACY: EraVerdict = { era: 'legacy', checkedAt: 2_000 };

/** Keys a store must keep apart and store safely (it encodes them itself). */
export const HOSTILE_KEYS: readonly string[] = ['a:b', 'era:x', '*', 'a*b?c[d]', 'with space', 'line\nbreak', '{tag}', 'ü-日本-🙂', '%41', 'A'];

export function describeEraStoreContract(name: string, setup: () => Promise<EraStoreHarness>): void {
  describe(`${name} (EraStore contract)`, () => {
    let harness: EraStoreHarness;
    beforeEach(async () => {
      harness = await setup();
    });
    afterEach(async () => {
      await harness.dispose?.();
    });

    it('returns undefined for a key it never stored', async () => {
      expect(await harness.store.get(KEY)).toBeUndefined();
    });

    it('returns what was stored, for both eras, as an equal copy', async () => {
      await harness.store.set(KEY, MODERN, 60_000);
      await harness.store.set('b'.repeat(64), LEGACY, 60_000);
      expect(await harness.store.get(KEY)).toEqual(MODERN);
      expect(await harness.store.get('b'.repeat(64))).toEqual(LEGACY);
    });

    it('hands out copies: mutating a result or the stored input changes nothing', async () => {
      const input = structuredClone(MODERN);
      await harness.store.set(KEY, input, 60_000);
      if (input.era === 'modern') input.discover.supportedVersions = ['tampered'];
      const first = await harness.store.get(KEY);
      if (first?.era === 'modern') first.discover.capabilities = {};
      expect(await harness.store.get(KEY)).toEqual(MODERN);
    });

    it('replaces a verdict on set', async () => {
      await harness.store.set(KEY, MODERN, 60_000);
      await harness.store.set(KEY, LEGACY, 60_000);
      expect(await harness.store.get(KEY)).toEqual(LEGACY);
    });

    it('forgets a verdict on delete, and deleting a missing key is harmless', async () => {
      await harness.store.set(KEY, MODERN, 60_000);
      await harness.store.delete(KEY);
      await harness.store.delete(KEY);
      expect(await harness.store.get(KEY)).toBeUndefined();
    });

    it('expires a verdict after its ttl', async () => {
      await harness.store.set(KEY, LEGACY, harness.shortTtlMs);
      expect(await harness.store.get(KEY)).toEqual(LEGACY);
      await harness.elapse(harness.shortTtlMs);
      expect(await harness.store.get(KEY)).toBeUndefined();
    });

    it('shares verdicts with another store on the same backend', async () => {
      const peer = await harness.peer();
      await harness.store.set(KEY, MODERN, 60_000);
      expect(await peer.get(KEY)).toEqual(MODERN);
      await peer.delete(KEY);
      expect(await harness.store.get(KEY)).toBeUndefined();
    });

    it('keeps hostile keys apart', async () => {
      for (const [index, key] of HOSTILE_KEYS.entries()) await harness.store.set(key, { era: 'legacy', checkedAt: index }, 60_000);
      for (const [index, key] of HOSTILE_KEYS.entries()) expect(await harness.store.get(key)).toEqual({ era: 'legacy', checkedAt: index });
    });

    it('rejects bad keys, verdicts and ttls with InvalidRequestError', async () => {
      const store = harness.store;
      await expect(store.get('')).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(store.get('x'.repeat(1025))).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(store.delete(42 as unknown as string)).rejects.toBeInstanceOf(InvalidRequestError);
      for (const ttl of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10' as unknown as number]) {
        await expect(store.set(KEY, LEGACY, ttl)).rejects.toBeInstanceOf(InvalidRequestError);
      }
      for (const verdict of [
        null,
        {},
        { era: 'future', checkedAt: 1 },
        { era: 'legacy' },
        { era: 'legacy', checkedAt: Number.NaN },
        { era: 'modern', checkedAt: 1 },
        { era: 'modern', discover: [], checkedAt: 1 },
      ]) {
        await expect(store.set(KEY, verdict as unknown as EraVerdict, 60_000)).rejects.toBeInstanceOf(InvalidRequestError);
      }
      expect(await store.get(KEY)).toBeUndefined();
    });
  });
}
