import {
  SdkHttpError,
  SseError,
  StreamableHTTPClientTransport,
  type Client,
  type ConnectOptions,
  type SSEClientTransport,
} from '@modelcontextprotocol/client';
import { type Clock } from '../../clock.js';
import {
  type ConnectionEvents,
  type ConnectionProbeOptions,
  type UpstreamConnection,
  type UpstreamNotification,
} from '../../factory.js';
import { type ProbeResult, type ProtocolEra } from '../../types.js';
import { raceSignal } from '../abort.js';
import { closeSession } from '../close-session.js';
import { type CloseQueue } from '../close-queue.js';
import { type SessionFetch } from '../session-fetch.js';
import { probeLegacy, probeModern } from './probe.js';

type State = 'connecting' | 'open' | 'lost' | 'closing' | 'closed';

/**
 * How long an abandoned connect (its creation was given up: timeout, eviction, `closeAll`) may still run, by
 * the factory's clock, so a legacy session it opened is terminated rather than leaked and a shared era probe
 * can still finish for the creations waiting on it. Then the client is closed.
 */
export const ABANDON_GRACE_MS = 5_000;

/** The list_changed notifications forwarded from a legacy session's own event stream. */
const LIST_CHANGED = ['notifications/tools/list_changed', 'notifications/prompts/list_changed', 'notifications/resources/list_changed'] as const;

/** JSON-RPC errors that say a cached era verdict no longer matches the server. */
const UNSUPPORTED_PROTOCOL_VERSION = -32022;
const HEADER_MISMATCH = -32020;
/** What legacy SDK servers answer a session-less (modern) request with: "Server not initialized", "No valid session ID". */
const LEGACY_SESSION_ERROR = -32000;

/** What a connection needs besides its client and transport. */
export interface SdkV2ConnectionParts {
  readonly client: Client;
  readonly transport: StreamableHTTPClientTransport | SSEClientTransport;
  readonly sessionFetch: SessionFetch;
  readonly events: ConnectionEvents;
  readonly clock: Clock;
  readonly closeQueue: CloseQueue;
  /** Made from a cached verdict with zero round trips. */
  readonly unproven: boolean;
  /** The cached verdict this connection's era came from no longer matches the server: delete it. */
  readonly onStaleVerdict: () => void;
}

