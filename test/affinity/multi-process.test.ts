/**
 * Four real worker processes, each with a registry on one real Redis, race for the same downstream
 * sessions; one is SIGKILLed; then Redis itself goes away and comes back. The steps run in order and share
 * the workers.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisAffinityStore } from '../../src/redis/index.js';
import { type ChildMessage, type ParentMessage, type RoutedDecision } from './fixtures/affinity-worker.js';
import { REDIS_SKIP_REASON, RedisServer, requireRedisServer } from './redis-server.js';

const here = dirname(fileURLToPath(import.meta.url));
const WORKER_SCRIPT = join(here, 'fixtures', 'affinity-worker.ts');
const REPO_ROOT = resolve(here, '..', '..');

const WORKERS = 4;
const SESSIONS = 200;
const HEARTBEAT_MS = 200;
const AFFINITY_TTL_MS = 3_000;
const KEY_PREFIX = 'multi-process:';
const REPLY_TIMEOUT_MS = 15_000;

type Reply<T extends ChildMessage['type']> = Extract<ChildMessage, { type: T }>;
type Request = ParentMessage extends infer M ? (M extends { reqId: number } ? Omit<M, 'reqId'> : never) : never;

class WorkerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  readonly ready: Promise<void>;
  #nextId = 1;
  readonly #waiting = new Map<number, (message: ChildMessage) => void>();

  constructor(
    readonly workerId: string,
    redisPort: number,
  ) {
    this.child = fork(WORKER_SCRIPT, [], {
      cwd: REPO_ROOT,
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        WORKER_ID: workerId,
        REDIS_PORT: String(redisPort),
        HEARTBEAT_MS: String(HEARTBEAT_MS),
        AFFINITY_TTL_MS: String(AFFINITY_TTL_MS),
        KEY_PREFIX,
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.ready = new Promise<void>((resolve, reject) => {
      this.child.once('exit', (code) => reject(new Error(`worker ${workerId} exited (${String(code)}) before it was ready`)));
      this.child.on('message', (message: ChildMessage) => {
        if (message.type === 'ready') {
          resolve();
          return;
        }
        this.#waiting.get(message.reqId)?.(message);
        this.#waiting.delete(message.reqId);
      });
    });
    this.ready.catch(() => undefined);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  request<T extends ChildMessage['type']>(message: Request): Promise<Reply<T>> {
    const reqId = this.#nextId++;
    return new Promise<Reply<T>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(reqId);
        reject(new Error(`worker ${this.workerId} did not answer ${message.type} within ${REPLY_TIMEOUT_MS} ms`));
      }, REPLY_TIMEOUT_MS);
      this.#waiting.set(reqId, (reply) => {
        clearTimeout(timer);
        resolve(reply as Reply<T>);
      });
      this.child.send({ ...message, reqId });
    });
  }

  route(ids: string[], acquireLocal = true): Promise<Reply<'routed'>> {
    return this.request<'routed'>({ type: 'route', ids, acquireLocal });
  }

  stats(): Promise<Reply<'stats'>> {
    return this.request<'stats'>({ type: 'stats' });
  }

  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Polls `check` every `intervalMs` until it returns true, at most `attempts` times. */
async function eventually(check: () => Promise<boolean>, what: string, attempts = 100, intervalMs = 50): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`gave up waiting: ${what}`);
}

/** For each id: the decisions of every responding worker. */
function byId(replies: Reply<'routed'>[]): Map<string, RoutedDecision[]> {
  const map = new Map<string, RoutedDecision[]>();
  for (const reply of replies) {
    for (const decision of reply.decisions) map.set(decision.id, [...(map.get(decision.id) ?? []), decision]);
  }
  return map;
}

function expectOneLocalOwnerEach(replies: Reply<'routed'>[], ids: string[], workerIds: string[]): Map<string, string> {
  const owners = new Map<string, string>();
  const decisions = byId(replies);
  for (const id of ids) {
    const forId = decisions.get(id) ?? [];
    expect(forId, id).toHaveLength(replies.length);
    const locals = forId.filter((d) => d.local);
    expect(locals.map((d) => d.owner), `local owners of ${id}`).toHaveLength(1);
    const owner = locals[0]!.owner;
    expect(workerIds).toContain(owner);
    expect(forId.every((d) => d.owner === owner), `every worker agrees on ${id}`).toBe(true);
    owners.set(id, owner);
  }
  return owners;
}

