import {
  Client,
  SSEClientTransport,
  StreamableHTTPClientTransport,
  type ClientCapabilities,
  type Implementation,
  type JsonSchemaValidator,
  type jsonSchemaValidator,
  type Transport,
} from '@modelcontextprotocol/client';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/client/validators/ajv';
import { systemClock } from '../../clock.js';
import { EraResolver } from '../../eras/resolver.js';
import { InMemoryEraStore } from '../../eras/in-memory.js';
import { eraKey } from '../../eras/key.js';
import {
  type ConnectionEvents,
  type HttpSessionCreateRequest,
  type SessionCreateRequest,
  type SessionFactory,
  type StdioSessionCreateRequest,
  type UpstreamConnection,
} from '../../factory.js';
import { type SessionKey } from '../../types.js';
import { announcedCapabilities } from '../capabilities.js';
import { CloseQueue } from '../close-queue.js';
import { hasHeaders, httpUrl, mergeHeaders, takeUserinfo } from '../headers.js';
import { ListenHub } from '../listen-hub.js';
import { type SessionFetchFunction } from '../fetch-function.js';
import { SessionFetch } from '../session-fetch.js';
import { connectStdioSession, validateStdioFactoryOptions } from '../stdio/index.js';
import { ValidatorCache } from '../validator-cache.js';
import { SdkV2Connection } from './connection.js';
import { connectAuto, connectOptionsFor, isZeroRoundTrip, negotiationFor, type EraConnector, type EraPlan } from './era-flow.js';
import { listChangedFilter, listenOpener } from './listen.js';
import { SDK_V2_DEFAULTS, validateSdkV2Options, type SdkV2FactoryOptions } from './options.js';
import { relayServerRequests } from './server-requests.js';
import { SdkV2StdioConnection } from './stdio.js';

/** The `clientInfo` announced when none is given. */
export const SDK_V2_DEFAULT_CLIENT_INFO: Readonly<Implementation> = Object.freeze({ name: 'mcp-upstream-sessions', version: '0.1.0' });

/** Backoff of listen-stream reopens after an end the factory did not ask for. */
const LISTEN_BACKOFF = Object.freeze({ initialMs: 1_000, maxMs: 30_000 });

/** Everything a creation computes from its request before it connects. */
interface Prepared {
  readonly request: HttpSessionCreateRequest;
  readonly events: ConnectionEvents;
  readonly key: SessionKey;
  readonly url: URL;
  readonly verdictKey: string;
  readonly requestInit: RequestInit | undefined;
  readonly capabilities: ClientCapabilities;
}

/**
 * A {@link SessionFactory} on the MCP SDK v2 client (`@modelcontextprotocol/client`), which speaks both
 * protocol eras: revisions up to 2025-11-25 (legacy: `initialize`, sessions) and 2026-07-28 (modern:
 * `server/discover`, no sessions). Use it when any upstream may speak 2026-07-28; the default SDK v1
 * factory stays legacy-only.
 *
 * - **Era per upstream, cached** in `eraStore` under a SHA-256 of (url, principal — else the `authorization`
 *   header): a modern verdict connects with zero round trips (`unproven` until its first call), a legacy one
 *   goes straight to `initialize`, a miss probes once with `server/discover` — concurrent misses of one key
 *   share that probe, and a caller giving up does not abort it. 401/403/5xx and network failures during a
 *   probe are never stored.
 * - **Stale verdicts heal**: a modern verdict refused locally (`ERA_NEGOTIATION_FAILED`) is deleted and the
 *   creation probes once more; -32022 / -32020 on a connection delete its verdict; legacy verdicts are
 *   re-probed after `legacyVerdictTtlMs`.
 * - **Lifecycle**: legacy as the v1 factory (DELETE before close, through a close queue); modern: no DELETE,
 *   close aborts in-flight requests. `probe`: `server/discover` on modern, the registry's chain as raw
 *   requests on legacy.
 * - **Notifications**: legacy from the session's event stream; modern from one shared `subscriptions/listen`
 *   stream per (url, principal) per factory (with `listen`), fanned out to every live connection of the key.
 * - **Input from the client**: `onServerRequest` answers legacy server→client requests and modern MRTR
 *   input requests alike, in the async context of the call that caused them.
 *
 * @param options - See {@link SdkV2FactoryOptions}.
 * @returns A factory for `new UpstreamSessionRegistry({ sessionFactory })`.
 * @throws {@link InvalidOptionsError} for unknown or mistyped options. `create` rejects with
 *   {@link InvalidRequestError} for a non-http(s) URL (before any I/O), with
 *   `request.signal.reason` when aborted, and with the SDK's error when connecting fails.
 * @example
 * ```ts
 * import { createSdkV2SessionFactory } from 'mcp-upstream-sessions/sdk-v2';
 *
 * const registry = new UpstreamSessionRegistry({ sessionFactory: createSdkV2SessionFactory() });
 * await registry.withSession({ downstreamSessionId, upstreamId: 'weather', url: 'https://weather.example/mcp', principal: userId },
 *   (client) => client.callTool({ name: 'forecast', arguments: { city: 'Berlin' } }));
 * ```
 */
