/**
 * Bounded shutdown: wall time of `closeAll()` over 1,000 sessions whose close never settles, on the real
 * clock, divided by the documented bound `2 × closeTimeoutMs` (closeTimeoutMs = 200).
 */
import { type UpstreamClient } from '../../src/client.js';
import { UpstreamSessionRegistry } from '../../src/registry.js';
import { type SessionLease } from '../../src/lease.js';
import { MinimalFactory } from '../lib/minimal-factory.js';
import { median, nowNs, round } from '../lib/stats.js';
import { type SuiteOptions } from './types.js';

/** Results of the closeAll suite. */
export interface CloseAllResult {
  boundRatio: number;
  wallMs: number;
  /** The same with every session holding an open lease (drain first, then close). */
  boundRatioWithOpenLeases: number;
  closeTimeoutMs: number;
  sessions: number;
  repetitions: number;
}

const SESSIONS = 1_000;
const CLOSE_TIMEOUT_MS = 200;

async function once(keepLeases: boolean): Promise<number> {
  const factory = new MinimalFactory({ close: 'never' });
  const registry = new UpstreamSessionRegistry<UpstreamClient>({
    sessionFactory: factory,
    closeTimeoutMs: CLOSE_TIMEOUT_MS,
  });
  const leases: SessionLease<UpstreamClient>[] = await Promise.all(
    Array.from({ length: SESSIONS }, (_, i) =>
      registry.acquire({ downstreamSessionId: `d${i}`, upstreamId: 'wedged', url: 'http://127.0.0.1:1/mcp' }),
    ),
  );
  if (!keepLeases) for (const lease of leases) lease.release();
  if (registry.size !== SESSIONS) throw new Error(`expected ${SESSIONS} sessions, got ${registry.size}`);
  const start = nowNs();
  await registry.closeAll();
  const ms = (nowNs() - start) / 1e6;
  const { closeTimeouts } = registry.snapshot().counters;
  if (closeTimeouts !== SESSIONS) throw new Error(`expected ${SESSIONS} close timeouts, got ${closeTimeouts}`);
  return ms;
}

/** Runs the suite. */
export async function runCloseAll({ quick }: SuiteOptions): Promise<CloseAllResult> {
  const repetitions = quick ? 3 : 7;
  const idle: number[] = [];
  const leased: number[] = [];
  await once(false); // warm-up
  for (let i = 0; i < repetitions; i++) {
    idle.push(await once(false));
    leased.push(await once(true));
  }
  const wallMs = median(idle);
  return {
    boundRatio: round(wallMs / (2 * CLOSE_TIMEOUT_MS)),
    wallMs: round(wallMs, 1),
    boundRatioWithOpenLeases: round(median(leased) / (2 * CLOSE_TIMEOUT_MS)),
    closeTimeoutMs: CLOSE_TIMEOUT_MS,
    sessions: SESSIONS,
    repetitions,
  };
}
