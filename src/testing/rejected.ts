/**
 * A promise rejected with `reason`, whatever its type (an abort `reason` need not be an `Error`).
 *
 * @packageDocumentation
 */

/**
 * A promise rejected with `reason`, whatever its type (an abort `reason` need not be an `Error`).
 *
 * @param reason - The rejection reason.
 * @returns A rejected promise.
 * @example
 * ```ts
 * const wait = signal.aborted ? rejected(signal.reason) : new Promise<void>((resolve) => setTimeout(resolve, 10));
 * ```
 */
export function rejected(reason: unknown): Promise<never> {
  return new Promise<never>(() => {
    throw reason;
  });
}
