/**
 * Both protocol eras through the SDK v2 factory, against real loopback servers in this process
 * (`createMcpHandler` from `@modelcontextprotocol/server` 2.4 for modern, the SDK v1 server for legacy):
 * - createMs per era: a new session on an upstream whose era verdict is cached — modern connects with zero
 *   round trips, legacy runs `initialize` — measured as `registry.acquire` of a fresh key;
 * - reused-call latency (`tools/call`) through the registry vs a raw v2 client on the same upstream, taking
 *   turns call by call with a second raw client as the A/A control;
 * - `server/discover` probes counted at the servers for 1,000 sessions over 10 upstreams (target: 10).
 */
import { Client, StreamableHTTPClientTransport, type DiscoverResult } from '@modelcontextprotocol/client';
import { createSdkV2SessionFactory } from '../../src/mcp/v2/index.js';
import { UpstreamSessionRegistry } from '../../src/registry.js';
import { startLegacyUpstream } from '../../test/integration/v2/fixtures/legacy-upstream.js';
import { startModernUpstream } from '../../test/integration/v2/fixtures/modern-upstream.js';
import { median, nowNs, round, tick } from '../lib/stats.js';
import { type SuiteOptions } from './types.js';

/** Results of the eras suite. */
export interface ErasResult {
  modernCreateMs: number;
  legacyCreateMs: number;
  /** modernCreateMs ÷ legacyCreateMs (expected well under 0.5). */
  modernVsLegacyCreate: number;
  /**
   * Reused `tools/call` through the registry ÷ a raw v2 client, modern upstream (target ≤ 1.05): the median of
   * the per-round ratios (each round runs registry, raw and control back to back, in rotating order).
   */
  modernOverheadVsRaw: number;
  /** The same on a legacy upstream. */
  legacyOverheadVsRaw: number;
  modernReusedMs: number;
  modernRawMs: number;
  legacyReusedMs: number;
  legacyRawMs: number;
  /** Second raw client ÷ first, modern, paired the same way: the A/A control (far from 1 means a noisy run). */
  rawControlRatio: number;
  /** `server/discover` requests the servers saw for 1,000 sessions over 10 upstreams (target 10). */
  probesPer1000Sessions: number;
  createIterations: number;
  callIterations: number;
}

const INFO = { name: 'bench', version: '0.0.0' };
const CALL = { name: 'count', arguments: {} };

/** Median `registry.acquire` time of `n` fresh keys on `url` (the verdict is cached by a first session). */
async function createLatency(registry: UpstreamSessionRegistry<Client>, upstreamId: string, url: string, n: number): Promise<number> {
  (await registry.acquire({ downstreamSessionId: `${upstreamId}-warm`, upstreamId, url })).release();
  const samples: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const start = nowNs();
    const lease = await registry.acquire({ downstreamSessionId: `${upstreamId}-${i}`, upstreamId, url });
    samples.push((nowNs() - start) / 1e6);
    lease.release();
    if (i % 50 === 49) await registry.evictUpstream(upstreamId);
  }
  await registry.evictUpstream(upstreamId);
  return median(samples);
}

async function rawClient(url: string, discover: DiscoverResult | undefined): Promise<Client> {
  const client = new Client(INFO);
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport, discover !== undefined ? { prior: { kind: 'modern', discover } } : { prior: { kind: 'legacy' } });
  return client;
}

