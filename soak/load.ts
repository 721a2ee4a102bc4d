/**
 * The load and the chaos of a soak run.
 *
 * - Workers (bounded concurrency) call `registry.withSession` for random `(downstream session, upstream)`
 *   pairs and run one MCP request in it (mostly the counter's `increment`). A failed request is counted by
 *   category; the worker backs off a few milliseconds, as a gateway's client would, and goes on.
 * - A chaos loop, at random intervals: restarts an upstream (sessions forgotten, connections refused for a
 *   while), opens a slow window on one (some POSTs delayed past the probe, create and call timeouts), expires
 *   one upstream session, ends a downstream session (`evictSession`; the slot gets a new downstream id, as a
 *   new chat tab would), evicts one key, or evicts one upstream.
 * - A sampler takes heap samples at a steady interval after the warm-up.
 *
 * The load stops at the time bound or when the request budget is spent, whichever comes first.
 */
import { performance } from 'node:perf_hooks';
import { type UpstreamSessionRegistry, type SessionRequest } from '../src/index.js';
import { ErrorTally, ToolResultError } from './errors.js';
import { type HeapSampler } from './heap.js';
import { KEY_HEADER } from './protocol.js';
import { type Random } from './random.js';
import { type RemoteUpstream } from './remote-upstream.js';

/** Shape of the load. */
export interface LoadConfig {
  readonly registry: UpstreamSessionRegistry;
  readonly upstreams: readonly RemoteUpstream[];
  readonly random: Random;
  readonly heap: HeapSampler;
  /** Time bound of the load, in ms. */
  readonly durationMs: number;
  /** Request budget. */
  readonly requests: number;
  /** Downstream sessions (each talks to every upstream). */
  readonly downstreamSessions: number;
  /** Requests in flight at most. */
  readonly concurrency: number;
  /** Timeout of each MCP request made inside `withSession`. */
  readonly callTimeoutMs: number;
  /** Longest delay a slow window adds to one upstream POST. */
  readonly maxSlowDelayMs: number;
  /** Called about every `progressEveryMs` with the elapsed time. */
  readonly progress?: (elapsedMs: number) => void;
  readonly progressEveryMs?: number;
}

/** What the chaos loop did. */
export interface ChaosCounts {
  restarts: number;
  slowWindows: number;
  expiries: number;
  evictSession: number;
  evict: number;
  evictUpstream: number;
}

type ChaosAction = keyof ChaosCounts;

/** Relative weights of the chaos actions. */
const CHAOS_WEIGHTS: readonly (readonly [ChaosAction, number])[] = [
  ['evictSession', 30],
  ['slowWindows', 20],
  ['restarts', 15],
  ['expiries', 15],
  ['evict', 12],
  ['evictUpstream', 3],
];

/** Gap between two chaos actions, in ms. */
const CHAOS_GAP_MS: readonly [number, number] = [100, 400];
/** How long a restarted upstream refuses connections, in ms. */
const DOWNTIME_MS: readonly [number, number] = [50, 400];
/** How long a slow window lasts, in ms, and the share of POSTs it delays. */
const SLOW_WINDOW_MS: readonly [number, number] = [300, 1_500];
const SLOW_PROBABILITY = 0.3;
/** Back-off of a worker after a failed request, in ms. */
const BACKOFF_MS: readonly [number, number] = [2, 20];
/** How long the load waits for in-flight requests once it stops, before calling it a hang. */
export const STOP_GRACE_MS = 15_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether `promise` settles within `ms` (the timer is cleared either way, so it never holds the process). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs one soak load. Create, then `await run()`. */
export class Load {
  /** Requests issued (each one `withSession` call). */
  requests = 0;
  ok = 0;
  readonly errors = new ErrorTally();
  readonly chaos: ChaosCounts = { restarts: 0, slowWindows: 0, expiries: 0, evictSession: 0, evict: 0, evictUpstream: 0 };
  /** Set when in-flight requests did not finish within {@link STOP_GRACE_MS} of the stop. */
  hung = false;
  /** When the load actually stopped, in ms since it started. */
  elapsedMs = 0;
  /** Which bound ended the load. */
  endedBy: 'time' | 'budget' = 'time';

