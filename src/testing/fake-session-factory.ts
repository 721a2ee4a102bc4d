/**
 * {@link FakeSessionFactory}: a scriptable `SessionFactory` that records what the registry asked for.
 *
 * @packageDocumentation
 */

import { systemClock, type Clock } from '../clock.js';
import { type ConnectionEvents, type SessionCreateRequest, type SessionFactory } from '../factory.js';
import { type SessionKey } from '../types.js';
import { FakeConnection, type FakeCloseBehavior, type FakeConnectionTraits } from './fake-connection.js';
import { createConnectionRefusedError } from './fake-errors.js';
import { FakeUpstreamClient, type FakeClientScript } from './fake-upstream-client.js';
import { ManualCreationHandle, type ManualCreation } from './manual-creation.js';
import { rejected } from './rejected.js';

/**
 * How a {@link FakeSessionFactory} answers one `create` call:
 * - `'ok'`: resolves a new {@link FakeConnection} at once;
 * - `'fail'`: rejects with an `ECONNREFUSED`-shaped error (see {@link createConnectionRefusedError});
 * - `'hang'`: the upstream never answers, but the factory respects its signal: rejects with
 *   `request.signal.reason` when the registry aborts the creation (create timeout, eviction, `closeAll`), as a
 *   real factory does (the same meaning as `'hang'` for close, see `FakeCloseBehavior`);
 * - `'hang-ignoring-signal'`: never settles at all, not even on abort (a factory that ignores its signal);
 * - `{ delayMs, outcome? }`: settles after `delayMs` on the factory's clock with `outcome` (default
 *   `'ok'`); rejects early when the signal aborts;
 * - an `Error`: rejects with that error.
 *
 * Every behaviour except `'hang-ignoring-signal'` rejects at once when `request.signal` is already aborted.
 */
export type FakeCreateBehavior =
  | 'ok'
  | 'fail'
  | 'hang'
  | 'hang-ignoring-signal'
  | { delayMs: number; outcome?: 'ok' | 'fail' | Error }
  | Error;

/** The factory-wide script of a {@link FakeSessionFactory}. Change it at any time; it applies to later calls. */
export interface FakeFactoryScript<C = FakeUpstreamClient> {
  /** Behaviour of `create` calls that nothing queued with {@link FakeSessionFactory.nextCreate}. @default 'ok' */
  create: FakeCreateBehavior;
  /** Behaviour of `close` on connections without their own {@link FakeConnection.closeBehavior}. @default 'ok' */
  close: FakeCloseBehavior;
  /**
   * Initial script (copied) of each new {@link FakeUpstreamClient}: per-method `'ok'`, `'method-not-found'`,
   * `'timeout'`, `'broken'`, …. Change an existing connection's client through `conn.client.script`.
   * Ignored when the factory was given `createClient`.
   * @default {} (every method 'ok')
   */
  probes: FakeClientScript;
  /**
   * What each new connection says about itself: `era`, `protocolVersion`, `unproven` and its own `probe`
   * (see {@link FakeConnectionTraits}). Copied into each connection when it is made.
   * @default {} (era unknown, proven, no own probe: the registry runs its chain)
   */
  connection: FakeConnectionTraits<C>;
}

/** Options of {@link FakeSessionFactory}. */
export interface FakeSessionFactoryOptions<C> {
  /** Time source for `{ delayMs }` behaviours (pass the registry's `ManualClock`). @default systemClock */
  clock?: Clock;
  /**
   * Builds the client of each connection, for hosts with their own client type. When omitted the
   * factory builds a {@link FakeUpstreamClient} scripted by `script.probes`.
   */
  createClient?: (request: SessionCreateRequest) => C;
}

type QueuedCreate<C> = FakeCreateBehavior | ManualCreationHandle<C>;

