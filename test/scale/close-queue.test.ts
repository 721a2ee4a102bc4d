import { describe, expect, it } from 'vitest';
import { CloseQueue } from '../../src/mcp/close-queue.js';
import { ManualClock } from '../../src/testing/index.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const open = (): AbortSignal => new AbortController().signal;

describe('the close queue', () => {
  it('runs at most `concurrency` terminations at once, the rest in order as slots free up', async () => {
    const queue = new CloseQueue(2);
    const gates = [deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((gate, i) =>
      queue.run(open(), async () => {
        started.push(i);
        await gate.promise;
        return i;
      }),
    );
    await Promise.resolve();
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(queue.pending).toBe(1);

    gates[0]!.resolve();
    await runs[0];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2]);
    gates[1]!.resolve();
    gates[2]!.resolve();
    await expect(Promise.all(runs)).resolves.toEqual([0, 1, 2]);
  });

  it('never starts a termination whose signal fired while it waited, and rejects it at once with the reason', async () => {
    const queue = new CloseQueue(1);
    const blocker = deferred();
    const first = queue.run(open(), () => blocker.promise);
    const grace = new AbortController();
    let ran = false;
    const second = queue.run(grace.signal, () => {
      ran = true;
      return Promise.resolve();
    });
    const reason = new Error('grace window over');

    grace.abort(reason);

    await expect(second).rejects.toBe(reason);
    blocker.resolve();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran).toBe(false);
    expect(queue.active + queue.pending).toBe(0);
  });

  it('rejects with the reason, without running, when the signal already fired', async () => {
    const queue = new CloseQueue();
    const reason = new Error('late');
    let ran = false;
    await expect(
      queue.run(AbortSignal.abort(reason), () => {
        ran = true;
        return Promise.resolve();
      }),
    ).rejects.toBe(reason);
    expect(ran).toBe(false);
  });

  it('passes a started termination’s failure through and frees its slot', async () => {
    const queue = new CloseQueue(1);
    const failure = new Error('DELETE failed');
    await expect(queue.run(open(), () => Promise.reject(failure))).rejects.toBe(failure);
    await expect(queue.run(open(), () => Promise.resolve('next'))).resolves.toBe('next');
  });
});

describe("a close's deadline (linger)", () => {
  it('fires 0.8 × the grace window after the grace signal, with its reason', async () => {
    const clock = new ManualClock();
    const queue = new CloseQueue(1, clock);
    const grace = new AbortController();
    const deadline = queue.linger(grace.signal);
    await clock.advance(5_000);
    const reason = new Error('grace over');
    grace.abort(reason);
    expect(deadline.signal.aborted).toBe(false);

    await clock.advance(3_999);
    expect(deadline.signal.aborted).toBe(false);
    await clock.advance(1);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBe(reason);
    deadline.dispose();
  });

  it('is aborted at once when the grace signal already was', () => {
    const queue = new CloseQueue(1, new ManualClock());
    const deadline = queue.linger(AbortSignal.abort(new Error('late')));
    expect(deadline.signal.aborted).toBe(true);
  });

  it('lets a termination queued behind a slow one still run after the grace window, within the deadline', async () => {
    const clock = new ManualClock();
    const queue = new CloseQueue(1, clock);
    const grace = new AbortController();
    const slow = deferred();
    const first = queue.linger(grace.signal);
    const second = queue.linger(grace.signal);
    const runs = [queue.run(first.signal, () => slow.promise.then(() => 'first')), queue.run(second.signal, () => Promise.resolve('second'))];
    await clock.advance(1_000);
    grace.abort(new Error('grace over'));
    await clock.advance(500);
    slow.resolve();

    expect(await Promise.all(runs)).toEqual(['first', 'second']);
    first.dispose();
    second.dispose();
    expect(clock.pendingTimers).toBe(0);
  });

  it('disposing removes its timer', async () => {
    const clock = new ManualClock();
    const queue = new CloseQueue(1, clock);
    const grace = new AbortController();
    const deadline = queue.linger(grace.signal);
    await clock.advance(100);
    grace.abort();
    deadline.dispose();
    await clock.advance(1_000);
    expect(deadline.signal.aborted).toBe(false);
  });
});
