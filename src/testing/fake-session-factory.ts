import { systemClock, type Clock } from '../clock.js';
import {
  type ConnectionEvents,
  type SessionCreateRequest,
  type SessionFactory,
  type UpstreamConnection,
  type UpstreamNotification,
} from '../factory.js';
import { type SessionKey } from '../request.js';
import { FakeUpstreamClient, type FakeClientScript } from './fake-upstream-client.js';

/**
 * How a {@link FakeSessionFactory} answers one `create` call:
 * - `'ok'`: resolves a new {@link FakeConnection} at once;
 * - `'fail'`: rejects with an `ECONNREFUSED`-shaped error (see {@link createConnectionRefusedError});
 * - `'hang'`: never resolves, but rejects with `request.signal.reason` when the registry aborts the
 *   creation (create timeout, eviction, `closeAll`), as a real factory does;
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

/**
 * How {@link FakeConnection.close} behaves:
 * - `'ok'`: resolves;
 * - `'fail'`: rejects with `Error('Fake upstream connection failed to close')`;
 * - `'hang'`: never settles, even when the close signal fires (a wedged upstream);
 * - `'hang-until-signal'`: resolves when the close signal fires (the grace window ended);
 * - an `Error`: rejects with that error.
 */
export type FakeCloseBehavior = 'ok' | 'fail' | 'hang' | 'hang-until-signal' | Error;

/** The factory-wide script of a {@link FakeSessionFactory}. Change it at any time; it applies to later calls. */
export interface FakeFactoryScript {
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

/**
 * A creation held open by `nextCreate('manual')` until the test settles it. It ignores `request.signal`,
 * so a test can deliver a connection after the registry gave up and check that it is closed.
 */
export interface ManualCreation<C> {
  /** True once the factory's `create` was called for this creation. */
  readonly started: boolean;
  /** True once {@link ManualCreation.resolve} or {@link ManualCreation.reject} was called. */
  readonly settled: boolean;
  /** The request `create` received, once started. */
  readonly request: SessionCreateRequest | undefined;
  /**
   * Delivers a new connection to the waiting `create` call.
   * @returns The connection (already recorded in `factory.created`).
   * @throws Error when `create` has not been called yet or the creation was already settled.
   */
  resolve(): FakeConnection<C>;
  /**
   * Fails the waiting `create` call.
   * @param error - The rejection. @default an `ECONNREFUSED`-shaped error
   * @throws Error when `create` has not been called yet or the creation was already settled.
   */
  reject(error?: unknown): void;
}

/**
 * The error `'fail'` creations reject with: shaped like Node's `connect ECONNREFUSED` system error
 * (`code: 'ECONNREFUSED'`, `syscall: 'connect'`), so error classification sees a refused connection.
 *
 * @param upstreamId - Named in the message.
 * @example
 * ```ts
 * factory.nextCreate('fail', createConnectionRefusedError('search'));
 * ```
 */
export function createConnectionRefusedError(upstreamId = 'upstream'): Error & { code: string; syscall: string } {
  return Object.assign(new Error(`connect ECONNREFUSED (fake upstream "${upstreamId}")`), {
    code: 'ECONNREFUSED',
    syscall: 'connect',
  });
}

/** A promise rejected with `reason`, whatever its type (an abort `reason` need not be an `Error`). */
function rejected(reason: unknown): Promise<never> {
  return new Promise<never>(() => {
    throw reason;
  });
}

/** Internal wiring a {@link FakeConnection} gets from its factory. */
interface ConnectionInit<C> {
  id: number;
  request: SessionCreateRequest;
  client: C;
  events: ConnectionEvents;
  defaultClose: () => FakeCloseBehavior;
}

/**
 * One connection made by a {@link FakeSessionFactory}: what the registry got, plus switches to simulate what
 * the upstream does to it and counters to check what the registry did with it.
 *
 * @example
 * ```ts
 * const conn = factory.created[0]!;
 * conn.dropTransport();                   // the upstream went away
 * await registry.withSession(request, (client) => client.ping());
 * expect(conn.closeCalls).toBe(1);        // the registry closed what was left of it
 * expect(factory.created).toHaveLength(2);
 * ```
 */
export class FakeConnection<C = FakeUpstreamClient> implements UpstreamConnection<C> {
  /** 1-based creation order within its factory. */
  readonly id: number;
  /** The request the factory received (frozen by the registry). */
  readonly request: SessionCreateRequest;
  /** The client handed to the registry. */
  readonly client: C;
  /** The callbacks the registry passed to `create`. */
  readonly events: ConnectionEvents;
  /** Overrides `factory.script.close` for this connection when set. */
  closeBehavior: FakeCloseBehavior | undefined;

  #closeCalls = 0;
  #closeSignal: AbortSignal | undefined;
  #closeSettled = false;
  #dropped = false;
  readonly #defaultClose: () => FakeCloseBehavior;

  /** @internal Built by {@link FakeSessionFactory}; tests do not construct connections. */
  constructor(init: ConnectionInit<C>) {
    this.id = init.id;
    this.request = init.request;
    this.client = init.client;
    this.events = init.events;
    this.#defaultClose = init.defaultClose;
  }