/**
 * A scriptable {@link SessionFactory} for tests. It records every `create` call and every connection it
 * made, counts open connections, and lets a test script creation (ok / fail / hang / delay / by hand),
 * close (ok / fail / hang), each new client's probe answers and what each connection says about itself
 * (`era`, `unproven`, its own `probe`). Connections can act as stdio upstreams too: `conn.exit()` reports a
 * `process_exited` failure, and `nextCreate(createSpawnFailedError(...))` a failed spawn.
 *
 * Without `createClient`, connections carry a {@link FakeUpstreamClient}, and
 * `new UpstreamSessionRegistry({ sessionFactory: new FakeSessionFactory() })` is typed
 * `UpstreamSessionRegistry<FakeUpstreamClient>`, so `client.callTool(...)` typechecks in tests.
 * For another client type, pass `createClient`; `C` is inferred from it.
 *
 * @typeParam C - The client type of each connection.
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const factory = new FakeSessionFactory({ clock });
 * const registry = new UpstreamSessionRegistry({ sessionFactory: factory, clock, createTimeoutMs: 1_000 });
 * factory.nextCreate('hang');
 * const pending = registry.acquire(request);
 * await clock.advance(1_000);
 * await expect(pending).rejects.toBeInstanceOf(SessionCreateTimeoutError);
 * expect(factory.requests[0]!.signal.aborted).toBe(true);
 * expect(factory.open).toBe(0);
 * ```
 */
export class FakeSessionFactory<C = FakeUpstreamClient> implements SessionFactory<C> {
  /** Factory-wide behaviour; see {@link FakeFactoryScript}. */
  readonly script: FakeFactoryScript<C> = { create: 'ok', close: 'ok', probes: {}, connection: {} };
  /** Every `create` request, in call order (including failed and hung ones). */
  readonly requests: SessionCreateRequest[] = [];
  /** Every connection the factory delivered, in order. */
  readonly created: FakeConnection<C>[] = [];

  readonly #clock: Clock;
  readonly #createClient: ((request: SessionCreateRequest) => C) | undefined;
  readonly #queue: QueuedCreate<C>[] = [];

  /**
   * @param args - `options`: clock and client hook; see {@link FakeSessionFactoryOptions}. `createClient` is
   *   required when `C` is a client type that `FakeUpstreamClient` does not satisfy, so
   *   `new FakeSessionFactory<MyClient>()` does not compile.
   */
  constructor(
    ...args: FakeUpstreamClient extends C
      ? [options?: FakeSessionFactoryOptions<C>]
      : [options: FakeSessionFactoryOptions<C> & { createClient: (request: SessionCreateRequest) => C }]
  ) {
    const options: FakeSessionFactoryOptions<C> = args[0] ?? {};
    this.#clock = options.clock ?? systemClock;
    this.#createClient = options.createClient;
  }

  /** How many times `create` was called. */
  get createCalls(): number {
    return this.requests.length;
  }

  /** Connections delivered and not yet closed by the registry (a leak check: 0 after `closeAll()`). */
  get open(): number {
    let open = 0;
    for (const connection of this.created) if (!connection.closed) open += 1;
    return open;
  }

  /** Connections the registry closed more than once. Always empty unless the registry has a bug. */
  get doubleClosed(): FakeConnection<C>[] {
    return this.created.filter((connection) => connection.closeCalls > 1);
  }

  /** Behaviours queued by {@link FakeSessionFactory.nextCreate} and not used yet. */
  get queuedCreates(): number {
    return this.#queue.length;
  }

  /**
   * The connections made for one (downstream session, upstream) pair, oldest first.
   * @param key - The session key.
   * @example
   * ```ts
   * expect(factory.connectionsFor({ downstreamSessionId: 'A', upstreamId: 'counter' })).toHaveLength(1);
   * ```
   */
  connectionsFor(key: SessionKey): FakeConnection<C>[] {
    return this.created.filter(
      (connection) =>
        connection.request.downstreamSessionId === key.downstreamSessionId && connection.request.upstreamId === key.upstreamId,
    );
  }

