import { type Clock } from './clock.js';

/** A promise with its settle functions, for a phase that many waiters share. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/**
 * Makes a {@link Deferred}. Its promise has a no-op rejection handler attached: waiters may all have given up,
 * and a rejection nobody awaits is not an error.
 * @example
 * ```ts
 * const ready = deferred<void>();
 * setTimeout(() => ready.resolve(), 10);
 * await ready.promise;
 * ```
 */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * Waits for `promise`, or rejects with `signal.reason` as soon as `signal` aborts (without cancelling
 * `promise`). The abort listener is removed when either settles.
 * @example
 * ```ts
 * declare const sharedCreation: Promise<FakeUpstreamClient>;
 * await raceSignal(sharedCreation, request.signal); // this caller stops waiting; the creation goes on
 * ```
 */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as unknown);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Outcome of {@link withDeadline}: the value, the error, or that the deadline passed first. */
export type DeadlineOutcome<T> = { status: 'ok'; value: T } | { status: 'error'; error: unknown } | { status: 'timeout' };

/**
 * Runs `start()` (a throw counts as a rejection) and settles with its outcome, or with `timeout` once `ms`
 * have passed on `clock`; never rejects. The timer is cleared when the call settles first.
 * @example
 * ```ts
 * const outcome = await withDeadline(systemClock, 5_000, () => connection.close(signal));
 * if (outcome.status === 'timeout') log.warn('close abandoned');
 * ```
 */
export function withDeadline<T>(clock: Clock, ms: number, start: () => Promise<T> | T): Promise<DeadlineOutcome<T>> {
  return new Promise<DeadlineOutcome<T>>((resolve) => {
    let done = false;
    const timer = clock.setTimeout(() => {
      if (done) return;
      done = true;
      resolve({ status: 'timeout' });
    }, ms);
    const finish = (outcome: DeadlineOutcome<T>): void => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      resolve(outcome);
    };
    let pending: Promise<T>;
    try {
      pending = Promise.resolve(start());
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (value) => finish({ status: 'ok', value }),
      (error: unknown) => finish({ status: 'error', error }),
    );
  });
}

/**
 * Resolves after `ms` on `clock`, or at once when `cut` is called (whichever comes first). Used to wait for a
 * drain with a bound that `closeAll` can cut short.
 * @example
 * ```ts
 * import { type Entry } from './entry.js';
 * declare const entry: Entry<FakeUpstreamClient>;
 * const closeTimeoutMs = 5_000;
 * const wait = cuttableDelay(clock, closeTimeoutMs);
 * entry.onDrained = wait.cut;
 * await wait.promise;
 * ```
 */
export function cuttableDelay(clock: Clock, ms: number): { readonly promise: Promise<void>; cut(): void } {
  const done = deferred<void>();
  const timer = clock.setTimeout(() => done.resolve(), ms);
  return {
    promise: done.promise,
    cut(): void {
      clock.clearTimeout(timer);
      done.resolve();
    },
  };
}
