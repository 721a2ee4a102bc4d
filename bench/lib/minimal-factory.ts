/**
 * The smallest possible fake upstream for the in-process suites: one shared, frozen client and a two-field
 * connection object per session, so heap and CPU measurements show the registry's own bookkeeping.
 */
import { type UpstreamClient } from '../../src/client.js';
import { type ConnectionEvents, type SessionCreateRequest, type SessionFactory, type UpstreamConnection } from '../../src/factory.js';

const answer: Promise<unknown> = Promise.resolve({});

/** A client that answers every probe at once. Shared by every fake connection. */
export const sharedClient: UpstreamClient = Object.freeze({
  ping: () => answer,
  listTools: () => answer,
  listPrompts: () => answer,
  listResources: () => answer,
});

/** How a {@link MinimalFactory} connection closes. */
export type CloseMode = 'ok' | 'never';

const closeOk = (): Promise<void> => Promise.resolve();
const closeNever = (): Promise<void> => new Promise<void>(() => undefined);

/** A {@link SessionFactory} that counts calls and creates a tiny connection, at once or after a delay. */
export class MinimalFactory implements SessionFactory<UpstreamClient> {
  /** `create` calls so far. */
  creates = 0;
  readonly #close: (signal: AbortSignal) => Promise<void>;
  readonly #delayMs: number;
  readonly #freshClients: boolean;

  /**
   * @param options.close - `'never'` makes every close hang forever, even when its signal fires.
   * @param options.delayMs - Real-time delay of each creation (0 = next microtask).
   * @param options.freshClients - Give each connection its own client object (to tell sessions apart).
   */
  constructor(options: { close?: CloseMode; delayMs?: number; freshClients?: boolean } = {}) {
    this.#close = options.close === 'never' ? closeNever : closeOk;
    this.#delayMs = options.delayMs ?? 0;
    this.#freshClients = options.freshClients ?? false;
  }

  /** See {@link SessionFactory.create}. */
  create(_request: SessionCreateRequest, _events: ConnectionEvents): Promise<UpstreamConnection<UpstreamClient>> {
    this.creates += 1;
    const connection: UpstreamConnection<UpstreamClient> = {
      client: this.#freshClients ? { ...sharedClient } : sharedClient,
      close: this.#close,
    };
    if (this.#delayMs === 0) return Promise.resolve(connection);
    return new Promise((resolve) => setTimeout(() => resolve(connection), this.#delayMs));
  }
}
