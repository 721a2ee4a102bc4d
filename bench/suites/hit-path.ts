/**
 * Hit path: acquire + release on a warm key (10,000 keys round-robin, minimal fake client) against
 * generic-pool and tarn acquire/release on a warm pool, interleaved round by round in one process.
 */
import genericPool from 'generic-pool';
import tarn from 'tarn';
import { type UpstreamClient } from '../../src/client.js';
import { UpstreamSessionRegistry } from '../../src/registry.js';
import { type SessionRequest } from '../../src/request.js';
import { MinimalFactory } from '../lib/minimal-factory.js';
import { median, minorGc, nowNs, round } from '../lib/stats.js';
import { type SuiteOptions } from './types.js';

/** Results of the hit-path suite. */
export interface HitPathResult {
  opsPerSec: number;
  genericPoolOpsPerSec: number;
  tarnOpsPerSec: number;
  vsGenericPool: number;
  vsTarn: number;
  /** The same ratio from CPU time per sample (user + system) instead of wall time. */
  vsGenericPoolCpuTime: number;
  keys: number;
  opsPerSample: number;
  samples: number;
}

const KEYS = 10_000;
const POOL_SIZE = 10;
const URL = 'http://127.0.0.1:1/mcp';

type Contender = (ops: number) => Promise<void>;

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

/** Runs the suite. */
export async function runHitPath({ quick }: SuiteOptions): Promise<HitPathResult> {
  // Samples long enough to include their share of garbage collection, many enough that the median shrugs
  // off the ones the scheduler preempted. CPU time is recorded too: on a busy machine it is the steadier one.
  const opsPerSample = 10_000;
  const warmupRounds = quick ? 10 : 20;
  const rounds = quick ? 60 : 300;

  const registry = new UpstreamSessionRegistry<UpstreamClient>({ sessionFactory: new MinimalFactory(), maxSessions: KEYS });
  const requests: SessionRequest[] = [];
  for (let i = 0; i < KEYS; i++) requests.push({ downstreamSessionId: `downstream-${i}`, upstreamId: 'bench', url: URL });
  for (const request of requests) (await registry.acquire(request)).release();
  if (registry.size !== KEYS) throw new Error(`expected ${KEYS} warm sessions, got ${registry.size}`);

  const gpool = genericPool.createPool<object>(
    { create: () => Promise.resolve({}), destroy: () => Promise.resolve() },
    { min: POOL_SIZE, max: POOL_SIZE },
  );
  await gpool.ready();
  const tpool = new tarn.Pool<object>({
    create: () => Promise.resolve({}),
    destroy: () => undefined,
    min: POOL_SIZE,
    max: POOL_SIZE,
    idleTimeoutMillis: 3_600_000,
    reapIntervalMillis: 3_600_000,
  });
  // Warm tarn's pool to its full size.
  const warm = await Promise.all(Array.from({ length: POOL_SIZE }, () => tpool.acquire().promise));
  for (const resource of warm) tpool.release(resource);

  let cursor = 0;
  const contenders: Record<'registry' | 'genericPool' | 'tarn', Contender> = {
    registry: async (ops) => {
      for (let i = 0; i < ops; i++) {
        const lease = await registry.acquire(requests[cursor]!);
        lease.release();
        cursor = cursor + 1 === KEYS ? 0 : cursor + 1;
      }
    },
    genericPool: async (ops) => {
      for (let i = 0; i < ops; i++) {
        const resource = await gpool.acquire();
        void gpool.release(resource);
      }
    },
    tarn: async (ops) => {
      for (let i = 0; i < ops; i++) {
        const resource = await tpool.acquire().promise;
        tpool.release(resource);
      }
    },
  };
  const names = Object.keys(contenders) as (keyof typeof contenders)[];
  const samples: Record<keyof typeof contenders, number[]> = { registry: [], genericPool: [], tarn: [] };
  const cpuSamples: Record<keyof typeof contenders, number[]> = { registry: [], genericPool: [], tarn: [] };
  // Every order of the three in turn, so each contender follows each other one equally often; and a
  // young-generation collection (not timed) before each sample, so no sample pays for the garbage of the
  // one before it (tarn's per-acquire timers make a lot).
  const orders = permutations(names);
  for (let round = 0; round < warmupRounds + rounds; round++) {
    for (const name of orders[round % orders.length]!) {
      minorGc();
      const cpuStart = process.cpuUsage();
      const start = nowNs();
      await contenders[name](opsPerSample);
      const seconds = (nowNs() - start) / 1e9;
      const cpu = process.cpuUsage(cpuStart);
      if (round >= warmupRounds) {
        samples[name].push(opsPerSample / seconds);
        cpuSamples[name].push(opsPerSample / ((cpu.user + cpu.system) / 1e6));
      }
    }
  }

  await gpool.drain();
  await gpool.clear();
  await tpool.destroy();
  await registry.closeAll();

  const opsPerSec = median(samples.registry);
  const genericPoolOpsPerSec = median(samples.genericPool);
  const tarnOpsPerSec = median(samples.tarn);
  return {
    opsPerSec: Math.round(opsPerSec),
    genericPoolOpsPerSec: Math.round(genericPoolOpsPerSec),
    tarnOpsPerSec: Math.round(tarnOpsPerSec),
    vsGenericPool: round(opsPerSec / genericPoolOpsPerSec),
    vsTarn: round(opsPerSec / tarnOpsPerSec),
    vsGenericPoolCpuTime: round(median(cpuSamples.registry) / median(cpuSamples.genericPool)),
    keys: KEYS,
    opsPerSample,
    samples: rounds,
  };
}
