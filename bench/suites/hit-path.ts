/**
 * Hit path: acquire + release on a warm key (round-robin over 10,000 and over 100,000 keys, minimal fake
 * client), against the floor of the same work done by hand — a Map lookup, a lease object and an awaited
 * promise — in the same run. Also reported: requests with headers and with a signal, `withSession`, and
 * generic-pool / tarn acquire + release on a warm 10-item pool (not the same work as a keyed lookup over
 * thousands of keys: a reported figure, not a target). Contenders take turns sample by sample, in rotating
 * order, so drift hits all alike.
 */
import genericPool from 'generic-pool';
import tarn from 'tarn';
import { type UpstreamClient } from '../../src/client.js';
import { UpstreamSessionRegistry } from '../../src/registry.js';
import { type SessionRequest } from '../../src/request.js';
import { MinimalFactory, sharedClient } from '../lib/minimal-factory.js';
import { median, minorGc, nowNs, round } from '../lib/stats.js';
import { type SuiteOptions } from './types.js';

/** Results of the hit-path suite. */
export interface HitPathResult {
  opsPerSec: number;
  floorOpsPerSec: number;
  /** Registry time per op ÷ floor time per op at 10,000 keys (1 = as fast as the hand-written floor). */
  vsFloor: number;
  opsPerSec100k: number;
  floorOpsPerSec100k: number;
  vsFloor100k: number;
  withHeadersOpsPerSec: number;
  withHeadersVsFloor: number;
  withSignalOpsPerSec: number;
  withSignalVsFloor: number;
  withSessionOpsPerSec: number;
  withSessionVsFloor: number;
  genericPoolOpsPerSec: number;
  tarnOpsPerSec: number;
  /** Reported only: a warm 10-item pool is not the same work as a keyed lookup over 10,000 keys. */
  vsGenericPool: number;
  vsTarn: number;
  /** The 10k-key ratio from CPU time per sample (user + system) instead of wall time. */
  vsFloorCpuTime: number;
  keys: number;
  opsPerSample: number;
  samples: number;
}

const KEYS = 10_000;
const KEYS_100K = 100_000;
const POOL_SIZE = 10;
const URL = 'http://127.0.0.1:1/mcp';

type Contender = (ops: number) => Promise<void>;

interface FloorLease {
  readonly client: UpstreamClient;
  released: boolean;
  release(): void;
}

/** The floor: what any keyed lease needs — a lookup, a lease object, one awaited promise. */
function floorContender(requests: readonly SessionRequest[]): Contender {
  const entries = new Map<string, { client: UpstreamClient; leases: number }>();
  for (const request of requests) entries.set(request.downstreamSessionId, { client: sharedClient, leases: 0 });
  let cursor = 0;
  return async (ops) => {
    for (let i = 0; i < ops; i++) {
      const entry = entries.get(requests[cursor]!.downstreamSessionId)!;
      entry.leases += 1;
      const lease: FloorLease = {
        client: entry.client,
        released: false,
        release() {
          if (this.released) return;
          this.released = true;
          entry.leases -= 1;
        },
      };
      (await Promise.resolve(lease)).release();
      cursor = cursor + 1 === requests.length ? 0 : cursor + 1;
    }
  };
}

async function warmRegistry(keys: number, extra: Partial<SessionRequest> = {}): Promise<{ registry: UpstreamSessionRegistry<UpstreamClient>; requests: SessionRequest[] }> {
  const registry = new UpstreamSessionRegistry<UpstreamClient>({ sessionFactory: new MinimalFactory(), maxSessions: keys });
  const requests: SessionRequest[] = [];
  for (let i = 0; i < keys; i++) requests.push({ downstreamSessionId: `downstream-${i}`, upstreamId: 'bench', url: URL, ...extra } as SessionRequest);
  for (const request of requests) (await registry.acquire(request)).release();
  if (registry.size !== keys) throw new Error(`expected ${keys} warm sessions, got ${registry.size}`);
  return { registry, requests };
}

function acquireRelease(registry: UpstreamSessionRegistry<UpstreamClient>, requests: readonly SessionRequest[]): Contender {
  let cursor = 0;
  return async (ops) => {
    for (let i = 0; i < ops; i++) {
      const lease = await registry.acquire(requests[cursor]!);
      lease.release();
      cursor = cursor + 1 === requests.length ? 0 : cursor + 1;
    }
  };
}

