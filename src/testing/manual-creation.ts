import { type SessionCreateRequest } from '../factory.js';
import { type FakeConnection } from './fake-connection.js';
import { createConnectionRefusedError } from './fake-errors.js';
import { rejected } from './rejected.js';

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
 * The {@link ManualCreation} a `FakeSessionFactory` hands out: attached to the `create` call that reaches it,
 * settled by the test.
 *
 * @typeParam C - The client type of the connection it delivers.
 */
export class ManualCreationHandle<C> implements ManualCreation<C> {
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