  /** How many times the registry called `close` (more than 1 is a registry bug). */
  get closeCalls(): number {
    return this.#closeCalls;
  }

  /** True once the registry called `close` (whether or not that close has settled). */
  get closed(): boolean {
    return this.#closeCalls > 0;
  }

  /** True once the first `close` call settled (resolved or rejected). Stays false for a hung close. */
  get closeSettled(): boolean {
    return this.#closeSettled;
  }

  /** The signal passed to the first `close` call; it fires when the registry's grace window ends. */
  get closeSignal(): AbortSignal | undefined {
    return this.#closeSignal;
  }

  /** True once {@link FakeConnection.dropTransport} was called. */
  get dropped(): boolean {
    return this.#dropped;
  }

  /**
   * The registry's graceful close. Marks a {@link FakeUpstreamClient} closed, then behaves as
   * `closeBehavior ?? factory.script.close` says.
   * @param signal - Fires when the grace window ends.
   * @throws The scripted close error for `'fail'` or an `Error` behaviour.
   */
  close(signal: AbortSignal): Promise<void> {
    this.#closeCalls += 1;
    const first = this.#closeCalls === 1;
    if (first) this.#closeSignal = signal;
    if (this.client instanceof FakeUpstreamClient) void this.client.close();
    const settled = this.#settle(signal, this.closeBehavior ?? this.#defaultClose());
    if (!first) return settled;
    return settled.finally(() => {
      this.#closeSettled = true;
    });
  }

  /**
   * Simulates the transport ending by itself: marks a {@link FakeUpstreamClient} broken (its requests
   * reject with a ConnectionClosed-shaped error) and calls `events.closed(reason)`, as a real factory
   * does when the peer goes away.
   * @param reason - Passed to `events.closed`.
   * @example
   * ```ts
   * factory.created[0]!.dropTransport(new Error('socket hang up'));
   * ```
   */
  dropTransport(reason?: unknown): void {
    this.#dropped = true;
    if (this.client instanceof FakeUpstreamClient) this.client.drop();
    this.events.closed(reason);
  }

  /**
   * Simulates a server notification on this connection: calls `events.notification({ method, params })`.
   * @param method - e.g. `'notifications/tools/list_changed'`.
   * @param params - Optional notification params.
   * @example
   * ```ts
   * conn.notify('notifications/tools/list_changed');
   * ```
   */
  notify(method: string, params?: unknown): void {
    const notification: UpstreamNotification = params === undefined ? { method } : { method, params };
    this.events.notification(notification);
  }

  #settle(signal: AbortSignal, behavior: FakeCloseBehavior): Promise<void> {
    if (behavior instanceof Error) return Promise.reject(behavior);
    switch (behavior) {
      case 'ok':
        return Promise.resolve();
      case 'fail':
        return Promise.reject(new Error('Fake upstream connection failed to close'));
      case 'hang':
        return new Promise<void>(() => undefined);
      case 'hang-until-signal':
        return new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          else signal.addEventListener('abort', () => resolve(), { once: true });
        });
    }
  }
}

/** A queued creation that the test settles by hand. */
class ManualCreationHandle<C> implements ManualCreation<C> {
  #request: SessionCreateRequest | undefined;
  #settled = false;
  #deliver: (() => FakeConnection<C>) | undefined;
  #fail: ((error: unknown) => void) | undefined;

  get started(): boolean {
    return this.#request !== undefined;
  }

  get settled(): boolean {
    return this.#settled;
  }

  get request(): SessionCreateRequest | undefined {
    return this.#request;
  }

  /** Called by the factory when `create` reaches this handle. */
  attach(request: SessionCreateRequest, connect: () => FakeConnection<C>): Promise<FakeConnection<C>> {
    this.#request = request;
    return new Promise<FakeConnection<C>>((resolve) => {
      this.#deliver = () => {
        const connection = connect();
        resolve(connection);
        return connection;
      };
      this.#fail = (error) => resolve(rejected(error));
    });
  }

  resolve(): FakeConnection<C> {
    const deliver = this.#ready('resolve', this.#deliver);
    this.#settled = true;
    return deliver();
  }

  reject(error?: unknown): void {
    const fail = this.#ready('reject', this.#fail);
    this.#settled = true;
    fail(error ?? createConnectionRefusedError(this.#request?.upstreamId));
  }

  #ready<F>(action: string, fn: F | undefined): F {
    if (this.#settled) throw new Error(`Cannot ${action} a manual creation twice`);
    if (fn === undefined) throw new Error(`Cannot ${action} a manual creation before the factory's create() was called`);
    return fn;
  }
}

type QueuedCreate<C> = FakeCreateBehavior | ManualCreationHandle<C>;

/**
 * A scriptable {@link SessionFactory} for tests. It records every `create` call and every connection it
 * made, counts open connections, and lets a test script creation (ok / fail / hang / delay / by hand),
 * close (ok / fail / hang) and each new client's probe answers.
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
  readonly script: FakeFactoryScript = { create: 'ok', close: 'ok', probes: {} };
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
