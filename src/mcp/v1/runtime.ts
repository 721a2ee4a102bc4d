// Everything of the v1 factory that needs the SDK at runtime, loaded by `create` on first use (SPEC §2).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { JSONRPCMessageSchema, type ClientCapabilities, type Implementation } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import { type JsonSchemaValidator, type jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import { type ConnectionEvents, type StdioSessionCreateRequest } from '../../factory.js';
import { type SessionKey } from '../../request.js';
import { type CloseQueue } from '../close-queue.js';
import { type EventStreamReceiver } from '../event-stream.js';
import { type StreamOpener } from '../stream-openers.js';
import { type SessionDispatchers } from '../dispatchers.js';
import { type McpServerRequestHandler } from '../server-request.js';
import { type SessionFetchFunction } from '../fetch-function.js';
import { SessionFetch } from '../session-fetch.js';
import { ValidatorCache } from '../validator-cache.js';
import { McpConnection } from './connection.js';
import { FetchTracker } from './fetch-tracker.js';
import { relayServerRequests } from './server-requests.js';
import { type Clock } from '../../clock.js';
import { connectStdioSession, type StdioConnection, type StdioTransport, type StdioTransportOptions } from '../stdio/index.js';

export { Client };

/** One JSON-schema validator per upstream, each an SDK `AjvJsonSchemaValidator` built on first use. */
export function createValidatorCache(): ValidatorCache<JsonSchemaValidator<unknown>> {
  return new ValidatorCache<JsonSchemaValidator<unknown>>(() => new AjvJsonSchemaValidator());
}

/** What the factory decided for one HTTP session. */
export interface HttpConnectionPlan {
  readonly key: SessionKey;
  readonly url: URL;
  readonly transport: 'streamable-http' | 'sse';
  readonly signal: AbortSignal;
  readonly events: ConnectionEvents;
  readonly clientInfo: Implementation;
  readonly capabilities: ClientCapabilities;
  readonly onServerRequest: McpServerRequestHandler | undefined;
  readonly validator: ValidatorCache<JsonSchemaValidator<unknown>>;
  /** Request init without a signal (headers merged), or undefined when there is nothing to send. */
  readonly requestInit: RequestInit | undefined;
  readonly baseFetch: SessionFetchFunction;
  readonly dispatchers: SessionDispatchers | undefined;
  readonly eventStream: boolean;
  /** Opens the standalone event streams the library reads itself (Streamable HTTP). */
  readonly streamOpener: StreamOpener;
  readonly closeQueue: CloseQueue;
  /** Timers of the abandoned-creation cleanup and of event stream reconnection. */
  readonly clock: Clock;
}

/** Builds the SDK client and transport of one HTTP session and connects it (see `createMcpSessionFactory`). */
export async function connectHttp(plan: HttpConnectionPlan): Promise<McpConnection> {
  const { key, url, onServerRequest, capabilities, baseFetch, dispatchers } = plan;
  const client = new Client(plan.clientInfo, {
    capabilities,
    jsonSchemaValidator: plan.validator.forUpstream(key.upstreamId) as jsonSchemaValidator,
  });
  if (onServerRequest !== undefined) relayServerRequests(client, key, capabilities, onServerRequest);

  // Legacy SSE cannot work without its GET stream: `eventStream: false` applies to Streamable HTTP only.
  // Streamable HTTP: the library reads the standalone stream itself (see SessionFetch); on legacy SSE the
  // stream is the transport.
  const sse = plan.transport === 'sse';
  const sessionFetch = new SessionFetch({
    base: baseFetch,
    dispatchers,
    eventStream: sse || plan.eventStream,
    ownStream: sse ? undefined : { open: plan.streamOpener, clock: plan.clock },
  });
  const tracker = new FetchTracker(sessionFetch.fetch);
  const requestInit = plan.requestInit === undefined ? {} : { requestInit: plan.requestInit };
  const options = { ...requestInit, fetch: tracker.fetch };
  const transport = sse ? new SSEClientTransport(url, options) : new StreamableHTTPClientTransport(url, options);
  if (transport instanceof StreamableHTTPClientTransport) sessionFetch.receive(receiverOf(transport));
  const connection = new McpConnection(client, transport, plan.events, url, {
    sessionFetch,
    tracker,
    closeQueue: plan.closeQueue,
    clock: plan.clock,
    // Built only when an abandoned creation needs it (most sessions never do).
    detached: () => ({ ...requestInit, fetch: new SessionFetch({ base: baseFetch, dispatchers, eventStream: false }).fetch }),
  });
  await connection.connect(plan.signal);
  return connection;
}

/** Delivers the messages of a stream the library reads to the transport, validated as the SDK does. */
function receiverOf(transport: StreamableHTTPClientTransport): EventStreamReceiver {
  return {
    message(data) {
      try {
        const message = JSONRPCMessageSchema.parse(JSON.parse(data));
        transport.onmessage?.(message);
        return 'id' in message && ('result' in message || 'error' in message);
      } catch (error) {
        transport.onerror?.(error instanceof Error ? error : new Error(String(error)));
        return false;
      }
    },
    error: (error) => transport.onerror?.(error),
    resume: (lastEventId) => void transport.resumeStream(lastEventId).catch((error: unknown) => transport.onerror?.(error as Error)),
  };
}

/** What the factory decided for one stdio session (SPEC §9). */
export interface StdioConnectionPlan {
  readonly key: SessionKey;
  readonly request: StdioSessionCreateRequest;
  readonly events: ConnectionEvents;
  readonly clientInfo: Implementation;
  readonly capabilities: ClientCapabilities;
  readonly onServerRequest: McpServerRequestHandler | undefined;
  readonly validator: ValidatorCache<JsonSchemaValidator<unknown>>;
  readonly stdio: StdioTransportOptions;
}

/** Builds the SDK client of one stdio session and connects it over its own child process. */
export function connectStdio(plan: StdioConnectionPlan): Promise<StdioConnection<Client>> {
  const { key, capabilities, onServerRequest } = plan;
  const client = new Client(plan.clientInfo, {
    capabilities,
    jsonSchemaValidator: plan.validator.forUpstream(key.upstreamId) as jsonSchemaValidator,
  });
  if (onServerRequest !== undefined) relayServerRequests(client, key, capabilities, onServerRequest);
  const driver = { connect: (transport: StdioTransport) => client.connect(transport), close: () => client.close(), era: () => 'legacy' as const };
  return connectStdioSession(client, plan.request, plan.events, driver, { ...plan.stdio, key });
}
