/**
 * An {@link UpstreamConnection} over a {@link StdioTransport}, for any MCP client (SDK v1 or v2): the
 * client is connected by a callback and closed by another, so this file imports no SDK.
 *
 * @packageDocumentation
 */

import { type ConnectionEvents, type UpstreamConnection, type UpstreamNotification } from '../../factory.js';
import { type ProtocolEra } from '../../types.js';
import { raceSignal } from '../abort.js';
import { StdioProcessError } from './failure.js';
import { type StdioTransport } from './transport.js';

type State = 'connecting' | 'open' | 'lost' | 'closing' | 'closed';

/** Notifications the SDKs consume themselves (request-scoped): never forwarded to `events.notification`. */
const SDK_OWNED_NOTIFICATIONS: ReadonlySet<string> = new Set(['notifications/progress', 'notifications/cancelled']);

/** How {@link StdioConnection} drives its client. */
export interface StdioClientDriver {
  /** Connects the client to the transport (runs `initialize`, or nothing with a cached modern verdict). */
  connect(transport: StdioTransport): Promise<void>;
  /** Closes the client (which calls `transport.close()`). */
  close(): Promise<void>;
  /**
   * Forward every server notification (but progress and cancellation) to `events.notification` from the
   * transport. Turn off when the adapter forwards notifications itself.
   * @default true
   */
  readonly forwardNotifications?: boolean;
  /** The era the client connected in (read once connected); SDK v1: always `'legacy'`. */
  era?(): ProtocolEra | undefined;
}

/**
 * One stdio upstream session: one client over one child process.
 *
 * - The process exiting while the connection is open → `events.closed(error)`, with a `process_exited`
 *   `StdioProcessError` (exit code or signal, scrubbed stderr tail); the group is reaped at once.
 * - `connect(signal)`: a spawn failure rejects with the `spawn_failed` error; the process dying during
 *   `initialize` rejects with `process_exited` (stderr tail included) instead of the SDK's bare
 *   "Connection closed"; an abort of `signal` rejects with `signal.reason` and kills the process at once.
 * - `close(signal)`: closes the client and tears the process down within `signal` (SPEC §9), once.
 *
 * @example
 * ```ts
 * import { createStdioTransport, type StdioSpawnRequest, type StdioTransport } from './index.js';
 * declare const spawnRequest: StdioSpawnRequest;
 * declare const events: ConnectionEvents;
 * declare const sdkClient: { connect(transport: StdioTransport): Promise<void>; close(): Promise<void> };
 * const transport = createStdioTransport(spawnRequest);
 * const connection = new StdioConnection(sdkClient, transport, events, {
 *   connect: (t) => sdkClient.connect(t),
 *   close: () => sdkClient.close(),
 * });
 * await connection.connect(spawnRequest.signal);
 * ```
 */
export class StdioConnection<C> implements UpstreamConnection<C> {
  /** The protocol era, once connected (when the driver knows it). */
  declare era?: ProtocolEra;
  /** The negotiated protocol version, once connected. */
  declare protocolVersion?: string;
  private state: State = 'connecting';
  private closing: Promise<void> | undefined;

  /**
   * @param client - Handed out by the registry.
   * @param transport - The process; not started yet.
   * @param events - The registry's callbacks for this connection.
   * @param driver - How to connect and close `client`.
   */
  constructor(
    readonly client: C,
    private readonly transport: StdioTransport,
    private readonly events: ConnectionEvents,
    private readonly driver: StdioClientDriver,
  ) {
    if (driver.forwardNotifications !== false) transport.tap = (message) => this.forward(message);
    void transport.ended.then(() => this.lost());
  }

  /** The process's pid once spawned (`null` before, or when the spawn failed). */
  get pid(): number | null {
    return this.transport.pid;
  }

  /**
   * Spawns the process and connects the client.
   *
   * @param signal - The creation's signal (`request.signal`).
   * @throws `signal.reason` when aborted; a `spawn_failed` / `process_exited` `StdioProcessError`; or the
   *   client's own error (the process is then killed).
   */
  async connect(signal: AbortSignal): Promise<void> {
    try {
      signal.throwIfAborted();
      await raceSignal(this.driver.connect(this.transport), signal);
      if (this.transport.exitStatus !== undefined) throw new Error('The stdio server exited during initialize');
      const era = this.driver.era?.();
      if (era !== undefined) this.era = era;
      if (this.transport.protocolVersion !== undefined) this.protocolVersion = this.transport.protocolVersion;
      this.state = 'open';
    } catch (error) {
      this.state = 'closed';
      // Read before the teardown below kills it: did the process end by itself?
      const exitedByItself = this.transport.exitStatus !== undefined;
      const teardown = this.transport.terminate(AbortSignal.abort());
      if (signal.aborted) {
        void teardown;
        throw signal.reason;
      }
      await teardown;
      if (error instanceof StdioProcessError) throw error;
      // Say how the process ended, with its stderr tail, rather than the SDK's bare "Connection closed".
      if (exitedByItself) throw this.transport.describeFailure('during initialize');
      throw error;
    }
  }

  /**
   * Closes the client and tears the process group down within `signal` (SPEC §9). Called once by the
   * registry; later calls return the same promise. Never rejects for a slow or stubborn process.
   */
  close(signal: AbortSignal): Promise<void> {
    this.closing ??= this.shutdown(signal);
    return this.closing;
  }

  private async shutdown(signal: AbortSignal): Promise<void> {
    this.state = 'closing';
    const teardown = this.transport.terminate(signal);
    try {
      await raceSignal(this.driver.close(), signal).catch(() => undefined);
      await teardown;
    } finally {
      this.state = 'closed';
    }
  }

  /** The process ended by itself while the registry held the connection. */
  private lost(): void {
    if (this.state !== 'open') return;
    this.state = 'lost';
    this.events.closed(this.transport.describeFailure());
  }

  private forward(message: object): void {
    if (this.state !== 'open' && this.state !== 'connecting') return;
    const { method, params, id } = message as { method?: unknown; params?: unknown; id?: unknown };
    if (typeof method !== 'string' || id !== undefined || SDK_OWNED_NOTIFICATIONS.has(method)) return;
    const notification: UpstreamNotification = params === undefined ? { method } : { method, params };
    this.events.notification(notification);
  }
}
