// Delivers the messages of one stream in order, one per turn of the event loop (no SDK import).

/**
 * Runs queued steps in order, yielding to the event loop (`setImmediate`) between consecutive steps.
 *
 * A chunk of an event stream often holds several messages (the last progress notification and the call's
 * response). Handing them to the SDK in one synchronous burst lets the response overtake the work the
 * notifications start (a gateway relaying progress downstream would send the response first). Yielding
 * between steps gives that work the same head start it has when messages arrive one per read; a lone
 * message is delivered at once, and the next one no sooner than the next turn.
 *
 * @example
 * ```ts
 * const queue = new DeliveryQueue();
 * queue.push(() => console.log('progress'));
 * queue.push(() => console.log('response')); // runs on a later turn of the event loop
 * ```
 */
export class DeliveryQueue {
  readonly #steps: (() => void)[] = [];
  #scheduled = false;
  #running = false;

  /** Queues `step`; runs it now when nothing is queued or running. */
  push(step: () => void): void {
    this.#steps.push(step);
    if (this.#running || this.#scheduled) return;
    this.#drainOne();
  }

  #drainOne(): void {
    this.#scheduled = false;
    const step = this.#steps.shift();
    if (step === undefined) return;
    this.#running = true;
    try {
      step();
    } finally {
      this.#running = false;
      // A step pushed before the next turn (the rest of the same chunk, typically) waits for it.
      this.#scheduled = true;
      setImmediate(() => this.#drainOne());
    }
  }
}
