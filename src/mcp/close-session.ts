// Closing one upstream session: terminate it through the close queue, then close the client (no SDK import).
import { onAbort } from './abort.js';
import { type CloseQueue } from './close-queue.js';

/** What {@link closeSession} needs of one connection. */
export interface SessionClose {
  readonly queue: CloseQueue;
  /** The registry's grace signal for this close. */
  readonly grace: AbortSignal;
  /**
   * Ends the upstream session (the HTTP DELETE), given the signal that ends its slot in the queue; undefined
   * when there is nothing to terminate (never opened, no session id, a modern-era connection, stdio).
   */
  readonly terminate: ((signal: AbortSignal) => Promise<void>) | undefined;
  /** Whether a termination error means the upstream already forgot the session (a success). */
  readonly isGone: (error: unknown) => boolean;
  /** Closes the SDK client (aborting every in-flight request of its transport). */
  readonly closeClient: () => Promise<void>;
}

/**
 * Terminates the session through the factory's {@link CloseQueue}, within the close's deadline
 * ({@link CloseQueue.linger}: part of the wait the registry grants after the grace window), then closes the
 * client. When the deadline fires the client is closed at once, which aborts a DELETE still in flight.
 *
 * @returns Resolves once the client is closed.
 * @throws The termination's error (the deadline's reason when it fired), unless `isGone` says the upstream
 *   already forgot the session; the client is closed either way.
 */
export async function closeSession({ queue, grace, terminate, isGone, closeClient }: SessionClose): Promise<void> {
  const deadline = queue.linger(grace);
  const stop = onAbort(deadline.signal, () => void closeClient().catch(() => undefined));
  let failure: { error: unknown } | undefined;
  try {
    if (terminate !== undefined) {
      await queue.run(deadline.signal, terminate).catch((error: unknown) => {
        if (!isGone(error)) failure = { error: deadline.signal.aborted ? deadline.signal.reason : error };
      });
    }
    await closeClient();
  } finally {
    stop();
    deadline.dispose();
  }
  if (failure !== undefined) throw failure.error as Error;
}
