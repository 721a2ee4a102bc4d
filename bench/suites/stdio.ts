/**
 * stdio upstreams (issue #12), on real child processes of the stdio counter fixture:
 * - `createMs`: spawn + `initialize` through the registry and the default factory, against the strongest fair
 *   baseline — the SDK's own `StdioClientTransport` + `Client.connect` on the same fixture, interleaved in
 *   the same run (`createVsSdk`, target <= 1.25: the process group, minimal environment and stderr tail cost
 *   next to nothing beside starting Node).
 * - `rssPerProcessKB`: resident memory of one idle fixture process (report only; it is the upstream's cost,
 *   and the reason to size with `maxSessionsPerUpstream` and a short `idleTtlMs`).
 * - `closeAllMs`: `closeAll()` over 50 live processes, 5 of which ignore SIGTERM and stdin EOF (only the
 *   group SIGKILL ends them), divided by the documented bound 2 × closeTimeoutMs (`closeAllBoundRatio`,
 *   target <= 1), and the processes still running afterwards (`leftAfterCloseAll`, target = 0).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createMcpSessionFactory } from '../../src/mcp/v1/factory.js';
import { UpstreamSessionRegistry } from '../../src/registry.js';
import { type StdioSessionRequest } from '../../src/types.js';
import { median, nowNs, round } from '../lib/stats.js';
import { type SuiteOptions } from './types.js';

/** Results of the stdio suite. */
export interface StdioResult {
  /** Median spawn + initialize through the registry, ms. */
  createMs: number;
  /** Median spawn + initialize with the SDK's StdioClientTransport, ms (baseline). */
  sdkCreateMs: number;
  /** createMs / sdkCreateMs. */
  createVsSdk: number;
  /** The same ratio for two SDK runs against each other (A/A control: the noise of this machine). */
  sdkVsSdk: number;
  rssPerProcessKB: number;
  closeAllMs: number;
  closeAllBoundRatio: number;
  leftAfterCloseAll: number;
  processes: number;
  closeTimeoutMs: number;
  repetitions: number;
}

const FIXTURE = fileURLToPath(new URL('../../test/stdio/fixtures/counter-server.mjs', import.meta.url));
const PROCESSES = 50;
const STUBBORN = 5;
const CLOSE_TIMEOUT_MS = 1_000;
const SPAWN_CONCURRENCY = 8;

function request(downstreamSessionId: string, env: Record<string, string> = {}): StdioSessionRequest {
  return { downstreamSessionId, upstreamId: 'counter', transport: 'stdio', command: process.execPath, args: [FIXTURE], env };
}

async function registryCreate(i: number): Promise<{ ms: number; registry: UpstreamSessionRegistry }> {
  const registry = new UpstreamSessionRegistry({ sessionFactory: createMcpSessionFactory(), closeTimeoutMs: CLOSE_TIMEOUT_MS });
  const start = nowNs();
  const lease = await registry.acquire(request(`create-${i}`));
  const ms = (nowNs() - start) / 1e6;
  lease.release();
  return { ms, registry };
}

async function sdkCreate(): Promise<number> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [FIXTURE], stderr: 'pipe' });
  const client = new Client({ name: 'bench', version: '1.0.0' });
  const start = nowNs();
  await client.connect(transport);
  const ms = (nowNs() - start) / 1e6;
  await client.close();
  return ms;
}

function rssKB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? Number.NaN : Number(match[1]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

async function pidOf(registry: UpstreamSessionRegistry, id: string, env: Record<string, string> = {}): Promise<number> {
  return registry.withSession(request(id, env), async (client) => {
    const result = await client.callTool({ name: 'pid' });
    return Number((result.content as { text: string }[])[0]?.text);
  });
}

async function measureCloseAll(log: (message: string) => void): Promise<{ ms: number; left: number; rss: number }> {
  const registry = new UpstreamSessionRegistry({ sessionFactory: createMcpSessionFactory(), closeTimeoutMs: CLOSE_TIMEOUT_MS });
  const pids: number[] = [];
  for (let next = 0; next < PROCESSES; next += SPAWN_CONCURRENCY) {
    const batch = Array.from({ length: Math.min(SPAWN_CONCURRENCY, PROCESSES - next) }, (_, j) => next + j);
    pids.push(...(await Promise.all(batch.map((i) => pidOf(registry, `p${i}`, i < STUBBORN ? { IGNORE_SIGTERM: '1' } : {})))));
  }
  log(`  ${pids.length} processes up`);
  const rss = median(pids.slice(STUBBORN).map(rssKB));
  const start = nowNs();
  await registry.closeAll();
  const ms = (nowNs() - start) / 1e6;
  // A SIGKILL the library sent completes in the kernel a moment later: give it 100 ms before counting.
  await new Promise((resolve) => setTimeout(resolve, 100));
  return { ms, left: pids.filter(alive).length, rss };
}

/** Runs the suite. */
export async function runStdio({ quick, log }: SuiteOptions): Promise<StdioResult> {
  const repetitions = quick ? 3 : 12;
  const ours: number[] = [];
  const sdkA: number[] = [];
  const sdkB: number[] = [];
  const registries: UpstreamSessionRegistry[] = [];
  await sdkCreate(); // warm-up (file cache, SDK import in the child)
  registries.push((await registryCreate(-1)).registry);
  for (let i = 0; i < repetitions; i++) {
    sdkA.push(await sdkCreate());
    const created = await registryCreate(i);
    ours.push(created.ms);
    registries.push(created.registry);
    sdkB.push(await sdkCreate());
  }
  await Promise.all(registries.map((registry) => registry.closeAll()));
  const createMs = median(ours);
  const sdkCreateMs = median([...sdkA, ...sdkB]);
  const closeAll = await measureCloseAll(log);
  return {
    createMs: round(createMs, 1),
    sdkCreateMs: round(sdkCreateMs, 1),
    createVsSdk: round(createMs / sdkCreateMs),
    sdkVsSdk: round(median(sdkA) / median(sdkB)),
    rssPerProcessKB: Math.round(closeAll.rss),
    closeAllMs: round(closeAll.ms, 1),
    closeAllBoundRatio: round(closeAll.ms / (2 * CLOSE_TIMEOUT_MS)),
    leftAfterCloseAll: closeAll.left,
    processes: PROCESSES,
    closeTimeoutMs: CLOSE_TIMEOUT_MS,
    repetitions,
  };
}