export function createSdkV2SessionFactory(options?: SdkV2FactoryOptions): SessionFactory<Client> {
  const o = validateSdkV2Options(options);
  const stdio = validateStdioFactoryOptions(o);
  const clock = o.clock ?? systemClock;
  const era = o.era ?? SDK_V2_DEFAULTS.era;
  const listen = o.listen ?? SDK_V2_DEFAULTS.listen;
  const info: Implementation = { ...(o.clientInfo ?? SDK_V2_DEFAULT_CLIENT_INFO) };
  const onServerRequest = o.onServerRequest;
  const { signal: _ignored, ...baseInit } = o.requestInit ?? {};
  const baseFetch: SessionFetchFunction = o.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const resolver = new EraResolver(o.eraStore ?? new InMemoryEraStore({ clock }), clock, {
    legacyVerdictTtlMs: o.legacyVerdictTtlMs ?? SDK_V2_DEFAULTS.legacyVerdictTtlMs,
    modernVerdictTtlMs: o.modernVerdictTtlMs ?? SDK_V2_DEFAULTS.modernVerdictTtlMs,
  });
  const closeQueue = new CloseQueue(o.closeConcurrency ?? SDK_V2_DEFAULTS.closeConcurrency, clock);
  const hub = new ListenHub(clock, LISTEN_BACKOFF);
  // One JSON-schema validator per upstream, built on first use, instead of one per session.
  const validators = new ValidatorCache<JsonSchemaValidator<unknown>>(() => new AjvJsonSchemaValidator());

  /** The plan of a creation when the era is pinned (or the transport has one era), else `undefined`. */
  function pinnedPlan(transport: SessionCreateRequest['transport']): EraPlan | undefined {
    if (transport === 'sse' || era === 'legacy') return { kind: 'legacy' };
    if (era === 'modern') return { kind: 'pinned-modern' };
    return undefined;
  }

  /** One v2 client for a plan, with this session's capabilities and server-request relay. */
  function newClient(key: SessionKey, capabilities: ClientCapabilities, plan: EraPlan): Client {
    const negotiation = negotiationFor(plan);
    const client = new Client(info, {
      capabilities: structuredClone(capabilities),
      jsonSchemaValidator: validators.forUpstream(key.upstreamId) as jsonSchemaValidator,
      ...(negotiation !== undefined && { versionNegotiation: negotiation }),
    });
    if (onServerRequest !== undefined) relayServerRequests(client, key, capabilities, onServerRequest);
    return client;
  }

  function sessionKey(request: SessionCreateRequest): SessionKey {
    return Object.freeze({ downstreamSessionId: request.downstreamSessionId, upstreamId: request.upstreamId });
  }

  function capabilitiesOf(request: SessionCreateRequest): ClientCapabilities {
    return announcedCapabilities(request.clientCapabilities, o.capabilities, onServerRequest !== undefined);
  }

  function prepare(request: HttpSessionCreateRequest, events: ConnectionEvents): Prepared {
    const url = httpUrl(request.url);
    const basicAuth = takeUserinfo(url);
    const headers = mergeHeaders(baseInit.headers, request.headers, basicAuth);
    const requestInit = Object.keys(baseInit).length > 0 || hasHeaders(headers) ? { ...baseInit, headers } : undefined;
    const verdictKey = eraKey({ transport: request.transport, url: request.url }, { principal: request.principal, authorization: headers.authorization });
    return { request, events, key: sessionKey(request), url, verdictKey, requestInit, capabilities: capabilitiesOf(request) };
  }

  /** One HTTP connection for a plan: client, watched fetch, transport (nothing is sent yet). */
  function build(p: Prepared, plan: EraPlan): SdkV2Connection {
    const client = newClient(p.key, p.capabilities, plan);
    // The connection exists only after its transport: the fetch wrapper reaches it through this slot.
    const slot: { connection?: SdkV2Connection } = {};
    const watched: SessionFetchFunction = async (input, init) => {
      const response = await baseFetch(input, init);
      if (response.status >= 400 && response.status < 500 && (response.headers.get('content-type') ?? '').includes('json')) {
        const status = response.status;
        void response
          .clone()
          .text()
          .then((text) => slot.connection?.inspectErrorBody(status, JSON.parse(text) as unknown))
          .catch(() => undefined);
      }
      return response;
    };
    const sessionFetch = new SessionFetch({ base: watched, eventStream: true });
    const transportOptions = {
      ...(p.requestInit !== undefined && { requestInit: p.requestInit }),
      fetch: sessionFetch.fetch,
    };
    const transport = p.request.transport === 'sse' ? new SSEClientTransport(p.url, transportOptions) : new StreamableHTTPClientTransport(p.url, transportOptions);
    const connection = new SdkV2Connection({
      client,
      transport,
      sessionFetch,
      events: p.events,
      clock,
      closeQueue,
      unproven: isZeroRoundTrip(plan),
      onStaleVerdict: () => void resolver.forget(p.verdictKey),
    });
    slot.connection = connection;
    return connection;
  }

  /** Joins the key's shared listen stream (modern connections, when the server advertises list changes). */
  function joinListen(p: Prepared, connection: SdkV2Connection): void {
    if (!listen || connection.era !== 'modern') return;
    const discover = connection.client.getDiscoverResult();
    const filter = listChangedFilter(discover);
    if (discover === undefined || filter === undefined) return;
    const leave = hub.join(p.verdictKey, {
      deliver: (notification) => p.events.notification(notification),
      open: listenOpener({ url: p.url, info, discover, filter, requestInit: p.requestInit, fetch: o.fetch }),
    });
    connection.onClose(leave);
  }

  async function createHttp(request: HttpSessionCreateRequest, events: ConnectionEvents): Promise<SdkV2Connection> {
    const p = prepare(request, events);
    request.signal.throwIfAborted();
    const connect: EraConnector<SdkV2Connection> = async (plan, onAttempt) => {
      const connection = build(p, plan);
      await connection.connect(connectOptionsFor(plan), request.signal, (attempt) => onAttempt(attempt, connection.client));
      return connection;
    };
    const plan = pinnedPlan(request.transport);
    const connection = plan !== undefined ? await connect(plan, () => undefined) : await connectAuto(resolver, p.verdictKey, request.signal, connect);
    joinListen(p, connection);
    return connection;
  }

  /**
   * One child process per session (SPEC §9), through the shared stdio transport, which v2 probes in place:
   * with a cached verdict no extra process is ever spawned. The era key stands on the command line.
   */
  async function createStdio(request: StdioSessionCreateRequest, events: ConnectionEvents): Promise<SdkV2StdioConnection> {
    request.signal.throwIfAborted();
    const key = sessionKey(request);
    const capabilities = capabilitiesOf(request);
    const target = { transport: 'stdio' as const, command: request.command, args: request.args, ...(request.cwd !== undefined && { cwd: request.cwd }) };
    const verdictKey = eraKey(target, { principal: request.principal });
    const transportOptions = { inheritEnv: stdio.inheritEnv, onStderr: stdio.onStderr, clock, key };
    const connect: EraConnector<SdkV2StdioConnection> = async (plan, onAttempt) => {
      const client = newClient(key, capabilities, plan);
      const connectOptions = connectOptionsFor(plan);
      const driver = {
        connect: (transport: unknown): Promise<void> => {
          const attempt = client.connect(transport as Transport, connectOptions);
          onAttempt(attempt, client);
          return attempt;
        },
        close: () => client.close(),
      };
      const inner = await connectStdioSession(client, request, events, driver, transportOptions);
      return new SdkV2StdioConnection(inner, clock, isZeroRoundTrip(plan));
    };
    const plan = pinnedPlan('stdio');
    return plan !== undefined ? connect(plan, () => undefined) : connectAuto(resolver, verdictKey, request.signal, connect);
  }

  return {
    create(request: SessionCreateRequest, events: ConnectionEvents): Promise<UpstreamConnection<Client>> {
      return request.transport === 'stdio' ? createStdio(request, events) : createHttp(request, events);
    },
  };
}
