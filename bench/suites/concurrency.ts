/**
 * Concurrency: 10,000 acquires for one key arriving at once must share one creation (one factory call)
 * and all get the same session.
 */
import { type UpstreamClient } from '../../src/client.js';
import { UpstreamSessionRegistry } from '../../src/registry.js';
import { type SessionRequest } from '../../src/request.js';
import { MinimalFactory } from '../lib/minimal-factory.js';
import { nowNs, round } from '../lib/stats.js';
import { type SuiteOptions } from './types.js';

/** Results of the concurrency suite. */
export interface ConcurrencyResult {
  createsFor10kConcurrentAcquires: number;
  acquires: number;
  /** Distinct clients handed to the 10,000 leases (must be 1). */
  distinctSessions: number;
  /** Wall time from the first acquire to the last lease (factory delay included). */
  settleMs: number;
  factoryDelayMs: number;
}

const ACQUIRES = 10_000;
const FACTORY_DELAY_MS = 20;

/** Runs the suite. */
export async function runConcurrency(_options: SuiteOptions): Promise<ConcurrencyResult> {
  const factory = new MinimalFactory({ delayMs: FACTORY_DELAY_MS, freshClients: true });
  const registry = new UpstreamSessionRegistry<UpstreamClient>({ sessionFactory: factory });
  const request: SessionRequest = { downstreamSessionId: 'one-tab', upstreamId: 'counter', url: 'http://127.0.0.1:1/mcp' };
  const start = nowNs();
  const pending = [];
  for (let i = 0; i < ACQUIRES; i++) pending.push(registry.acquire(request));
  const leases = await Promise.all(pending);
  const settleMs = (nowNs() - start) / 1e6;
  const distinct = new Set(leases.map((lease) => lease.client)).size;
  for (const lease of leases) lease.release();
  const creates = factory.creates;
  await registry.closeAll();
  return {
    createsFor10kConcurrentAcquires: creates,
    acquires: ACQUIRES,
    distinctSessions: distinct,
    settleMs: round(settleMs, 1),
    factoryDelayMs: FACTORY_DELAY_MS,
  };
}
