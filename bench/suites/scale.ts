/**
 * Scale: `evictUpstream` removing 10 sessions from a registry of 100,000 sessions vs one of 1,000 (the
 * ratio shows whether eviction cost grows with registry size), and the p99 latency of a hit
 * acquire + release with 100,000 sessions.
 */
import { type UpstreamClient } from '../../src/client.js';
import { UpstreamSessionRegistry } from '../../src/registry.js';
import { type SessionRequest } from '../../src/request.js';
import { MinimalFactory } from '../lib/minimal-factory.js';
import { median, nowNs, percentile, round } from '../lib/stats.js';
import { type SuiteOptions } from './types.js';

/** Results of the scale suite. */
export interface ScaleResult {
  evictUpstreamGrowth: number;
  evictUpstreamUsAt1k: number;
  evictUpstreamUsAt100k: number;
  evictUpstreamRepetitions: number;
  acquireP99Us: number;
  acquireP50Us: number;
  acquireSamples: number;
  buildMsFor100k: number;
}

const SMALL = 1_000;
const LARGE = 100_000;
const VICTIMS = 10;
const OTHER_UPSTREAMS = 100;
const URL = 'http://127.0.0.1:1/mcp';
const BATCH = 1_000;

interface Fixture {
  registry: UpstreamSessionRegistry<UpstreamClient>;
  /** Requests of the sessions that stay (not on the victim upstream). */
  requests: SessionRequest[];
  /** The 10 requests re-created on the victim upstream before each timed eviction. */
  victims: SessionRequest[];
}

async function warmAll(registry: UpstreamSessionRegistry<UpstreamClient>, requests: readonly SessionRequest[]): Promise<void> {
  for (let i = 0; i < requests.length; i += BATCH) {
    const leases = await Promise.all(requests.slice(i, i + BATCH).map((request) => registry.acquire(request)));
    for (const lease of leases) lease.release();
  }
}

async function build(size: number, tag: string): Promise<Fixture> {
  const registry = new UpstreamSessionRegistry<UpstreamClient>({
    sessionFactory: new MinimalFactory(),
    maxSessions: LARGE + VICTIMS,
  });
  const requests: SessionRequest[] = [];
  for (let i = 0; i < size - VICTIMS; i++) {
    requests.push({ downstreamSessionId: `${tag}-d${i}`, upstreamId: `upstream-${i % OTHER_UPSTREAMS}`, url: URL });
  }
  const victims: SessionRequest[] = [];
  for (let i = 0; i < VICTIMS; i++) victims.push({ downstreamSessionId: `${tag}-v${i}`, upstreamId: 'victim', url: URL });
  await warmAll(registry, requests);
  return { registry, requests, victims };
}

/** Re-creates the victim sessions, then times one `evictUpstream('victim')` (µs). */
async function timeEviction({ registry, victims }: Fixture): Promise<number> {
  await warmAll(registry, victims);
  const start = nowNs();
  const removed = await registry.evictUpstream('victim');
  const us = (nowNs() - start) / 1e3;
  if (removed !== VICTIMS) throw new Error(`evictUpstream removed ${removed}, expected ${VICTIMS}`);
  return us;
}

/** Runs the suite. */
export async function runScale({ quick, log }: SuiteOptions): Promise<ScaleResult> {
  const repetitions = quick ? 60 : 300;
  const warmup = 10;
  const acquireSamples = quick ? 100_000 : 500_000;

  const small = await build(SMALL, 's');
  const buildStart = nowNs();
  const large = await build(LARGE, 'l');
  const buildMsFor100k = (nowNs() - buildStart) / 1e6;
  log(`  built registries of ${small.registry.size + VICTIMS} and ${large.registry.size + VICTIMS} sessions`);

  const smallUs: number[] = [];
  const largeUs: number[] = [];
  for (let i = 0; i < warmup + repetitions; i++) {
    // Alternate which registry goes first so both see the same conditions.
    const first = i % 2 === 0 ? small : large;
    const second = first === small ? large : small;
    const a = await timeEviction(first);
    const b = await timeEviction(second);
    if (i < warmup) continue;
    (first === small ? smallUs : largeUs).push(a);
    (second === small ? smallUs : largeUs).push(b);
  }

  // p99 of a hit acquire + release with 100,000 sessions (+ the 10 victims are gone by now).
  const { registry, requests } = large;
  const latencies = new Float64Array(acquireSamples);
  let cursor = 0;
  for (let i = 0; i < 20_000; i++) {
    (await registry.acquire(requests[cursor]!)).release();
    cursor = (cursor + 7919) % requests.length;
  }
  for (let i = 0; i < acquireSamples; i++) {
    const start = nowNs();
    const lease = await registry.acquire(requests[cursor]!);
    lease.release();
    latencies[i] = (nowNs() - start) / 1e3;
    // A stride co-prime with the size visits every session in a cache-unfriendly order.
    cursor = (cursor + 7919) % requests.length;
  }
  if (registry.size !== LARGE - VICTIMS) throw new Error(`expected ${LARGE - VICTIMS} sessions, got ${registry.size}`);

  await Promise.all([small.registry.closeAll(), large.registry.closeAll()]);

  const at1k = median(smallUs);
  const at100k = median(largeUs);
  return {
    evictUpstreamGrowth: round(at100k / at1k),
    evictUpstreamUsAt1k: round(at1k, 1),
    evictUpstreamUsAt100k: round(at100k, 1),
    evictUpstreamRepetitions: repetitions,
    acquireP99Us: round(percentile(latencies, 99), 2),
    acquireP50Us: round(percentile(latencies, 50), 2),
    acquireSamples,
    buildMsFor100k: Math.round(buildMsFor100k),
  };
}