/** Runs the suite. */
export async function runHitPath({ quick }: SuiteOptions): Promise<HitPathResult> {
  // Samples long enough to include their share of garbage collection, many enough that the median shrugs
  // off the ones the scheduler preempted. CPU time is recorded too: on a busy machine it is the steadier one.
  const opsPerSample = 10_000;
  const warmupRounds = quick ? 2 : 10;
  const rounds = quick ? 10 : 100;

  const plain = await warmRegistry(KEYS);
  const large = await warmRegistry(KEYS_100K);
  const headers = await warmRegistry(KEYS, { headers: { authorization: 'Bearer bench-token', 'x-tenant': 'acme' } });
  const signalled = await warmRegistry(KEYS, { signal: new AbortController().signal });
  const withSessionRequests = plain.requests;

  const gpool = genericPool.createPool<object>({ create: () => Promise.resolve({}), destroy: () => Promise.resolve() }, { min: POOL_SIZE, max: POOL_SIZE });
  await gpool.ready();
  const tpool = new tarn.Pool<object>({
    create: () => Promise.resolve({}),
    destroy: () => undefined,
    min: POOL_SIZE,
    max: POOL_SIZE,
    idleTimeoutMillis: 3_600_000,
    reapIntervalMillis: 3_600_000,
  });
  const warm = await Promise.all(Array.from({ length: POOL_SIZE }, () => tpool.acquire().promise));
  for (const resource of warm) tpool.release(resource);

  let withSessionCursor = 0;
  const contenders = {
    registry: acquireRelease(plain.registry, plain.requests),
    floor: floorContender(plain.requests),
    registry100k: acquireRelease(large.registry, large.requests),
    floor100k: floorContender(large.requests),
    headers: acquireRelease(headers.registry, headers.requests),
    signal: acquireRelease(signalled.registry, signalled.requests),
    withSession: async (ops: number) => {
      for (let i = 0; i < ops; i++) {
        await plain.registry.withSession(withSessionRequests[withSessionCursor]!, (client) => client);
        withSessionCursor = withSessionCursor + 1 === KEYS ? 0 : withSessionCursor + 1;
      }
    },
    genericPool: async (ops: number) => {
      for (let i = 0; i < ops; i++) {
        const resource = await gpool.acquire();
        void gpool.release(resource);
      }
    },
    tarn: async (ops: number) => {
      for (let i = 0; i < ops; i++) {
        const resource = await tpool.acquire().promise;
        tpool.release(resource);
      }
    },
  } satisfies Record<string, Contender>;
  type Name = keyof typeof contenders;
  const names = Object.keys(contenders) as Name[];
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<Name, number[]>;
  const cpuSamples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<Name, number[]>;
  // Rotating order (each contender follows each other one in turn), and a young-generation collection (not
  // timed) before each sample, so no sample pays for the garbage of the one before it.
  for (let r = 0; r < warmupRounds + rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length]!;
      minorGc();
      const cpuStart = process.cpuUsage();
      const start = nowNs();
      await contenders[name](opsPerSample);
      const seconds = (nowNs() - start) / 1e9;
      const cpu = process.cpuUsage(cpuStart);
      if (r >= warmupRounds) {
        samples[name].push(opsPerSample / seconds);
        cpuSamples[name].push(opsPerSample / ((cpu.user + cpu.system) / 1e6));
      }
    }
  }

  await gpool.drain();
  await gpool.clear();
  await tpool.destroy();
  await Promise.all([plain.registry.closeAll(), large.registry.closeAll(), headers.registry.closeAll(), signalled.registry.closeAll()]);

  const ops = Object.fromEntries(names.map((name) => [name, median(samples[name])])) as Record<Name, number>;
  const vs = (name: Name, floor: Name = 'floor'): number => round(ops[floor] / ops[name]);
  return {
    opsPerSec: Math.round(ops.registry),
    floorOpsPerSec: Math.round(ops.floor),
    vsFloor: vs('registry'),
    opsPerSec100k: Math.round(ops.registry100k),
    floorOpsPerSec100k: Math.round(ops.floor100k),
    vsFloor100k: vs('registry100k', 'floor100k'),
    withHeadersOpsPerSec: Math.round(ops.headers),
    withHeadersVsFloor: vs('headers'),
    withSignalOpsPerSec: Math.round(ops.signal),
    withSignalVsFloor: vs('signal'),
    withSessionOpsPerSec: Math.round(ops.withSession),
    withSessionVsFloor: vs('withSession'),
    genericPoolOpsPerSec: Math.round(ops.genericPool),
    tarnOpsPerSec: Math.round(ops.tarn),
    vsGenericPool: round(ops.registry / ops.genericPool),
    vsTarn: round(ops.registry / ops.tarn),
    vsFloorCpuTime: round(median(cpuSamples.floor) / median(cpuSamples.registry)),
    keys: KEYS,
    opsPerSample,
    samples: rounds,
  };
}
