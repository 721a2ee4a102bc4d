/**
 * Resolves or rejects like `promise`, unless `signal` aborts first: then rejects with `signal.reason`.
 * The listener is removed once either settles, so a long-lived signal does not collect listeners.
 * `promise` keeps running; the caller owns its cleanup.
 */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let stop = (): void => undefined;
    const fail = (error: unknown): void => {
      stop();
      reject(error);
    };
    stop = onAbort(signal, () => {
      const reason: unknown = signal.reason;
      fail(reason);
    });
    promise.then((value) => {
      stop();
      resolve(value);
    }, fail);
  });
}

/**
 * Runs `listener` once when `signal` aborts (at once if it already has). Returns a function that removes
 * the listener; call it when the guarded work is over.
 */
export function onAbort(signal: AbortSignal, listener: () => void): () => void {
  if (signal.aborted) {
    listener();
    return () => undefined;
  }
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}
