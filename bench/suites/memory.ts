/**
 * Memory: heap growth per idle session, after full GCs, with the minimal fake client (one shared client
 * object, a two-field connection per session), so the number is the registry's own bookkeeping.
 * The ids (the host's own strings) exist before the baseline is taken.
 */
import { type UpstreamClient } from '../../src/client.js';
import { UpstreamSessionRegistry } from '../../src/registry.js';
import { MinimalFactory } from '../lib/minimal-factory.js';
import { fullGc, median, round, tick } from '../lib/stats.js';
import { type SuiteOptions } from './types.js';

/** Results of the memory suite. */
export interface MemoryResult {
  bytesPerSession: number;
  sessions: number;
  repetitions: number;
  /** Heap bytes of the fake's own per-session connection object (included in bytesPerSession). */
  fakeConnectionBytes: number;
}

const SESSIONS = 10_000;
const URL = 'http://127.0.0.1:1/mcp';

function heapUsed(): number {
  fullGc();
  return process.memoryUsage().heapUsed;
}

async function fill(registry: UpstreamSessionRegistry<UpstreamClient>, ids: readonly string[]): Promise<void> {
  for (const id of ids) (await registry.acquire({ downstreamSessionId: id, upstreamId: 'memory', url: URL })).release();
}

async function measureOnce(tag: string): Promise<number> {
  const ids = Array.from({ length: SESSIONS }, (_, i) => `${tag}-downstream-${i}`);
  const registry = new UpstreamSessionRegistry<UpstreamClient>({ sessionFactory: new MinimalFactory(), maxSessions: SESSIONS });
  await tick();
  const before = heapUsed();
  await fill(registry, ids);
  await tick();
  const after = heapUsed();
  if (registry.size !== SESSIONS) throw new Error(`expected ${SESSIONS} sessions, got ${registry.size}`);
  await registry.closeAll();
  return (after - before) / SESSIONS;
}

/** Heap bytes of one `{ client, close }` object like the fake connection. */
function connectionObjectBytes(): number {
  const client = {};
  const close = (): void => undefined;
  const before = heapUsed();
  const keep: object[] = [];
  for (let i = 0; i < SESSIONS; i++) keep.push({ client, close });
  const after = heapUsed();
  const bytes = (after - before) / SESSIONS - 8; // minus the array slot
  keep.length = 0;
  return bytes;
}

/** Runs the suite. */
export async function runMemory({ quick }: SuiteOptions): Promise<MemoryResult> {
  const repetitions = quick ? 3 : 7;
  // Warm-up: compile every code path the measured fill takes, so JIT code is not counted.
  await measureOnce('warm');
  const samples: number[] = [];
  for (let i = 0; i < repetitions; i++) samples.push(await measureOnce(`r${i}`));
  return {
    bytesPerSession: Math.round(median(samples)),
    sessions: SESSIONS,
    repetitions,
    fakeConnectionBytes: round(connectionObjectBytes(), 1),
  };
}
