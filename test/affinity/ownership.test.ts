import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryAffinityStore } from '../../src/affinity/in-memory.js';
import { Ownership, type OwnershipOptions } from '../../src/affinity/ownership.js';
import { NotOwnerError } from '../../src/errors.js';
import { type AffinityErrorEvent } from '../../src/events.js';
import { type LogFields, type Logger } from '../../src/logger.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { ScriptedStore } from './scripted-store.js';

const TTL_MS = 30_000;
const HEARTBEAT_MS = 1_000;
const STORE_TIMEOUT_MS = 500;

interface LogLine {
  level: keyof Logger;
  message: string;
  fields: LogFields | undefined;
}

const open: Ownership[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((ownership) => ownership.close()));
});

function recordingLogger(lines: LogLine[]): Logger {
  const at =
    (level: keyof Logger) =>
    (message: string, fields?: LogFields): void => {
      lines.push({ level, message, fields });
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

interface World {
  clock: ManualClock;
  inner: InMemoryAffinityStore;
}

function world(): World {
  const clock = new ManualClock();
  return { clock, inner: new InMemoryAffinityStore({ clock }) };
}

function worker(w: World, workerId: string, overrides: Partial<OwnershipOptions> = {}) {
  const store = new ScriptedStore(w.inner);
  const errors: AffinityErrorEvent[] = [];
  const logs: LogLine[] = [];
  const ownership = new Ownership({
    store,
    workerId,
    ttlMs: TTL_MS,
    heartbeatMs: HEARTBEAT_MS,
    clock: w.clock,
    logger: recordingLogger(logs),
    onError: (event) => errors.push(event),
    storeTimeoutMs: STORE_TIMEOUT_MS,
    ...overrides,
  });
  open.push(ownership);
  return { store, errors, logs, ownership };
}

describe('Ownership.route', () => {
  it('claims a vacant session: local, and the store records this worker as owner', async () => {
    const w = world();
    const { ownership } = worker(w, 'w1');
    await expect(ownership.route('s1')).resolves.toEqual({ local: true, owner: 'w1' });
    await expect(w.inner.owner('s1')).resolves.toBe('w1');
  });

  it('writes the heartbeat before the first claim, with a TTL of 3 × heartbeatMs', async () => {
    const w = world();
    const { ownership, store } = worker(w, 'w1');
    await ownership.route('s1');
    expect(store.operations()).toEqual(['heartbeat', 'claim']);
    expect(store.calls[0]?.args).toEqual(['w1', 3 * HEARTBEAT_MS]);
    expect(store.calls[1]?.args).toEqual(['s1', 'w1', TTL_MS]);
  });

  it('answers remote with the owner when a live worker owns the session', async () => {
    const w = world();
    const a = worker(w, 'w1');
    const b = worker(w, 'w2');
    await a.ownership.route('s1');
    await expect(b.ownership.route('s1')).resolves.toEqual({ local: false, owner: 'w1' });
    expect(b.store.count('reclaim')).toBe(0);
    await expect(w.inner.owner('s1')).resolves.toBe('w1');
  });

  it('reclaims a session whose owner has no heartbeat', async () => {
    const w = world();
    await w.inner.claim('s1', 'dead', TTL_MS);
    const { ownership, logs } = worker(w, 'w2');
    await expect(ownership.route('s1')).resolves.toEqual({ local: true, owner: 'w2' });
    await expect(w.inner.owner('s1')).resolves.toBe('w2');
    expect(logs.some((line) => line.level === 'info' && line.fields?.deadWorkerId === 'dead')).toBe(true);
  });

  it('reclaims from a worker whose heartbeat expired (3 × heartbeatMs after its last beat)', async () => {
    const w = world();
    const a = worker(w, 'w1');
    const b = worker(w, 'w2');
    await a.ownership.route('s1');
    await a.ownership.close(); // stops heartbeating, but s1 was never tracked, so the claim stays
    await expect(b.ownership.route('s1')).resolves.toEqual({ local: false, owner: 'w1' });
    await w.clock.advance(3 * HEARTBEAT_MS);
    await expect(b.ownership.route('s1')).resolves.toEqual({ local: true, owner: 'w2' });
  });

  it('lets exactly one of several workers reclaim a dead worker’s session; the others see the winner', async () => {
    const w = world();
    await w.inner.claim('s1', 'dead', TTL_MS);
    const workers = ['w1', 'w2', 'w3', 'w4'].map((id) => worker(w, id));
    const decisions = await Promise.all(workers.map(({ ownership }) => ownership.route('s1')));
    const locals = decisions.filter((decision) => decision.local);
    expect(locals).toHaveLength(1);
    const winner = locals[0]!.owner;
    for (const decision of decisions) expect(decision.owner).toBe(winner);
    await expect(w.inner.owner('s1')).resolves.toBe(winner);
    expect(workers.reduce((sum, { store }) => sum + store.count('reclaim'), 0)).toBeGreaterThanOrEqual(1);
  });

  it('after losing a reclaim, re-reads the owner and routes to the winner', async () => {
    const w = world();
    await w.inner.claim('s1', 'dead', TTL_MS);
    const loser = worker(w, 'w2');
    await w.inner.heartbeat('w3', 60_000);
    // w3 wins the race between w2's isAlive check and its reclaim
    const reclaim = loser.store.reclaim.bind(loser.store);
    loser.store.reclaim = async (...args) => {
      await w.inner.reclaim('s1', 'dead', 'w3', TTL_MS);
      return reclaim(...args);
    };
    await expect(loser.ownership.route('s1')).resolves.toEqual({ local: false, owner: 'w3' });
  });

  it('claims a session that expired between a lost reclaim and the re-read', async () => {
    const w = world();
    await w.inner.claim('s1', 'dead', TTL_MS);
    const { ownership, store } = worker(w, 'w2');
    store.reclaim = async () => {
      await w.inner.release('s1', 'dead');
      return false;
    };
    await expect(ownership.route('s1')).resolves.toEqual({ local: true, owner: 'w2' });
    await expect(w.inner.owner('s1')).resolves.toBe('w2');
  });

  it('gives up after a bounded number of rounds and reports the owner it last saw', async () => {
    const w = world();
    await w.inner.claim('s1', 'dead', TTL_MS);
    const { ownership, store } = worker(w, 'w2');
    store.reclaim = () => Promise.resolve(false); // every reclaim loses, the dead owner stays
    await expect(ownership.route('s1')).resolves.toEqual({ local: false, owner: 'dead' });
    expect(store.count('claim')).toBe(3);
  });

  it('never caches: a claim lost to another worker is routed remote on the next call', async () => {
    const w = world();
    const a = worker(w, 'w1');
    await expect(a.ownership.route('s1')).resolves.toMatchObject({ local: true });
    await w.inner.heartbeat('w2', 60_000);
    await w.inner.reclaim('s1', 'w1', 'w2', TTL_MS);
    await expect(a.ownership.route('s1')).resolves.toEqual({ local: false, owner: 'w2' });
  });

  describe('store failures fail open', () => {
    it('a rejected claim → local, affinity error with operation and session, warning without secrets', async () => {
      const w = world();
      const { ownership, store, errors, logs } = worker(w, 'w1');
      store.behaviour.claim = 'reject';
      await expect(ownership.route('s1')).resolves.toEqual({ local: true, owner: 'w1' });
      expect(errors).toEqual([{ operation: 'claim', downstreamSessionId: 's1', error: expect.any(Error) }]);
      const warning = logs.find((line) => line.level === 'warn');
      expect(warning?.fields).toMatchObject({ operation: 'claim', workerId: 'w1', errorMessage: expect.stringContaining('refused') });
      expect(JSON.stringify(warning)).not.toContain('s1');
    });

    it('store errors are logged with URLs and credentials sanitized', async () => {
      const w = world();
      const { ownership, store, logs, errors } = worker(w, 'w1');
      store.behaviour.claim = 'reject';
      store.rejections.claim = new Error(
        'connect ECONNREFUSED redis://default:hunter2-SECRET@cache.internal:6379/0?password=pw-SECRET (AUTH Bearer tk-SECRET)',
      );
      await expect(ownership.route('s1')).resolves.toEqual({ local: true, owner: 'w1' });
      const text = JSON.stringify(logs);
      expect(text).not.toContain('SECRET');
      expect(text).toContain('redis://***:***@cache.internal:6379/0?password=***');
      // affinity:error carries the redacted message too; the raw error stays reachable as its cause (the host's).
      expect(errors).toHaveLength(1);
      const emitted = errors[0]!.error as Error;
      expect(emitted.message).not.toContain('SECRET');
      expect(emitted.cause).toBe(store.rejections.claim);
    });

    it('a throwing logger and onError hook with a failing store never change a decision or leak a rejection', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => {
        unhandled.push(reason);
      };
      process.on('unhandledRejection', onUnhandled);
      try {
        const w = world();
        const explode = (): never => {
          throw new Error('logger is broken');
        };
        const { ownership, store } = worker(w, 'w1', {
          logger: { debug: explode, info: explode, warn: explode, error: explode },
          onError: explode,
        });
        for (const operation of ['heartbeat', 'claim', 'refresh', 'release'] as const) store.behaviour[operation] = 'reject';
        await expect(ownership.route('s1')).resolves.toEqual({ local: true, owner: 'w1' });
        await expect(ownership.ensureLocal('s1')).resolves.toBeUndefined();
        ownership.track('s1');
        await w.clock.advance(TTL_MS);
        ownership.release('s1');
        await w.clock.flush();
        delete store.behaviour.heartbeat;
        delete store.behaviour.claim;
        await w.inner.claim('s2', 'w2', TTL_MS);
        await w.inner.heartbeat('w2', TTL_MS);
        await expect(ownership.route('s2')).resolves.toEqual({ local: false, owner: 'w2' });
        await expect(ownership.ensureLocal('s2')).rejects.toBeInstanceOf(NotOwnerError);
        await ownership.close();
        await new Promise((resolve) => setImmediate(resolve));
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });

    it('a failed heartbeat → local without claiming (a claim without a heartbeat could be reclaimed)', async () => {
      const w = world();
      const { ownership, store, errors } = worker(w, 'w1');
      store.behaviour.heartbeat = 'reject';
      await expect(ownership.route('s1')).resolves.toEqual({ local: true, owner: 'w1' });
      expect(store.count('claim')).toBe(0);
      expect(errors.map((event) => event.operation)).toEqual(['heartbeat']);
    });

    it.each(['isAlive', 'reclaim'] as const)('a failed %s → local', async (operation) => {
      const w = world();
      await w.inner.claim('s1', 'other', TTL_MS);
      const { ownership, store, errors } = worker(w, 'w1');
      store.behaviour[operation] = 'reject';
      await expect(ownership.route('s1')).resolves.toEqual({ local: true, owner: 'w1' });
      expect(errors.map((event) => event.operation)).toEqual([operation]);
    });

    it('a store that throws synchronously → local', async () => {
      const w = world();
      const { ownership, store, errors } = worker(w, 'w1');
      store.behaviour.claim = 'throw';
      await expect(ownership.route('s1')).resolves.toEqual({ local: true, owner: 'w1' });
      expect(errors).toHaveLength(1);
    });

    it('a hanging store → local after storeTimeoutMs on the clock', async () => {
      const w = world();
      const { ownership, store, errors } = worker(w, 'w1');
      store.behaviour.claim = 'hang';
      let decision: unknown;
      void ownership.route('s1').then((d) => (decision = d));
      await w.clock.flush(); // the heartbeat settles and the claim starts
      await w.clock.advance(STORE_TIMEOUT_MS - 1);
      expect(decision).toBeUndefined();
      await w.clock.advance(1);
      expect(decision).toEqual({ local: true, owner: 'w1' });
      expect(String(errors[0]?.error)).toContain(`within ${STORE_TIMEOUT_MS} ms`);
    });

    it('every claim writes a heartbeat first, also after a failure (the worker never assumes it survived)', async () => {
      const w = world();
      const { ownership, store } = worker(w, 'w1');
      await ownership.route('s1');
      await ownership.route('s2');
      expect(store.operations()).toEqual(['heartbeat', 'claim', 'heartbeat', 'claim']);
      store.behaviour.claim = 'reject';
      await ownership.route('s3');
      delete store.behaviour.claim;
      store.calls.length = 0;
      await ownership.route('s4');
      expect(store.operations()).toEqual(['heartbeat', 'claim']);
    });

    it('concurrent routes share one heartbeat', async () => {
      const w = world();
      const { ownership, store } = worker(w, 'w1');
      await Promise.all(['a', 'b', 'c'].map((id) => ownership.route(id)));
      expect(store.count('heartbeat')).toBe(1);
      expect(store.count('claim')).toBe(3);
    });

    it('an onError hook that throws is logged and does not break routing', async () => {
      const w = world();
      const { ownership, store, logs } = worker(w, 'w1', {
        onError: () => {
          throw new Error('listener bug');
        },
      });
      store.behaviour.claim = 'reject';
      await expect(ownership.route('s1')).resolves.toEqual({ local: true, owner: 'w1' });
      expect(logs.some((line) => line.level === 'error' && line.fields?.errorMessage === 'listener bug')).toBe(true);
    });

    it('reports non-Error rejections too', async () => {
      const w = world();
      const { ownership, store, logs } = worker(w, 'w1');
      store.claim = () => Promise.reject('plain string');
      await expect(ownership.route('s1')).resolves.toMatchObject({ local: true });
      expect(logs.find((line) => line.level === 'warn')?.fields).toMatchObject({ errorMessage: 'plain string' });
    });
  });
});

describe('Ownership.ensureLocal', () => {
  it('claims a vacant session', async () => {
    const w = world();
    const { ownership } = worker(w, 'w1');
    await expect(ownership.ensureLocal('s1')).resolves.toBeUndefined();
    await expect(w.inner.owner('s1')).resolves.toBe('w1');
  });

  it('rejects with NotOwnerError carrying the owner when another live worker owns the session', async () => {
    const w = world();
    await worker(w, 'w1').ownership.route('s1');
    const { ownership } = worker(w, 'w2');
    const error = await ownership.ensureLocal('s1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotOwnerError);
    expect((error as NotOwnerError).owner).toBe('w1');
    expect((error as NotOwnerError).code).toBe('NOT_OWNER');
  });

  it('reclaims from a dead owner', async () => {
    const w = world();
    await w.inner.claim('s1', 'dead', TTL_MS);
    const { ownership } = worker(w, 'w2');
    await expect(ownership.ensureLocal('s1')).resolves.toBeUndefined();
    await expect(w.inner.owner('s1')).resolves.toBe('w2');
  });

  it('fails open when the store fails', async () => {
    const w = world();
    await worker(w, 'w1').ownership.route('s1');
    const { ownership, store, errors } = worker(w, 'w2');
    store.behaviour.claim = 'reject';
    await expect(ownership.ensureLocal('s1')).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
  });

  it('waits for a release of the same session still in flight, so the release cannot delete the new claim', async () => {
    const w = world();
    const { ownership, store } = worker(w, 'w1');
    await ownership.ensureLocal('s1');
    ownership.track('s1');
    store.gated.add('release');
    ownership.release('s1');
    let claimed = false;
    const ensured = ownership.ensureLocal('s1').then(() => (claimed = true));
    await w.clock.flush();
    expect(claimed).toBe(false);
    store.openGate();
    await ensured;
    expect(store.operations().slice(-3)).toEqual(['release', 'heartbeat', 'claim']);
    await expect(w.inner.owner('s1')).resolves.toBe('w1');
  });
});

describe('heartbeats', () => {
  it('start with the first claim, not at construction', async () => {
    const w = world();
    const { ownership, store } = worker(w, 'w1');
    expect(w.clock.pendingTimers).toBe(0);
    await w.clock.advance(10 * HEARTBEAT_MS);
    expect(store.count('heartbeat')).toBe(0);
    await ownership.route('s1');
    expect(store.count('heartbeat')).toBe(1);
  });

  it('repeat every heartbeatMs, keeping the worker alive', async () => {
    const w = world();
    const { ownership, store } = worker(w, 'w1');
    await ownership.route('s1');
    for (let beat = 2; beat <= 6; beat += 1) {
      await w.clock.advance(HEARTBEAT_MS);
      expect(store.count('heartbeat')).toBe(beat);
      await expect(w.inner.isAlive('w1')).resolves.toBe(true);
    }
  });

  it('a failed first heartbeat is retried on the next heartbeatMs tick, not at the next claim refresh', async () => {
    const w = world();
    const { ownership, store, errors } = worker(w, 'w1');
    store.behaviour.heartbeat = 'reject';
    expect(await ownership.route('s1')).toEqual({ local: true, owner: 'w1' });
    expect(errors.map((event) => event.operation)).toEqual(['heartbeat']);
    delete store.behaviour.heartbeat;
    expect(await w.inner.isAlive('w1')).toBe(false);
    await w.clock.advance(HEARTBEAT_MS);
    expect(store.count('heartbeat')).toBe(2);
    expect(await w.inner.isAlive('w1')).toBe(true);
  });

  it('a failed periodic heartbeat is reported and the beat goes on', async () => {
    const w = world();
    const { ownership, store, errors } = worker(w, 'w1');
    await ownership.route('s1');
    store.behaviour.heartbeat = 'reject';
    await w.clock.advance(HEARTBEAT_MS);
    expect(errors.map((event) => event.operation)).toEqual(['heartbeat']);
    expect(errors[0]).not.toHaveProperty('downstreamSessionId');
    delete store.behaviour.heartbeat;
    await w.clock.advance(HEARTBEAT_MS);
    expect(store.count('heartbeat')).toBe(3);
    await expect(w.inner.isAlive('w1')).resolves.toBe(true);
  });

  it('stop at close, so the worker is seen dead 3 × heartbeatMs later', async () => {
    const w = world();
    const { ownership, store } = worker(w, 'w1');
    await ownership.route('s1');
    await ownership.close();
    expect(w.clock.pendingTimers).toBe(0);
    await w.clock.advance(3 * HEARTBEAT_MS);
    expect(store.count('heartbeat')).toBe(1);
    await expect(w.inner.isAlive('w1')).resolves.toBe(false);
  });
});

describe('refreshing tracked claims', () => {
  it('refreshes every tracked claim in one batch every ttlMs / 3, so they outlive their TTL', async () => {
    const w = world();
    const { ownership, store } = worker(w, 'w1');
    for (const id of ['a', 'b', 'c']) {
      await ownership.ensureLocal(id);
      ownership.track(id);
    }
    await ownership.route('untracked');
    await w.clock.advance(TTL_MS / 3 - 1);
    expect(store.count('refresh')).toBe(0);
    await w.clock.advance(1);
    expect(store.count('refresh')).toBe(3);
    await w.clock.advance(TTL_MS); // three more batches
    expect(store.count('refresh')).toBe(12);
    for (const id of ['a', 'b', 'c']) await expect(w.inner.owner(id)).resolves.toBe('w1');
    await expect(w.inner.owner('untracked')).resolves.toBeNull();
  });

  it('tracking the same session twice refreshes it once per batch', async () => {
    const w = world();
    const { ownership, store } = worker(w, 'w1');
    await ownership.ensureLocal('a');
    ownership.track('a');
    ownership.track('a');
    expect(ownership.trackedCount).toBe(1);
    await w.clock.advance(TTL_MS / 3);
    expect(store.count('refresh')).toBe(1);
  });

  it('bounds the store calls in flight during a batch by `concurrency`', async () => {
    const w = world();
    const { ownership, store } = worker(w, 'w1', { concurrency: 4, storeTimeoutMs: 60_000 });
    for (let i = 0; i < 20; i += 1) {
      await ownership.ensureLocal(`s${i}`);
      ownership.track(`s${i}`);
    }
    store.gated.add('refresh');
    await w.clock.advance(TTL_MS / 3);
    for (let round = 0; round < 10 && store.count('refresh') < 20; round += 1) {
      expect(store.inFlight.refresh).toBeLessThanOrEqual(4);
      store.openGate();
      await w.clock.flush();
    }
    expect(store.count('refresh')).toBe(20);
    expect(store.maxInFlight.refresh).toBe(4);
  });

  it('stops when nothing is tracked', async () => {
    const w = world();
    const { ownership, store } = worker(w, 'w1');
    await ownership.ensureLocal('a');
    ownership.track('a');
    ownership.release('a');
    await w.clock.advance(TTL_MS);
    expect(store.count('refresh')).toBe(0);
  });

  it('after the store lost its data, a fresh claim is never reclaimed at once by another worker', async () => {
    const w = world();
    const a = worker(w, 'w1');
    const b = worker(w, 'w2');
    expect(await a.ownership.route('s1')).toEqual({ local: true, owner: 'w1' });
    w.inner.clear(); // Redis restarted without persistence / FLUSHALL: w1's heartbeat is gone too
    expect(await a.ownership.route('s2')).toEqual({ local: true, owner: 'w1' });
    expect(await b.ownership.route('s2')).toEqual({ local: false, owner: 'w1' });
    expect(b.store.count('reclaim')).toBe(0);
    // The same holds for a claim won back by a refresh after the loss.
    a.ownership.track('s1');
    w.inner.clear();
    await w.clock.advance(Math.floor(TTL_MS / 3));
    await w.clock.flush();
    expect(await w.inner.owner('s1')).toBe('w1');
    expect(await b.ownership.route('s1')).toEqual({ local: false, owner: 'w1' });
  });

  it('claims back a tracked claim that expired (e.g. the store lost its data)', async () => {
    const w = world();
    const { ownership, errors } = worker(w, 'w1');
    await ownership.ensureLocal('a');
    ownership.track('a');
    await w.inner.release('a', 'w1'); // the store forgot it
    await w.clock.advance(TTL_MS / 3);
    await expect(w.inner.owner('a')).resolves.toBe('w1');
    expect(errors).toEqual([]);
  });

  it('reports a tracked claim taken over by a live worker as an affinity error with NotOwnerError', async () => {
    const w = world();
    const { ownership, errors, logs } = worker(w, 'w1');
    await ownership.ensureLocal('a');
    ownership.track('a');
    await w.inner.heartbeat('w2', 10 * TTL_MS);
    await w.inner.reclaim('a', 'w1', 'w2', 10 * TTL_MS);
    await w.clock.advance(TTL_MS / 3);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ operation: 'refresh', downstreamSessionId: 'a' });
    expect(errors[0]?.error).toBeInstanceOf(NotOwnerError);
    expect(logs.some((line) => line.level === 'warn' && /Another worker/.test(line.message))).toBe(true);
  });

  it('reports refresh failures and keeps going', async () => {
    const w = world();
    const { ownership, store, errors } = worker(w, 'w1');
    await ownership.ensureLocal('a');
    ownership.track('a');
    store.behaviour.refresh = 'reject';
    await w.clock.advance(TTL_MS / 3);
    expect(errors.map((event) => event.operation)).toEqual(['refresh']);
    delete store.behaviour.refresh;
    await w.clock.advance(TTL_MS / 3);
    expect(store.count('refresh')).toBe(2);
    await expect(w.inner.owner('a')).resolves.toBe('w1');
  });

  it('does not claim back a session released while its refresh was in flight', async () => {
    const w = world();
    const { ownership, store } = worker(w, 'w1');
    await ownership.ensureLocal('a');
    ownership.track('a');
    await w.inner.release('a', 'w1'); // refresh will say false
    store.gated.add('claim');
    await w.clock.advance(TTL_MS / 3); // refresh → false → claim (gated)
    ownership.release('a');
    store.openGate();
    await w.clock.flush();
    await w.clock.flush();
    await expect(w.inner.owner('a')).resolves.toBeNull();
  });
});

describe('Ownership.release', () => {
  it('deletes the claim in the background and stops refreshing it', async () => {
    const w = world();
    const { ownership } = worker(w, 'w1');
    await ownership.ensureLocal('a');
    ownership.track('a');
    ownership.release('a');
    expect(ownership.trackedCount).toBe(0);
    await w.clock.flush();
    await expect(w.inner.owner('a')).resolves.toBeNull();
  });

  it('never deletes another worker’s claim', async () => {
    const w = world();
    await worker(w, 'w2').ownership.route('a');
    const { ownership } = worker(w, 'w1');
    ownership.release('a');
    await w.clock.flush();
    await expect(w.inner.owner('a')).resolves.toBe('w2');
  });

  it('reports a failed release without throwing', async () => {
    const w = world();
    const { ownership, store, errors } = worker(w, 'w1');
    store.behaviour.release = 'reject';
    expect(() => ownership.release('a')).not.toThrow();
    await w.clock.flush();
    expect(errors).toEqual([{ operation: 'release', downstreamSessionId: 'a', error: expect.any(Error) }]);
  });
});

describe('Ownership.close', () => {
  it('releases every tracked claim and stops every timer', async () => {
    const w = world();
    const { ownership } = worker(w, 'w1');
    for (const id of ['a', 'b']) {
      await ownership.ensureLocal(id);
      ownership.track(id);
    }
    await ownership.close();
    expect(ownership.closed).toBe(true);
    expect(w.clock.pendingTimers).toBe(0);
    await expect(w.inner.owner('a')).resolves.toBeNull();
    await expect(w.inner.owner('b')).resolves.toBeNull();
  });

  it('is idempotent: concurrent calls share one promise', async () => {
    const w = world();
    const { ownership, store } = worker(w, 'w1');
    await ownership.ensureLocal('a');
    ownership.track('a');
    const first = ownership.close();
    expect(ownership.close()).toBe(first);
    await first;
    await ownership.close();
    expect(store.count('release')).toBe(1);
  });

  it('is bounded by storeTimeoutMs when the store hangs, and never rejects', async () => {
    const w = world();
    const { ownership, store, errors } = worker(w, 'w1', { storeTimeoutMs: 60_000 });
    await ownership.ensureLocal('a');
    ownership.track('a');
    store.behaviour.release = 'hang';
    let closed = false;
    void ownership.close().then(() => (closed = true));
    await w.clock.advance(59_999);
    expect(closed).toBe(false);
    await w.clock.advance(1);
    expect(closed).toBe(true);
    expect(errors.map((event) => event.operation)).toEqual(['release']);
  });

  it('stops releasing at the deadline however many claims are queued, leaving them to expire', async () => {
    const w = world();
    const { ownership, store, logs } = worker(w, 'w1', { storeTimeoutMs: 60_000, concurrency: 4 });
    for (let i = 0; i < 40; i += 1) {
      await ownership.ensureLocal(`s${i}`);
      ownership.track(`s${i}`);
    }
    store.behaviour.release = 'hang';
    let closed = false;
    void ownership.close().then(() => (closed = true));
    await w.clock.advance(60_000);
    expect(closed).toBe(true);
    expect(store.count('release')).toBeLessThanOrEqual(8);
    expect(logs.some((line) => line.level === 'warn' && line.fields?.claims === 40)).toBe(true);
    await w.clock.advance(60_000);
    expect(store.count('release')).toBeLessThanOrEqual(8);
  });

  it('takes a shorter bound from the caller (e.g. the registry’s close budget)', async () => {
    const w = world();
    const { ownership, store } = worker(w, 'w1', { storeTimeoutMs: 60_000 });
    await ownership.ensureLocal('a');
    ownership.track('a');
    store.behaviour.release = 'hang';
    let closed = false;
    void ownership.close(100).then(() => (closed = true));
    await w.clock.advance(100);
    expect(closed).toBe(true);
  });

  it('reports failed releases and still resolves', async () => {
    const w = world();
    const { ownership, store, errors } = worker(w, 'w1');
    await ownership.ensureLocal('a');
    ownership.track('a');
    store.behaviour.release = 'reject';
    await expect(ownership.close()).resolves.toBeUndefined();
    expect(errors.map((event) => event.operation)).toEqual(['release']);
  });

  it('waits (bounded) for releases already in flight', async () => {
    const w = world();
    const { ownership, store } = worker(w, 'w1');
    await ownership.ensureLocal('a');
    ownership.track('a');
    store.gated.add('release');
    ownership.release('a');
    let closed = false;
    void ownership.close().then(() => (closed = true));
    await w.clock.flush();
    expect(closed).toBe(false);
    store.openGate();
    await w.clock.flush();
    expect(closed).toBe(true);
    await expect(w.inner.owner('a')).resolves.toBeNull();
  });

  it('afterwards routes locally without touching the store and ignores track/release', async () => {
    const w = world();
    const { ownership, store } = worker(w, 'w1');
    await ownership.close();
    await expect(ownership.route('s1')).resolves.toEqual({ local: true, owner: 'w1' });
    await expect(ownership.ensureLocal('s1')).resolves.toBeUndefined();
    ownership.track('s1');
    ownership.release('s1');
    expect(ownership.trackedCount).toBe(0);
    expect(store.calls).toEqual([]);
    expect(w.clock.pendingTimers).toBe(0);
  });
});