  /**
   * Queues the behaviour of the next `create` call (calls queue up: the Nth queued entry answers the Nth
   * next call; later calls fall back to `script.create`). `'manual'` returns a handle to settle the creation
   * by hand; it ignores `request.signal`, so a connection can arrive after the registry gave up.
   *
   * @param behavior - See {@link FakeCreateBehavior}, or `'manual'`.
   * @param error - For `'fail'`: the error to reject with.
   * @returns The factory (for chaining), or the {@link ManualCreation} handle for `'manual'`.
   * @example
   * ```ts
   * factory.nextCreate('fail').nextCreate({ delayMs: 500 });
   * const late = factory.nextCreate('manual');
   * ```
   */
  nextCreate(behavior: 'manual'): ManualCreation<C>;
  nextCreate(behavior: 'fail', error?: Error): this;
  nextCreate(behavior: FakeCreateBehavior): this;
  nextCreate(behavior: FakeCreateBehavior | 'manual', error?: Error): this | ManualCreation<C> {
    if (behavior === 'manual') {
      const handle = new ManualCreationHandle<C>();
      this.#queue.push(handle);
      return handle;
    }
    this.#queue.push(behavior === 'fail' && error !== undefined ? error : behavior);
    return this;
  }

  /**
   * {@link SessionFactory.create}: records the request, then answers as queued or scripted.
   * @param request - The frozen create request.
   * @param events - Callbacks the connection reports through.
   * @throws As scripted: see {@link FakeCreateBehavior}.
   */
  create(request: SessionCreateRequest, events: ConnectionEvents): Promise<FakeConnection<C>> {
    this.requests.push(request);
    const queued = this.#queue.shift();
    const connect = (): FakeConnection<C> => this.#connect(request, events);
    if (queued instanceof ManualCreationHandle) return queued.attach(request, connect);
    const behavior = queued ?? this.script.create;
    if (behavior === 'hang-ignoring-signal') return new Promise<FakeConnection<C>>(() => undefined);
    const { signal } = request;
    if (signal.aborted) return rejected(signal.reason);
    if (behavior instanceof Error) return Promise.reject(behavior);
    switch (behavior) {
      case 'ok':
        return Promise.resolve().then(connect);
      case 'fail':
        return Promise.reject(createConnectionRefusedError(request.upstreamId));
      case 'hang':
        return this.#wait(signal, undefined, connect);
      default:
        return this.#wait(signal, behavior.delayMs, () => {
          const outcome = behavior.outcome ?? 'ok';
          if (outcome === 'ok') return connect();
          throw outcome === 'fail' ? createConnectionRefusedError(request.upstreamId) : outcome;
        });
    }
  }

  #connect(request: SessionCreateRequest, events: ConnectionEvents): FakeConnection<C> {
    const client =
      this.#createClient !== undefined
        ? this.#createClient(request)
        : (new FakeUpstreamClient({ script: { ...this.script.probes }, clock: this.#clock }) as unknown as C);
    const connection = new FakeConnection<C>({
      id: this.created.length + 1,
      request,
      client,
      events,
      defaultClose: () => this.script.close,
      traits: { ...this.script.connection },
    });
    this.created.push(connection);
    return connection;
  }

  /** Settles with `then()` after `delayMs` (never, if undefined), or rejects when `signal` aborts. */
  #wait(signal: AbortSignal, delayMs: number | undefined, then: () => FakeConnection<C>): Promise<FakeConnection<C>> {
    return new Promise<FakeConnection<C>>((resolve) => {
      const timer =
        delayMs === undefined
          ? undefined
          : this.#clock.setTimeout(() => {
              signal.removeEventListener('abort', onAbort);
              try {
                resolve(then());
              } catch (error) {
                resolve(rejected(error));
              }
            }, delayMs);
      const onAbort = (): void => {
        if (timer !== undefined) this.#clock.clearTimeout(timer);
        resolve(rejected(signal.reason));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

}