  readonly #config: LoadConfig;
  readonly #random: Random;
  /** Current downstream session id of each slot (a slot gets a new id when its session is ended). */
  readonly #downstreamIds: string[];
  readonly #generations: number[];
  readonly #background = new Set<Promise<unknown>>();
  #stopping = false;
  #resolveStopped: () => void = () => undefined;
  readonly #stopped = new Promise<void>((resolve) => {
    this.#resolveStopped = resolve;
  });
  #startedAt = 0;

  constructor(config: LoadConfig) {
    this.#config = config;
    this.#random = config.random;
    this.#generations = Array.from({ length: config.downstreamSessions }, () => 0);
    this.#downstreamIds = this.#generations.map((_, slot) => `soak-d${slot}-g0`);
  }

  /** Runs the load to its time bound or request budget, then waits for everything it started. */
  async run(): Promise<void> {
    const { durationMs, concurrency } = this.#config;
    this.#startedAt = performance.now();
    const deadline = setTimeout(() => this.#stop(), durationMs);
    const finished = Promise.all([
      ...Array.from({ length: concurrency }, () => this.#worker()),
      this.#chaosLoop(),
      this.#samplerLoop(),
      this.#progressLoop(),
    ]);
    await Promise.race([finished, this.#stopped]);
    clearTimeout(deadline);
    this.elapsedMs = this.#elapsed();
    // Every request is bounded by its own timeouts; this only guards the soak itself against a hang.
    this.hung = !(await settlesWithin(finished, STOP_GRACE_MS));
    await Promise.all([...this.#background]);
    await Promise.all(this.#config.upstreams.map((upstream) => upstream.stopSlowDown()));
    // Whatever the chaos left half done: every upstream must be listening again before the leak check.
    await Promise.all(this.#config.upstreams.filter((upstream) => upstream.restarting).map((upstream) => upstream.restart(0)));
  }

  #stop(): void {
    this.#stopping = true;
    this.#resolveStopped();
  }

  /** Sleeps `ms`, or less if the load stops meanwhile. */
  async #wait(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#stopped, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  #elapsed(): number {
    return performance.now() - this.#startedAt;
  }

  #spent(): boolean {
    if (this.requests >= this.#config.requests && !this.#stopping) {
      this.endedBy = 'budget';
      this.#stop();
    }
    return this.#stopping;
  }

  async #worker(): Promise<void> {
    const { registry, upstreams, callTimeoutMs } = this.#config;
    while (!this.#spent()) {
      this.requests += 1;
      const slot = this.#random.int(this.#downstreamIds.length);
      const downstreamSessionId = this.#downstreamIds[slot]!;
      const upstream = this.#random.pick(upstreams);
      const request: SessionRequest = {
        downstreamSessionId,
        upstreamId: upstream.id,
        url: upstream.url,
        headers: { [KEY_HEADER]: `${downstreamSessionId}|${upstream.id}` },
      };
      const roll = this.#random.next();
      try {
        await registry.withSession(request, async (client) => {
          if (roll < 0.1) {
            await client.listTools(undefined, { timeout: callTimeoutMs });
            return;
          }
          const name = roll < 0.15 ? 'get' : 'increment';
          const result = await client.callTool({ name, arguments: name === 'get' ? {} : { by: 1 } }, undefined, {
            timeout: callTimeoutMs,
          });
          if (result.isError === true) throw new ToolResultError(`${name} returned isError`);
        });
        this.ok += 1;
      } catch (error) {
        this.errors.record(error);
        await sleep(this.#random.between(...BACKOFF_MS));
      }
    }
  }

  async #chaosLoop(): Promise<void> {
    const total = CHAOS_WEIGHTS.reduce((sum, [, weight]) => sum + weight, 0);
    while (!this.#stopping) {
      await this.#wait(this.#random.between(...CHAOS_GAP_MS));
      if (this.#stopping) break;
      let roll = this.#random.int(total);
      const action = CHAOS_WEIGHTS.find(([, weight]) => (roll -= weight) < 0)![0];
      this.#chaosAction(action);
    }
  }

  #chaosAction(action: ChaosAction): void {
    const { registry, upstreams, maxSlowDelayMs } = this.#config;
    const upstream = this.#random.pick(upstreams);
    switch (action) {
      case 'restarts':
        if (upstream.restarting) return;
        this.#track(action, upstream.restart(this.#random.between(...DOWNTIME_MS)));
        break;
      case 'slowWindows':
        this.#track(action, upstream.slowDown(this.#random.between(...SLOW_WINDOW_MS), SLOW_PROBABILITY, maxSlowDelayMs));
        break;
      case 'expiries':
        this.#track(action, upstream.expireSession());
        break;
      case 'evictSession': {
        // The downstream client went away; its slot is taken by a new downstream session.
        const slot = this.#random.int(this.#downstreamIds.length);
        const old = this.#downstreamIds[slot]!;
        this.#generations[slot]! += 1;
        this.#downstreamIds[slot] = `soak-d${slot}-g${this.#generations[slot]}`;
        this.#track(action, registry.evictSession(old));
        break;
      }
      case 'evict':
        this.#track(
          action,
          registry.evict({ downstreamSessionId: this.#random.pick(this.#downstreamIds), upstreamId: upstream.id }),
        );
        break;
      case 'evictUpstream':
        this.#track(action, registry.evictUpstream(upstream.id));
        break;
    }
    this.chaos[action] += 1;
  }

  #track(action: ChaosAction, promise: Promise<unknown>): void {
    const tracked = promise.catch((error: unknown) => this.errors.recordUnexpected(`chaos ${action}`, error));
    this.#background.add(tracked);
    void tracked.finally(() => this.#background.delete(tracked));
  }

  async #samplerLoop(): Promise<void> {
    const { durationMs, heap } = this.#config;
    // Warm-up: let JIT, pools and the first sessions settle; then about 48 samples over the rest of the run.
    const warmupMs = Math.min(5_000, Math.max(1_000, durationMs * 0.25));
    const intervalMs = Math.max(100, (durationMs - warmupMs) / 48);
    let next = warmupMs;
    while (!this.#stopping) {
      await this.#wait(Math.max(0, next - this.#elapsed()));
      if (this.#stopping) break;
      await heap.sample(this.#elapsed(), this.#config.registry.size);
      next += intervalMs;
    }
  }

  async #progressLoop(): Promise<void> {
    const { progress, progressEveryMs } = this.#config;
    if (progress === undefined || progressEveryMs === undefined) return;
    let next = progressEveryMs;
    while (!this.#stopping) {
      await this.#wait(Math.max(0, next - this.#elapsed()));
      if (this.#stopping || this.#elapsed() < next) continue;
      progress(this.#elapsed());
      next += progressEveryMs;
    }
  }
}
