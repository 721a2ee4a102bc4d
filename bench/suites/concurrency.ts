/**
 * Concurrency:
 * - 10,000 acquires for one key arriving at once must share one creation (one factory call) and all get the
 *   same session;
 * - real calls: 100 downstream sessions × 1 upstream (a counter server in a child process), 64 calls in
 *   flight, through the registry (`withSession`, default factory) against 100 raw persistent SDK clients,
 *   in alternating rounds of the same number of calls.
 */
import { type Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type UpstreamClient } from '../../src/client.js';
import { createMcpSessionFactory } from '../../src/mcp/v1/factory.js';
import { UpstreamSessionRegistry } from '../../src/registry.js';
import { type SessionRequest } from '../../src/request.js';
import { MinimalFactory } from '../lib/minimal-factory.js';
import { closeRaw, connectRaw, inPool, startChildUpstream, type RawSession } from '../lib/real-upstream.js';
import { median, nowNs, round } from '../lib/stats.js';
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
  /** Calls per second through the registry ÷ through raw persistent clients (median of alternating rounds). */
  callsPerSecVsRaw: number;
  registryCallsPerSec: number;
  rawCallsPerSec: number;
  callRounds: number;
  callsPerRound: number;
}

const ACQUIRES = 10_000;
const FACTORY_DELAY_MS = 20;

const DOWNSTREAM_SESSIONS = 100;
const IN_FLIGHT = 64;

/** Registry vs raw clients: calls per second, median of alternating rounds. */
async function realCalls(quick: boolean): Promise<Pick<ConcurrencyResult, 'callsPerSecVsRaw' | 'registryCallsPerSec' | 'rawCallsPerSec' | 'callRounds' | 'callsPerRound'>> {
  const rounds = quick ? 4 : 10;
  const callsPerRound = quick ? 2_000 : 6_000;
  const server = await startChildUpstream();
  const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createMcpSessionFactory() });
  const raws: RawSession[] = [];
  try {
    const requests = Array.from({ length: DOWNSTREAM_SESSIONS }, (_, i) => ({ downstreamSessionId: `tab-${i}`, upstreamId: 'counter', url: server.url }));
    for (const request of requests) (await registry.acquire(request)).release();
    for (let i = 0; i < DOWNSTREAM_SESSIONS; i++) raws.push(await connectRaw(server.url, { name: 'bench', version: '0.0.0' }));
    const args = { name: 'increment', arguments: { by: 1 } };
    const contenders = {
      registry: (i: number) => registry.withSession(requests[i % DOWNSTREAM_SESSIONS]!, (client) => client.callTool(args)),
      raw: (i: number) => raws[i % DOWNSTREAM_SESSIONS]!.client.callTool(args),
    };
    const samples = { registry: [] as number[], raw: [] as number[] };
    // One warm-up round each, then alternate which goes first.
    for (let round = 0; round < rounds + 1; round++) {
      const order = round % 2 === 0 ? (['registry', 'raw'] as const) : (['raw', 'registry'] as const);
      for (const name of order) {
        const start = nowNs();
        await inPool(callsPerRound, IN_FLIGHT, async (i) => void (await contenders[name](i)));
        if (round > 0) samples[name].push(callsPerRound / ((nowNs() - start) / 1e9));
      }
    }
    const registryCallsPerSec = median(samples.registry);
    const rawCallsPerSec = median(samples.raw);
    return {
      callsPerSecVsRaw: round(registryCallsPerSec / rawCallsPerSec),
      registryCallsPerSec: Math.round(registryCallsPerSec),
      rawCallsPerSec: Math.round(rawCallsPerSec),
      callRounds: rounds,
      callsPerRound,
    };
  } finally {
    await registry.closeAll();
    await Promise.all(raws.map((raw) => closeRaw(raw)));
    await server.stop();
  }
}

/** Runs the suite. */
export async function runConcurrency({ quick }: SuiteOptions): Promise<ConcurrencyResult> {
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
    ...(await realCalls(quick)),
  };
}