/** The JSON-RPC error code of a response message or body, if it is one. */
function errorCode(message: unknown): number | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const error = (message as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** The upstream already forgot the session: terminating it is moot. */
function isGone(error: unknown): boolean {
  return SdkHttpError.isInstance(error) && error.status === 404;
}

/**
 * One SDK v2 `Client` over one HTTP transport, in whichever era it connected, glued to the registry's
 * {@link ConnectionEvents}.
 *
 * - `onclose` of the client (chained) → `events.closed`, unless the close was ours. On legacy SSE a stream
 *   error after connect is fatal (the upstream dropped the session with the stream).
 * - Notifications of the session's own streams go to `events.notification` (the shared modern listen stream
 *   is the factory's, see `ListenHub`).
 * - It watches the transport's messages and HTTP error bodies for -32022 / -32020 and reports the era verdict
 *   as stale; a modern connection answered the way legacy SDK servers answer a session-less request is also
 *   reported closed (it can never work).
 * - `close`: legacy streamable HTTP ends the event stream, then terminates the session (DELETE, through the
 *   factory's close queue; 404 counts as done), then closes the client. Modern: closes the client, which
 *   aborts in-flight requests. When the grace `signal` fires, the client is closed at once.
 */
export class SdkV2Connection implements UpstreamConnection<Client> {
  readonly client: Client;
  readonly unproven: boolean;
  /** The era the connection negotiated (set once connected). */
  era?: ProtocolEra;
  /** The protocol version the connection negotiated (set once connected). */
  protocolVersion?: string;
  private state: State = 'connecting';
  private closing: Promise<void> | undefined;
  private staleReported = false;
  private readonly detachers: (() => void)[] = [];

  constructor(private readonly parts: SdkV2ConnectionParts) {
    this.client = parts.client;
    this.unproven = parts.unproven;
    const { client } = parts;
    const previousClose = client.onclose;
    client.onclose = () => {
      previousClose?.();
      this.lost(new Error('The upstream transport closed'));
    };
    const previousError = client.onerror;
    client.onerror = (error: Error) => {
      previousError?.(error);
      if (this.state === 'open' && SseError.isInstance(error)) {
        this.lost(error);
        void client.close().catch(() => undefined);
      }
    };
    const forward = (notification: { method: string; params?: unknown }): Promise<void> => {
      if (this.state === 'open' || this.state === 'connecting') {
        const { method, params } = notification;
        const forwarded: UpstreamNotification = params === undefined ? { method } : { method, params };
        parts.events.notification(forwarded);
      }
      return Promise.resolve();
    };
    client.fallbackNotificationHandler = forward;
    for (const method of LIST_CHANGED) client.setNotificationHandler(method, forward);
  }

  /** Runs `detach` when the connection closes (the factory's listen-hub membership, for one). */
  onClose(detach: () => void): void {
    if (this.state === 'closing' || this.state === 'closed') detach();
    else this.detachers.push(detach);
  }

  /**
   * Connects. If `signal` aborts first, rejects with `signal.reason` at once; the connect itself gets up to
   * {@link ABANDON_GRACE_MS} to land in the background (then a legacy session it opened is terminated), so a
   * probe other creations wait on is not cut short by one caller giving up.
   *
   * @param connecting - Receives the connect promise itself (the factory's shared probe follows it).
   */
  async connect(options: ConnectOptions | undefined, signal: AbortSignal, connecting?: (attempt: Promise<void>) => void): Promise<void> {
    const attempt = this.client.connect(this.parts.transport, options);
    attempt.catch(() => undefined);
    connecting?.(attempt);
    try {
      await raceSignal(attempt, signal);
      this.state = 'open';
      const era = this.client.getProtocolEra();
      const version = this.client.getNegotiatedProtocolVersion();
      if (era !== undefined) this.era = era;
      if (version !== undefined) this.protocolVersion = version;
      this.watchMessages();
    } catch (error) {
      this.state = 'closed';
      if (signal.aborted) {
        void this.abandon(attempt);
        throw signal.reason;
      }
      await this.client.close().catch(() => undefined);
      throw error;
    }
  }

  /** The health probe (SPEC §8): `server/discover` on modern, the registry's chain as raw requests on legacy. */
  probe(options: ConnectionProbeOptions): Promise<ProbeResult> {
    return this.era === 'modern' ? probeModern(this.client, options, this.parts.clock) : probeLegacy(this.client, options, this.parts.clock);
  }

  close(signal: AbortSignal): Promise<void> {
    this.closing ??= this.shutdown(signal);
    return this.closing;
  }

  /** Called by the factory's fetch wrapper with the parsed body of an HTTP 4xx JSON answer. */
  inspectErrorBody(status: number, body: unknown): void {
    const code = errorCode(body);
    if (code === UNSUPPORTED_PROTOCOL_VERSION || code === HEADER_MISMATCH) {
      this.staleVerdict();
    } else if (code === LEGACY_SESSION_ERROR && (status === 400 || status === 404) && this.era === 'modern' && this.state === 'open') {
      // A modern connection answered like a legacy server answers a request without a session: the upstream
      // is legacy now. Nothing sent on this connection can work; the next creation re-probes.
      this.staleVerdict();
      this.lost(new Error(`The upstream answered a modern-era request with HTTP ${status} as a legacy server does`));
    }
  }

  private staleVerdict(): void {
    if (this.staleReported) return;
    this.staleReported = true;
    this.parts.onStaleVerdict();
  }

  /** Watches in-band JSON-RPC errors (chained after the SDK's own `onmessage`). */
  private watchMessages(): void {
    const transport = this.parts.transport as { onmessage?: (message: unknown, ...rest: unknown[]) => void };
    const previous = transport.onmessage;
    if (previous === undefined) return;
    transport.onmessage = (message: unknown, ...rest: unknown[]) => {
      const code = errorCode(message);
      if (code === UNSUPPORTED_PROTOCOL_VERSION || code === HEADER_MISMATCH) this.staleVerdict();
      previous.call(transport, message, ...rest);
    };
  }

  private async shutdown(signal: AbortSignal): Promise<void> {
    const wasOpen = this.state === 'open';
    this.state = 'closing';
    for (const detach of this.detachers.splice(0)) detach();
    const transport = this.parts.transport;
    const terminable = wasOpen && this.era === 'legacy' && transport instanceof StreamableHTTPClientTransport && transport.sessionId !== undefined;
    if (terminable) this.parts.sessionFetch.stopEventStream();
    try {
      await closeSession({
        queue: this.parts.closeQueue,
        grace: signal,
        terminate: terminable ? (started) => raceSignal(transport.terminateSession(), started) : undefined,
        isGone,
        closeClient: () => this.client.close(),
      });
    } finally {
      this.state = 'closed';
    }
  }

  /** Reports the transport as gone, once, and only for a connection the registry holds. */
  private lost(reason: unknown): void {
    if (this.state !== 'open') return;
    this.state = 'lost';
    this.parts.events.closed(reason);
  }

  /** Lets an abandoned connect land (bounded), terminates a legacy session it opened, closes the client. */
  private async abandon(attempt: Promise<void>): Promise<void> {
    let timer: unknown;
    const grace = new Promise<void>((resolve) => {
      timer = this.parts.clock.setTimeout(resolve, ABANDON_GRACE_MS);
    });
    const landed = await Promise.race([attempt.then(() => true, () => false), grace.then(() => false)]);
    this.parts.clock.clearTimeout(timer);
    const transport = this.parts.transport;
    if (landed && transport instanceof StreamableHTTPClientTransport && transport.sessionId !== undefined) {
      const controller = new AbortController();
      const deadline = this.parts.clock.setTimeout(() => controller.abort(new Error('abandoned')), ABANDON_GRACE_MS);
      await raceSignal(transport.terminateSession(), controller.signal).catch(() => undefined);
      this.parts.clock.clearTimeout(deadline);
    }
    await this.client.close().catch(() => undefined);
  }
}
