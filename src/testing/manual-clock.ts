import { type Clock } from '../clock.js';

/**
 * The handle {@link ManualClock.setTimeout} returns. Opaque to the code under test (a {@link Clock} handle is
 * `unknown`); tests may read when it falls due.
 */
export interface ManualTimerHandle {
  /** Clock time (ms) at which the timer falls due. */
  readonly dueAt: number;
}

/** Options of {@link ManualClock}. */
export interface ManualClockOptions {
  /**
   * Most timers one {@link ManualClock.advance} (or {@link ManualClock.runAll}) call may run before it
   * rejects. Guards against a timer that keeps rescheduling itself with a 0 ms delay.
   * @default 100000
   */
  maxTimersPerRun?: number;
}

/** One scheduled callback. `seq` breaks ties between timers due at the same instant. */
class Timer implements ManualTimerHandle {
  /** Fired or cancelled: no longer pending. */
  done = false;
  cancelled = false;
  constructor(
    readonly owner: ManualClock,
    readonly dueAt: number,
    readonly seq: number,
    readonly fn: () => void,
  ) {}
}

/** Captured at load time, so a test that installs fake timers after importing the kit cannot stall `flush()`. */
const realSetImmediate = globalThis.setImmediate;

/** Macrotask turns `flush()` waits: enough for promise chains and `setImmediate`-based work to progress. */
const SETTLE_TURNS = 3;

function settle(): Promise<void> {
  return new Promise<void>((resolve) => {
    realSetImmediate(resolve);
  });
}

function before(a: Timer, b: Timer): boolean {
  return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq);
}

function assertMs(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`Expected \`${name}\` to be a finite number >= 0, got \`${String(value)}\` (${typeof value})`);
  }
}