/** Reused-call medians: registry vs raw vs raw control, in rotating order, call by call. */
async function callLatency(registry: UpstreamSessionRegistry<Client>, upstreamId: string, url: string, n: number) {
  const request = { downstreamSessionId: `${upstreamId}-calls`, upstreamId, url };
  const discover = await registry.withSession(request, (client) => client.getDiscoverResult());
  const [raw, control] = [await rawClient(url, discover), await rawClient(url, discover)];
  const sides = {
    registry: async () => {
      await registry.withSession(request, (client) => client.callTool(CALL));
    },
    raw: async () => {
      await raw.callTool(CALL);
    },
    control: async () => {
      await control.callTool(CALL);
    },
  };
  const samples: Record<keyof typeof sides, number[]> = { registry: [], raw: [], control: [] };
  const order = Object.keys(sides) as (keyof typeof sides)[];
  for (let warm = 0; warm < 50; warm += 1) for (const side of order) await sides[side]();
  for (let i = 0; i < n; i += 1) {
    for (let k = 0; k < order.length; k += 1) {
      const side = order[(i + k) % order.length]!;
      const start = nowNs();
      await sides[side]();
      samples[side].push((nowNs() - start) / 1e6);
    }
  }
  await raw.close();
  await control.close();
  await registry.evictUpstream(upstreamId);
  // Paired per round (the three calls of a round ran back to back), so load drift cancels out of the ratios.
  const paired = (side: 'registry' | 'control'): number => median(samples[side].map((ms, i) => ms / samples.raw[i]!));
  return {
    registry: median(samples.registry),
    raw: median(samples.raw),
    control: median(samples.control),
    registryVsRaw: paired('registry'),
    controlVsRaw: paired('control'),
  };
}

/** Probes for `sessions` sessions spread over `upstreams` modern upstreams (distinct URLs), 100 at a time. */
async function probesFor(sessions: number, upstreams: number): Promise<number> {
  const servers = await Promise.all(Array.from({ length: upstreams }, () => startModernUpstream()));
  const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory({ listen: false }) });
  try {
    for (let batch = 0; batch < sessions; batch += 100) {
      const leases = await Promise.all(
        Array.from({ length: Math.min(100, sessions - batch) }, (_, j) => {
          const i = batch + j;
          const server = servers[i % upstreams]!;
          return registry.acquire({ downstreamSessionId: `s-${i}`, upstreamId: `u-${i % upstreams}`, url: server.url });
        }),
      );
      for (const lease of leases) lease.release();
    }
    return servers.reduce((sum, server) => sum + server.traffic.count('server/discover'), 0);
  } finally {
    await registry.closeAll();
    await Promise.all(servers.map((server) => server.close()));
  }
}

/** Runs the eras suite. */
export async function runEras(options: SuiteOptions): Promise<ErasResult> {
  const createIterations = options.quick ? 50 : 1_000;
  const callIterations = options.quick ? 200 : 2_000;
  const modern = await startModernUpstream();
  const legacy = await startLegacyUpstream();
  const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory({ listen: false }) });
  try {
    const modernCreateMs = await createLatency(registry, 'modern', modern.url, createIterations);
    const legacyCreateMs = await createLatency(registry, 'legacy', legacy.url, createIterations);
    options.log(`  create: modern ${round(modernCreateMs)} ms, legacy ${round(legacyCreateMs)} ms`);
    await tick();
    const modernCalls = await callLatency(registry, 'modern', modern.url, callIterations);
    const legacyCalls = await callLatency(registry, 'legacy', legacy.url, callIterations);
    options.log(`  calls: modern ${round(modernCalls.registry)} vs raw ${round(modernCalls.raw)} ms; legacy ${round(legacyCalls.registry)} vs raw ${round(legacyCalls.raw)} ms`);
    const probesPer1000Sessions = await probesFor(1_000, 10);
    options.log(`  probes for 1,000 sessions over 10 upstreams: ${probesPer1000Sessions}`);
    return {
      modernCreateMs: round(modernCreateMs),
      legacyCreateMs: round(legacyCreateMs),
      modernVsLegacyCreate: round(modernCreateMs / legacyCreateMs),
      modernOverheadVsRaw: round(modernCalls.registryVsRaw),
      legacyOverheadVsRaw: round(legacyCalls.registryVsRaw),
      modernReusedMs: round(modernCalls.registry),
      modernRawMs: round(modernCalls.raw),
      legacyReusedMs: round(legacyCalls.registry),
      legacyRawMs: round(legacyCalls.raw),
      rawControlRatio: round(modernCalls.controlVsRaw),
      probesPer1000Sessions,
      createIterations,
      callIterations,
    };
  } finally {
    await registry.closeAll();
    await modern.close();
    await legacy.close();
  }
}