describe.skipIf(REDIS_SKIP_REASON !== undefined)(`four worker processes on one Redis${REDIS_SKIP_REASON ? ` (${REDIS_SKIP_REASON})` : ''}`, () => {
  let server: RedisServer;
  let admin: Redis;
  let adminStore: RedisAffinityStore;
  let workers: WorkerProcess[] = [];
  let owners = new Map<string, string>();
  let victim: WorkerProcess;
  let survivors: WorkerProcess[] = [];
  const ids = Array.from({ length: SESSIONS }, (_, i) => `session-${i}:{tab}`);

  beforeAll(async () => {
    requireRedisServer();
    server = await RedisServer.start();
    admin = new Redis(server.port, server.host, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    admin.on('error', () => undefined);
    adminStore = new RedisAffinityStore(admin, { keyPrefix: KEY_PREFIX });
    workers = Array.from({ length: WORKERS }, (_, i) => new WorkerProcess(`worker-${i}`, server.port));
    await Promise.all(workers.map((worker) => worker.ready));
  });

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.kill()));
    admin?.disconnect();
    await server?.dispose();
  });

  it('routes each of 200 sessions to exactly one worker; the other three see it as remote', async () => {
    const replies = await Promise.all(workers.map((worker) => worker.route(ids)));
    owners = expectOneLocalOwnerEach(
      replies,
      ids,
      workers.map((w) => w.workerId),
    );
    for (const reply of replies) expect(reply.acquireErrors).toEqual([]);
    for (const id of ids) expect(await adminStore.owner(id)).toBe(owners.get(id));
    const stats = await Promise.all(workers.map((worker) => worker.stats()));
    for (const [i, stat] of stats.entries()) {
      expect(stat.affinityErrors).toBe(0);
      expect(stat.sessions).toBe([...owners.values()].filter((owner) => owner === workers[i]!.workerId).length);
    }
  });

  it('after one worker is SIGKILLed, the survivors reclaim its sessions once its heartbeat expires, each exactly once', async () => {
    const counts = workers.map((worker) => [...owners.values()].filter((owner) => owner === worker.workerId).length);
    victim = workers[counts.indexOf(Math.max(...counts))]!;
    survivors = workers.filter((worker) => worker !== victim);
    const orphaned = ids.filter((id) => owners.get(id) === victim.workerId);
    expect(orphaned.length).toBeGreaterThan(0);

    const heartbeatTtl = await admin.pttl(adminStore.heartbeatKey(victim.workerId));
    expect(heartbeatTtl).toBeGreaterThan(0);
    expect(heartbeatTtl).toBeLessThanOrEqual(3 * HEARTBEAT_MS);
    await victim.kill();
    await eventually(async () => !(await adminStore.isAlive(victim.workerId)), 'the dead worker’s heartbeat to expire');

    // Its claims outlive it (TTL 3 s): only the heartbeat tells the survivors it is gone.
    expect(await adminStore.owner(orphaned[0]!)).toBe(victim.workerId);
    const replies = await Promise.all(survivors.map((worker) => worker.route(orphaned)));
    const reowned = expectOneLocalOwnerEach(
      replies,
      orphaned,
      survivors.map((w) => w.workerId),
    );
    for (const id of orphaned) expect(await adminStore.owner(id)).toBe(reowned.get(id));

    // Routing everything again changes nothing and reclaims nothing more.
    const again = await Promise.all(survivors.map((worker) => worker.route(ids)));
    const settled = expectOneLocalOwnerEach(
      again,
      ids,
      survivors.map((w) => w.workerId),
    );
    for (const id of ids) {
      expect(settled.get(id)).toBe(owners.get(id) === victim.workerId ? reowned.get(id) : owners.get(id));
    }
    const reclaimed = (await Promise.all(survivors.map((worker) => worker.stats()))).flatMap((stat) => stat.reclaimed);
    expect(reclaimed.sort()).toEqual([...orphaned].sort());
    for (const id of orphaned) owners.set(id, reowned.get(id)!);
  });

  it('when Redis goes down, routing degrades to local with affinity:error events and nothing throws', async () => {
    const before = await Promise.all(survivors.map((worker) => worker.stats()));
    await server.stop();
    const outage = Array.from({ length: 20 }, (_, i) => `outage-${i}`);
    const replies = await Promise.all(survivors.map((worker) => worker.route(outage)));
    for (const [i, reply] of replies.entries()) {
      expect(reply.decisions.every((d) => d.local && d.owner === survivors[i]!.workerId)).toBe(true);
      expect(reply.acquireErrors).toEqual([]);
    }
    // Existing sessions keep being served locally too.
    const existing = await Promise.all(survivors.map((worker) => worker.route(ids.slice(0, 10), false)));
    for (const reply of existing) expect(reply.decisions.every((d) => d.local)).toBe(true);
    const after = await Promise.all(survivors.map((worker) => worker.stats()));
    for (const [i, stat] of after.entries()) {
      expect(stat.affinityErrors).toBeGreaterThan(before[i]!.affinityErrors);
      expect(stat.uncaught).toEqual([]);
    }
  });

  it('when Redis comes back (empty), heartbeats and ownership resume', async () => {
    await server.start();
    await eventually(async () => admin.status === 'ready', 'the admin client to reconnect');
    // Each survivor's next routes reach Redis again (the first may still race its reconnect).
    for (const worker of survivors) {
      await eventually(async () => {
        const { affinityErrors } = await worker.stats();
        await worker.route([`probe-${worker.workerId}`], false);
        return (await worker.stats()).affinityErrors === affinityErrors;
      }, `${worker.workerId} to reach Redis again`);
    }
    for (const worker of survivors) expect(await adminStore.isAlive(worker.workerId)).toBe(true);

    const fresh = Array.from({ length: 50 }, (_, i) => `fresh-${i}`);
    const replies = await Promise.all(survivors.map((worker) => worker.route(fresh)));
    expectOneLocalOwnerEach(
      replies,
      fresh,
      survivors.map((w) => w.workerId),
    );

    // Claims of live sessions lost with the old Redis come back with the next refresh batch (every ttl/3).
    const sample = ids.slice(0, 20);
    await eventually(
      async () => (await Promise.all(sample.map((id) => adminStore.owner(id)))).every((owner, i) => owner === owners.get(sample[i]!)),
      'refreshes to restore the claims of live sessions',
      80,
      100,
    );
    const stats = await Promise.all(survivors.map((worker) => worker.stats()));
    for (const stat of stats) expect(stat.uncaught).toEqual([]);
  });
});
