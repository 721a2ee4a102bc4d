/**
 * Two gateway workers behind one Redis: the library decides which worker owns each downstream session
 * (`registry.route`), the host forwards requests that landed on the other worker.
 *
 *   npx tsx examples/multi-worker/main.ts          # starts its own redis-server on a free port
 *   REDIS_URL=redis://127.0.0.1:6380 npx tsx examples/multi-worker/main.ts
 *
 * What it shows:
 *   1. Requests for one downstream session alternate between worker A and worker B (like a load balancer
 *      without sticky sessions), yet all reach ONE upstream session: its counter goes 1, 2, 3, …
 *   2. Another downstream session gets its own upstream session (1:1 binding): its own counter.
 *   3. The owner is killed (SIGKILL). Once its heartbeat expires, B reclaims the session and serves it.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startCounterUpstream } from '../gateway/upstream-counter.js';
import { startRedisServer } from './redis-server.js';
import { type WorkerReady } from './worker.js';

const HEARTBEAT_MS = 500; // short, so the failover below takes about 1.5 s (3 × heartbeatMs)
const workerScript = fileURLToPath(new URL('./worker.ts', import.meta.url));

interface RunningWorker extends WorkerReady {
  child: ChildProcess;
}

async function spawnWorker(name: string, redisUrl: string, upstreamUrl: string): Promise<RunningWorker> {
  const child = fork(workerScript, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, WORKER_NAME: name, REDIS_URL: redisUrl, UPSTREAM_URL: upstreamUrl, HEARTBEAT_MS: String(HEARTBEAT_MS) },
  });
  const ready = await new Promise<WorkerReady>((resolve, reject) => {
    child.once('message', (message: WorkerReady) => resolve(message));
    child.once('exit', (code) => reject(new Error(`worker ${name} exited with ${String(code)}`)));
  });
  return { ...ready, child };
}

async function increment(worker: RunningWorker, session: string): Promise<{ count: number; servedBy: string }> {
  const response = await fetch(`${worker.url}/increment`, { method: 'POST', headers: { 'mcp-session-id': session } });
  assert.equal(response.status, 200);
  return (await response.json()) as { count: number; servedBy: string };
}

async function stopWorker(worker: RunningWorker, signal: NodeJS.Signals): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => worker.child.once('exit', () => resolve()));
  worker.child.kill(signal);
  await exited;
}

async function main(): Promise<void> {
  const redis = process.env.REDIS_URL === undefined ? await startRedisServer() : undefined;
  const redisUrl = process.env.REDIS_URL ?? redis!.url;
  const upstream = await startCounterUpstream();
  const a = await spawnWorker('a', redisUrl, upstream.url);
  const b = await spawnWorker('b', redisUrl, upstream.url);
  try {
    console.log(`worker a: ${a.workerId} at ${a.url}\nworker b: ${b.workerId} at ${b.url}\n`);

    console.log('1. session "tab-1", requests alternate between the workers:');
    for (let i = 1; i <= 4; i += 1) {
      const entry = i % 2 === 1 ? a : b;
      const { count, servedBy } = await increment(entry, 'tab-1');
      console.log(`   → sent to ${entry.name}, served by ${servedBy}${servedBy === entry.name ? '' : ' (forwarded)'}: count ${count}`);
      assert.equal(count, i); // one upstream session, whichever worker the request hit
      assert.equal(servedBy, 'a'); // a saw tab-1 first, so a owns it
    }

    console.log('\n2. session "tab-2" starts on worker b and gets its own upstream session:');
    for (let i = 1; i <= 2; i += 1) {
      const entry = i % 2 === 1 ? b : a;
      const { count, servedBy } = await increment(entry, 'tab-2');
      console.log(`   → sent to ${entry.name}, served by ${servedBy}${servedBy === entry.name ? '' : ' (forwarded)'}: count ${count}`);
      assert.equal(count, i);
      assert.equal(servedBy, 'b');
    }

    console.log('\n3. worker a is killed (SIGKILL); b reclaims "tab-1" once a’s heartbeat has expired:');
    await stopWorker(a, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 3 * HEARTBEAT_MS + 200));
    const { count, servedBy } = await increment(b, 'tab-1');
    console.log(`   → sent to b, served by ${servedBy}: count ${count} (a fresh upstream session; a’s died with it)`);
    assert.equal(servedBy, 'b');
    assert.equal(count, 1);
    console.log('\nDone.');
  } finally {
    await stopWorker(a, 'SIGKILL');
    await stopWorker(b, 'SIGTERM');
    await upstream.close();
    await redis?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
