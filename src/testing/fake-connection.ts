/**
 * {@link FakeConnection}: one scripted upstream connection made by `FakeSessionFactory`.
 *
 * @packageDocumentation
 */

import {
  type ConnectionEvents,
  type ConnectionProbeOptions,
  type SessionCreateRequest,
  type UpstreamConnection,
  type UpstreamNotification,
} from '../factory.js';
import { type ProbeResult, type ProtocolEra } from '../types.js';
import { createProcessExitedError } from './fake-errors.js';
import { FakeUpstreamClient } from './fake-upstream-client.js';

/**
 * How {@link FakeConnection.close} behaves — `'hang'` means what it means for `create` (see
 * `FakeCreateBehavior`):
 * - `'ok'`: resolves;
 * - `'fail'`: rejects with `Error('Fake upstream connection failed to close')`;
 * - `'hang'`: the upstream never answers, but the connection respects its signal: it rejects with
 *   `signal.reason` when the close signal fires (the grace window ended), as a real factory's aborted DELETE does;
 * - `'hang-ignoring-signal'`: never settles at all, not even when the signal fires (a wedged factory that
 *   ignores its signal: the registry abandons it with `close:timeout`);
 * - `'hang-until-signal'`: resolves when the close signal fires (a graceful close cut short, but clean);
 * - an `Error`: rejects with that error.
 */
export type FakeCloseBehavior = 'ok' | 'fail' | 'hang' | 'hang-ignoring-signal' | 'hang-until-signal' | Error;

/**
 * A connection's own health probe (the registry calls it instead of `runProbeChain`, as it does for the SDK v2
 * factory's connections): a fixed result, or a function of the options and the connection.
 */
export type FakeProbe<C> =
  | ProbeResult
  | ((options: ConnectionProbeOptions, connection: FakeConnection<C>) => Promise<ProbeResult> | ProbeResult);

/**
 * What a connection says about itself (PREAMBLE contract 2 / SPEC §4.2): protocol era and version, whether it
 * was made with zero round trips, and its own probe. Set factory-wide with `factory.script.connection`.
 */
export interface FakeConnectionTraits<C = FakeUpstreamClient> {
  /** `UpstreamConnection.era`. @default undefined (unknown) */
  era?: ProtocolEra | undefined;
  /** `UpstreamConnection.protocolVersion`. @default undefined */
  protocolVersion?: string | undefined;
  /**
   * `UpstreamConnection.unproven`: made without any round trip (a cached modern verdict), so a transport
   * error on its first call counts as a creation failure. @default undefined
   */
  unproven?: boolean | undefined;
  /** `UpstreamConnection.probe`; without it the registry runs its chain over the client. @default undefined */
  probe?: FakeProbe<C> | undefined;
}

/** Internal wiring a {@link FakeConnection} gets from its factory. */
interface ConnectionInit<C> {
  id: number;
  request: SessionCreateRequest;
  client: C;
  events: ConnectionEvents;
  defaultClose: () => FakeCloseBehavior;
  traits: FakeConnectionTraits<C>;
}

/**
 * One connection made by a `FakeSessionFactory`: what the registry got, plus switches to simulate what the
 * upstream does to it and counters to check what the registry did with it.
 *
 * - What the registry got: `request` (the frozen `SessionCreateRequest`), `client`, `events`.
 * - What the upstream does: `dropTransport(reason?)` (the transport ended by itself), `exit(reason?)` (a stdio
 *   upstream's process exited), `notify(method, params?)`, `closeBehavior` (how `close` answers).
 * - What the connection says about itself (from `factory.script.connection`): `era`, `protocolVersion`,
 *   `unproven` and its own `probe` (each call recorded in `probeCalls`).
 * - What the registry did: `closeCalls`, `closed`, `closeSettled`, `closeSignal`, `dropped`.
 *
 * Tests do not construct connections; the factory does.
 *
 * @typeParam C - The client type (a `FakeUpstreamClient` unless the factory was given `createClient`).
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
  /** The protocol era this connection reports (from `factory.script.connection`). */
  readonly era?: ProtocolEra;
  /** The protocol version this connection reports. */
  readonly protocolVersion?: string;
  /** True when this connection reports it was made with zero round trips. */
  readonly unproven?: boolean;
  /**
   * The connection's own probe, present only when scripted (`factory.script.connection.probe`); the registry
   * then calls it instead of `runProbeChain`. Each call is recorded in {@link FakeConnection.probeCalls}.
   */
  readonly probe?: (options: ConnectionProbeOptions) => Promise<ProbeResult>;
  /** The options of every call of {@link FakeConnection.probe}, in order. */
  readonly probeCalls: ConnectionProbeOptions[] = [];

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
    const { era, protocolVersion, unproven, probe } = init.traits;
    if (era !== undefined) this.era = era;
    if (protocolVersion !== undefined) this.protocolVersion = protocolVersion;
    if (unproven !== undefined) this.unproven = unproven;
    if (probe !== undefined) {
      this.probe = async (options) => {
        this.probeCalls.push(options);
        return typeof probe === 'function' ? probe(options, this) : probe;
      };
    }
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
   * Simulates a stdio upstream's process exiting by itself (a crash, an OOM kill): like
   * {@link FakeConnection.dropTransport}, with a `process_exited` error as the stdio spawner reports it.
   * @param reason - What `events.closed` gets. @default `createProcessExitedError(<command>, 1)`
   * @example
   * ```ts
   * factory.created[0]!.exit();                                          // exit code 1
   * factory.created[1]!.exit(createProcessExitedError('srv', null, 'SIGKILL'));
   * ```
   */
  exit(reason?: unknown): void {
    const command = this.request.transport === 'stdio' ? this.request.command.split(/[\\/]/).pop() ?? 'server' : 'server';
    this.dropTransport(reason ?? createProcessExitedError(command, 1));
  }

  /**
   * Simulates a server notification on this connection: calls `events.notification({ method, params })`.
   * @param method - e.g. `'notifications/tools/list_changed'`.
   * @param params - Optional notification params.
   * @example
   * ```ts
   * connection.notify('notifications/tools/list_changed');
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
        return new Promise<void>((_resolve, reject) => {
          if (signal.aborted) reject(signal.reason as unknown);
          else signal.addEventListener('abort', () => reject(signal.reason as unknown), { once: true });
        });
      case 'hang-ignoring-signal':
        return new Promise<void>(() => undefined);
      case 'hang-until-signal':
        return new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          else signal.addEventListener('abort', () => resolve(), { once: true });
        });
    }
  }
}

