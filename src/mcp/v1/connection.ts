import { type Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SseError, type SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
  type StreamableHTTPClientTransportOptions,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { type Clock } from '../../clock.js';
import { type ConnectionEvents, type UpstreamConnection, type UpstreamNotification } from '../../factory.js';
import { raceSignal } from '../abort.js';
import { closeSession } from '../close-session.js';
import { type CloseQueue } from '../close-queue.js';
import { type SessionFetch } from '../session-fetch.js';
import { type FetchTracker } from './fetch-tracker.js';

type State = 'connecting' | 'open' | 'lost' | 'closing' | 'closed';

/**
 * Bound on each background step of cleaning up an abandoned creation: waiting for an in-flight `initialize`
 * to land, then the best-effort DELETE of the session it opened. Timers run on the factory's `clock`; nothing
 * waits on this cleanup.
 */
const ABANDON_GRACE_MS = 5_000;

/** How {@link McpConnection} rebuilds a Streamable HTTP transport to terminate an abandoned session. */
export type StreamableTransportOptions = Pick<StreamableHTTPClientTransportOptions, 'fetch' | 'requestInit'>;

/** The HTTP plumbing of one connection, built by the factory. */
export interface ConnectionHttp {
  /** The session's fetch (event stream control). */
  readonly sessionFetch: SessionFetch;
  /** Tracks POSTs and the assigned session id while connecting. */
  readonly tracker: FetchTracker;
  /** The factory's bounded queue for DELETEs. */
  readonly closeQueue: CloseQueue;
  /** Options for a throwaway transport that terminates an abandoned session (no event stream). */
  readonly detached: () => StreamableTransportOptions;
  /** Timers of the abandoned-creation cleanup (the factory's `clock`). */
  readonly clock: Clock;
}

/**
 * One SDK `Client` over one transport, glued to the registry's {@link ConnectionEvents}.
 *
 * - `onclose` of the client (the SDK chains it after the transport's own) → `events.closed`, unless the
 *   close was ours. A handler already set on the client is kept and called first.
 * - `onerror` is not fatal on Streamable HTTP: the SDK reports per-request failures there (a 404 for a
 *   forgotten session, `fetch failed`, a broken standalone GET stream) and the failing call rejects, so the
 *   registry decides through `lease.release(error)`. On legacy SSE an `SseError` after connect is fatal: the
 *   upstream dropped the session with the stream, and the SDK's `EventSource` would otherwise reconnect into
 *   a fresh, uninitialized upstream session and silently lose state. The transport is closed at once.
 * - Every server notification goes to `events.notification`.
 * - `close` sends the DELETE through the factory's {@link CloseQueue}, ending the event stream (freeing its
 *   connection) just before; a DELETE that fails, is aborted or never started rejects `close` (a 404 or 405 is a
 *   success: the upstream already forgot the session, or does not support termination).
 */
export class McpConnection implements UpstreamConnection<Client> {
  /** SDK v1 speaks the legacy (session) era only. */
  readonly era = 'legacy' as const;
  private state: State = 'connecting';
  private closing: Promise<void> | undefined;

  constructor(
    readonly client: Client,
    private readonly transport: StreamableHTTPClientTransport | SSEClientTransport,
    private readonly events: ConnectionEvents,
    private readonly url: URL,
    private readonly http: ConnectionHttp,
  ) {
    const previousClose = client.onclose;
    client.onclose = () => {
      previousClose?.();
      this.lost(new Error('The upstream transport closed'));
    };
    const previousError = client.onerror;
    client.onerror = (error: Error) => {
      previousError?.(error);
      if (this.state === 'open' && error instanceof SseError) {
        this.lost(error);
        void this.client.close().catch(() => undefined);
      }
    };
    const forward = (notification: { method: string; params?: unknown }): Promise<void> => {
      if (this.state === 'open' || this.state === 'connecting') {
        const { method, params } = notification;
        const forwarded: UpstreamNotification = params === undefined ? { method } : { method, params };
        this.events.notification(forwarded);
      }
      return Promise.resolve();
    };
    client.fallbackNotificationHandler = forward;
    client.setNotificationHandler(ToolListChangedNotificationSchema, forward);
    client.setNotificationHandler(PromptListChangedNotificationSchema, forward);
    client.setNotificationHandler(ResourceListChangedNotificationSchema, forward);
  }

  /**
   * Connects and initializes. If `signal` aborts first, rejects with `signal.reason` at once and cleans up
   * in the background (see {@link McpConnection.abandon}). The `initialize` request gets no caller signal:
   * a shared signal would collect one SDK listener per request, and aborting it would make the SDK drop the
   * in-flight response that carries the upstream's session id.
   */
  async connect(signal: AbortSignal): Promise<void> {
    try {
      await raceSignal(this.client.connect(this.transport), signal);
      this.state = 'open';
      this.http.tracker.stopTracking();
    } catch (error) {
      this.state = 'closed';
      if (signal.aborted) {
        void this.abandon();
        throw signal.reason;
      }
      await this.abandon();
      throw error;
    }
  }

  close(signal: AbortSignal): Promise<void> {
    this.closing ??= this.shutdown(signal);
    return this.closing;
  }

  /**
   * Ends the event stream, terminates the upstream session (HTTP DELETE, Streamable HTTP only, through the
   * close queue), then closes the client. Rejects when the DELETE failed, was aborted or never started.
   */
  private async shutdown(signal: AbortSignal): Promise<void> {
    const wasOpen = this.state === 'open';
    this.state = 'closing';
    const transport = this.transport;
    const terminable = wasOpen && transport instanceof StreamableHTTPClientTransport && transport.sessionId !== undefined;
    try {
      await closeSession({
        queue: this.http.closeQueue,
        grace: signal,
        terminate: terminable
          ? (started) => {
              // The stream's connection is freed as the DELETE takes one (2 × N sockets otherwise during
              // closeAll); ending it here rather than up front spreads the upstream's work over the queue.
              this.http.sessionFetch.stopEventStream();
              return raceSignal(transport.terminateSession(), started);
            }
          : undefined,
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
    this.events.closed(reason);
  }

  /**
   * Cleans up after a failed or abandoned connect; never throws. An `initialize` still in flight is given up
   * to {@link ABANDON_GRACE_MS} to land, so a session the upstream opened for it is terminated rather than
   * leaked; then the client is closed (aborting all its HTTP) and, for Streamable HTTP, the session id the
   * upstream assigned (if any) gets a DELETE on a throwaway transport.
   */
  private async abandon(): Promise<void> {
    const { tracker, detached, clock } = this.http;
    await tracker.postsSettled(ABANDON_GRACE_MS, clock);
    const sessionId =
      this.transport instanceof StreamableHTTPClientTransport ? (this.transport.sessionId ?? tracker.sessionId) : undefined;
    await this.client.close().catch(() => undefined);
    if (sessionId !== undefined) await terminateDetached(this.url, sessionId, detached(), clock);
  }
}

/** The upstream already forgot the session: terminating it is moot. */
function isGone(error: unknown): boolean {
  return error instanceof StreamableHTTPError && error.code === 404;
}

/** Best-effort DELETE of an upstream session on a throwaway transport, bounded by {@link ABANDON_GRACE_MS}. */
async function terminateDetached(url: URL, sessionId: string, options: StreamableTransportOptions, clock: Clock): Promise<void> {
  const transport = new StreamableHTTPClientTransport(url, { ...options, sessionId });
  const timer = clock.setTimeout(() => void transport.close(), ABANDON_GRACE_MS);
  try {
    await transport.start();
    await transport.terminateSession();
  } catch {
    // Best effort: the upstream expires the session by itself.
  } finally {
    clock.clearTimeout(timer);
    await transport.close();
  }
}