/**
 * A {@link Clock} that only moves when a test tells it to. Pass it as the registry's `clock` (and the
 * `FakeSessionFactory`'s) and drive time with {@link ManualClock.advance}: no real sleeps, no patched
 * globals, no flaky tests.
 *
 * Timers live in a binary heap, so scheduling, cancelling and firing are O(log n) even with thousands of
 * sessions each holding a timer.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const registry = new UpstreamSessionRegistry({ sessionFactory: new FakeSessionFactory({ clock }), clock, idleTtlMs: 1_000 });
 * await registry.withSession(request, (client) => client.ping());
 * await clock.advance(1_000);           // the idle sweep runs, its async close settles
 * expect(registry.size).toBe(0);
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #pending = 0;
  #cancelledInHeap = 0;
  /** Min-heap ordered by (dueAt, seq); cancelled timers are removed lazily. */
  #heap: Timer[] = [];
  /** Serializes overlapping `advance` calls. */
  #running: Promise<void> = Promise.resolve();
  readonly #maxTimersPerRun: number;

  /**
   * @param startMs - Initial value of {@link ManualClock.now}, in milliseconds. @default 0
   * @param options - See {@link ManualClockOptions}.
   * @throws RangeError when `startMs` is not a finite number or `maxTimersPerRun` is not a positive integer.
   */
  constructor(startMs = 0, options: ManualClockOptions = {}) {
    if (typeof startMs !== 'number' || !Number.isFinite(startMs)) {
      throw new RangeError(`Expected \`startMs\` to be a finite number, got \`${String(startMs)}\` (${typeof startMs})`);
    }
    const max = options.maxTimersPerRun ?? 100_000;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`Expected \`maxTimersPerRun\` to be an integer >= 1, got \`${String(max)}\` (${typeof max})`);
    }
    this.#now = startMs;
    this.#maxTimersPerRun = max;
  }

  /** Current clock time in milliseconds. Inside a timer callback: the time that timer fell due. */
  now(): number {
    return this.#now;
  }

  /**
   * Schedules `fn` to run `ms` milliseconds from now, when a test advances the clock that far. Like Node,
   * a negative or non-finite delay counts as 0.
   *
   * @param fn - Callback; if it throws, the error is reported by the `advance` call that ran it.
   * @param ms - Delay in milliseconds.
   * @returns A handle for {@link ManualClock.clearTimeout}.
   * @example
   * ```ts
   * const fired: string[] = [];
   * const handle = clock.setTimeout(() => fired.push('a'), 100);
   * ```
   */
  setTimeout(fn: () => void, ms: number): ManualTimerHandle {
    const delay = typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer = new Timer(this, this.#now + delay, this.#seq++, fn);
    this.#push(timer);
    this.#pending += 1;
    return timer;
  }

  /**
   * Cancels a timer. Handles from other clocks, already-fired or already-cancelled timers and any other
   * value are ignored.
   *
   * @param handle - A handle returned by {@link ManualClock.setTimeout}.
   * @example
   * ```ts
   * const handle = clock.setTimeout(() => {}, 100);
   * clock.clearTimeout(handle);
   * ```
   */
  clearTimeout(handle: unknown): void {
    if (!(handle instanceof Timer) || handle.owner !== this || handle.done) return;
    handle.done = true;
    handle.cancelled = true;
    this.#pending -= 1;
    this.#cancelledInHeap += 1;
    this.#compactIfSparse();
  }

  /** Timers scheduled and neither fired nor cancelled. */
  get pendingTimers(): number {
    return this.#pending;
  }

  /** When the next pending timer falls due, or `undefined` when none is pending. */
  get nextTimerAt(): number | undefined {
    return this.#peek()?.dueAt;
  }

  /**
   * Moves time forward by `ms`, running every timer that falls due on the way in time order (ties in
   * scheduling order), including timers scheduled by those timers or by the promise chains they start.
   * Between timers and at the end it lets promises settle (a few macrotask turns), so async work triggered
   * by one timer progresses before the next one fires. Overlapping calls run one after the other.
   *
   * @param ms - How far to move, in milliseconds (0 runs only what is due now, then settles).
   * @throws RangeError when `ms` is negative or not finite.
   * @throws The first error a timer callback threw (an `AggregateError` if several did); time still
   *   reaches the target.
   * @throws Error when more than `maxTimersPerRun` timers fire in one call (a timer rescheduling itself
   *   with a 0 ms delay).
   * @example
   * ```ts
   * await clock.advance(30_000);   // a create timeout fires and the registry's rejection settles
   * ```
   */
  async advance(ms: number): Promise<void> {
    assertMs('ms', ms);
    return this.#serialize(() => this.#runUntil(this.#now + ms));
  }

  /**
   * Moves time forward to the absolute time `timeMs`, exactly like {@link ManualClock.advance}.
   *
   * @param timeMs - Target clock time in milliseconds; must not be in the past.
   * @throws RangeError when `timeMs` is before {@link ManualClock.now} or not finite.
   * @example
   * ```ts
   * await clock.advanceTo(clock.nextTimerAt ?? clock.now());
   * ```
   */
  async advanceTo(timeMs: number): Promise<void> {
    if (typeof timeMs !== 'number' || !Number.isFinite(timeMs)) {
      throw new RangeError(`Expected \`timeMs\` to be a finite number, got \`${String(timeMs)}\` (${typeof timeMs})`);
    }
    return this.#serialize(() => {
      if (timeMs < this.#now) {
        return Promise.reject(new RangeError(`Cannot move a ManualClock back in time from ${this.#now} to ${timeMs}`));
      }
      return this.#runUntil(timeMs);
    });
  }

  /**
   * Moves {@link ManualClock.now} forward by `ms` **without running any timer**, as a VM pause or a suspended
   * laptop does: `Date.now()` jumps while timers fire late. Timers that fell due stay pending and run, in due
   * order, at the next {@link ManualClock.advance} / {@link ManualClock.advanceTo} / {@link ManualClock.runAll}
   * (time never moves back for them). Use it to check decisions made by the clock, not by timers (e.g. an idle
   * session past its TTL is never handed out even though its sweep timer has not run yet).
   *
   * @param ms - How far to move, in milliseconds (finite, >= 0).
   * @throws RangeError when `ms` is negative or not finite.
   * @example
   * ```ts
   * clock.jump(2 * 3_600_000);                  // the idle sweep is overdue but has not run
   * await registry.withSession(request, (client) => client.listTools()); // still gets a fresh session
   * await clock.advance(0);                     // now the overdue timers run
   * ```
   */
  jump(ms: number): void {
    assertMs('ms', ms);
    this.#now += ms;
  }

  /**
   * Runs timers until none is pending, moving time to each one's due time. Meant for a finite set of
   * timers: a recurring timer (a heartbeat) keeps it going until the `maxTimers` bound rejects.
   *
   * @param maxTimers - Most timers to run before rejecting. @default the clock's `maxTimersPerRun`
   * @throws Error when more than `maxTimers` timers fire; otherwise like {@link ManualClock.advance}.
   * @example
   * ```ts
   * await clock.runAll();
   * expect(clock.pendingTimers).toBe(0);
   * ```
   */
  async runAll(maxTimers: number = this.#maxTimersPerRun): Promise<void> {
    if (!Number.isInteger(maxTimers) || maxTimers < 1) {
      throw new RangeError(`Expected \`maxTimers\` to be an integer >= 1, got \`${String(maxTimers)}\` (${typeof maxTimers})`);
    }
    return this.#serialize(() => this.#runUntil(Infinity, maxTimers));
  }

  /**
   * Lets pending promise chains settle (a few macrotask turns) without moving time.
   *
   * @example
   * ```ts
   * const pending = registry.acquire(request);
   * await clock.flush();
   * expect(factory.createCalls).toBe(1);
   * ```
   */
  async flush(): Promise<void> {
    for (let turn = 0; turn < SETTLE_TURNS; turn += 1) await settle();
  }

  #serialize(run: () => Promise<void>): Promise<void> {
    const next = this.#running.then(run);
    this.#running = next.catch(() => undefined);
    return next;
  }

  async #runUntil(target: number, maxTimers = this.#maxTimersPerRun): Promise<void> {
    // Let work queued before this call schedule its timers at the current time, not at the target.
    for (let turn = 0; turn < SETTLE_TURNS; turn++) await settle();
    const errors: unknown[] = [];
    let fired = 0;
    for (;;) {
      const timer = this.#peek();
      if (timer !== undefined && timer.dueAt <= target) {
        if (fired >= maxTimers) {
          if (target !== Infinity && target > this.#now) this.#now = target;
          throw new Error(
            `ManualClock ran ${maxTimers} timers in one call and more are due: is a timer rescheduling itself with a 0 ms delay?`,
          );
        }
        fired += 1;
        this.#pop();
        this.#pending -= 1;
        timer.done = true;
        if (timer.dueAt > this.#now) this.#now = timer.dueAt;
        try {
          timer.fn();
        } catch (error) {
          errors.push(error);
        }
        await this.flush();
        continue;
      }
      if (target !== Infinity && target > this.#now) this.#now = target;
      await this.flush();
      const next = this.#peek();
      if (next === undefined || next.dueAt > target) break;
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} ManualClock timer callbacks threw`);
  }

  /** The earliest live timer, after discarding cancelled ones at the top of the heap. */
  #peek(): Timer | undefined {
    let top = this.#heap[0];
    while (top?.cancelled === true) {
      this.#pop();
      this.#cancelledInHeap -= 1;
      top = this.#heap[0];
    }
    return top;
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    heap.push(timer);
    this.#siftUp(heap.length - 1);
  }

  #pop(): Timer | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      this.#siftDown(0);
    }
    return top;
  }

  #siftUp(index: number): void {
    const heap = this.#heap;
    const item = heap[index] as Timer;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex] as Timer;
      if (!before(item, parent)) break;
      heap[index] = parent;
      index = parentIndex;
    }
    heap[index] = item;
  }

  #siftDown(index: number): void {
    const heap = this.#heap;
    const length = heap.length;
    const item = heap[index] as Timer;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && before(heap[right] as Timer, heap[left] as Timer)) child = right;
      const candidate = heap[child] as Timer;
      if (!before(candidate, item)) break;
      heap[index] = candidate;
      index = child;
    }
    heap[index] = item;
  }

  /** Rebuilds the heap without cancelled timers once they are most of it, so churn cannot grow memory. */
  #compactIfSparse(): void {
    if (this.#cancelledInHeap < 64 || this.#cancelledInHeap * 2 < this.#heap.length) return;
    this.#heap = this.#heap.filter((timer) => !timer.cancelled);
    this.#cancelledInHeap = 0;
    for (let index = (this.#heap.length >> 1) - 1; index >= 0; index -= 1) this.#siftDown(index);
  }
}
