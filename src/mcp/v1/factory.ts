// The default SessionFactory (SDK v1). SDK types only here: the SDK itself is loaded by the first `create`.
import { type Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type ClientCapabilities, type Implementation } from '@modelcontextprotocol/sdk/types.js';
import { type JsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import { systemClock, type Clock } from '../../clock.js';
import { InvalidOptionsError } from '../../errors.js';
import { type ConnectionEvents, type SessionCreateRequest, type SessionFactory, type UpstreamConnection } from '../../factory.js';
import { type SessionKey } from '../../request.js';
import { announcedCapabilities } from '../capabilities.js';
import { CloseQueue, DEFAULT_CLOSE_CONCURRENCY } from '../close-queue.js';
import { createSessionDispatchers, type SessionDispatchers } from '../dispatchers.js';
import { hasHeaders, httpUrl, mergeHeaders, takeUserinfo } from '../headers.js';
import { type McpServerRequestHandler } from '../server-request.js';
import { fetchStreamOpener, nodeHttpStreamOpener, type StreamOpener } from '../stream-openers.js';
import { type ValidatorCache } from '../validator-cache.js';
import { validateStdioFactoryOptions, type StdioStderrHandler } from '../stdio/index.js';
import type * as RuntimeModule from './runtime.js';

/** The `clientInfo` sent in `initialize` when none is given. Kept equal to package.json by a test. */
export const DEFAULT_CLIENT_INFO: Readonly<Implementation> = Object.freeze({
  name: 'mcp-upstream-sessions',
  version: '0.1.0',
});

/** Options of {@link createMcpSessionFactory}. All optional. */
export interface McpSessionFactoryOptions {
  /**
   * Name and version the gateway announces to upstreams in `initialize`.
   * @default { name: 'mcp-upstream-sessions', version: <library version> }
   */
  clientInfo?: Implementation;
  /**
   * Client capabilities announced to upstreams for sessions whose request carries no `clientCapabilities`.
   * A request's `clientCapabilities` (what the downstream client declared) take precedence, minus
   * `sampling`, `elicitation` and `roots` when there is no `onServerRequest` to relay them. `onServerRequest`
   * answers only the requests the announced capabilities declare; the SDK answers others with method-not-found.
   * @default `{ sampling: {}, elicitation: {}, roots: {} }` when `onServerRequest` is given, else `{}`
   */
  capabilities?: ClientCapabilities;
  /**
   * `fetch` used for every upstream HTTP request, event streams included (for example one with a
   * per-upstream undici `Agent`). When set, the factory's own routing is not used.
   * @default globalThis.fetch on an undici dispatcher of the factory's own for requests; Streamable HTTP event
   *   streams on plain `node:http(s)` (with the request's headers), legacy SSE streams on a second dispatcher
   */
  fetch?: FetchLike;
  /**
   * Extra `RequestInit` for every upstream HTTP request. Its `headers` are the base; the per-session headers
   * of the request (`SessionRequest.headers`, sanitized) are merged over them, and the internal MCP and
   * hop-by-hop headers are removed from both. Its `signal` is ignored: the transport owns cancellation.
   */
  requestInit?: RequestInit;
  /**
   * Answers server→client requests from upstreams — `sampling/createMessage`, `elicitation/create`,
   * `roots/list` — with the downstream session in hand (`key.downstreamSessionId`), so a gateway can relay
   * them to the right downstream client. A request that arrives on a call's response stream runs in that
   * call's async context (AsyncLocalStorage finds the downstream request). Without it the SDK answers them
   * with method-not-found.
   */
  onServerRequest?: McpServerRequestHandler;
  /**
   * Whether Streamable HTTP sessions open the standalone GET event stream. `false` saves its connection and
   * about 13 KB per session, but then the upstream can send no unsolicited notifications (list_changed,
   * resource updates, log messages outside a call) and no server→client requests outside a call; requests
   * and notifications that belong to a call still arrive on the call's response stream. Legacy SSE always
   * keeps its stream (it is the transport).
   * @default true
   */
  eventStream?: boolean;
  /**
   * How many upstream session terminations (HTTP DELETE) this factory runs at once. Closes beyond it wait
   * for a slot within the registry's close bound: one still queued or in flight when its grace window ends
   * may go on for 0.8 × that window (the registry waits longer than that before it gives up on a close); one
   * that has not started by then is not sent and counts as a close error.
   * @default 64
   */
  closeConcurrency?: number;
  /**
   * stdio upstreams: names of gateway environment variables passed through to every child process, on top
   * of the minimal environment (PATH, HOME, USER, LOGNAME, SHELL, TERM, LANG, TMPDIR and the platform's
   * equivalents) and under the request's `env`. The gateway's other variables never reach a child.
   * @default []
   */
  inheritEnv?: readonly string[];
  /** stdio upstreams: receives every stderr line of every child process, with its session key. */
  onStderr?: StdioStderrHandler;
  /**
   * Time for every timer the factory keeps: the bounded cleanup of a creation abandoned mid-`initialize` and
   * the stdio teardown steps. Pass the registry's clock (for example a `ManualClock` in tests).
   * @default systemClock
   */
  clock?: Clock;
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'clientInfo',
  'capabilities',
  'fetch',
  'requestInit',
  'onServerRequest',
  'eventStream',
  'closeConcurrency',
  'inheritEnv',
  'onStderr',
  'clock',
]);

function validate(options: unknown): McpSessionFactoryOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError('options', `Expected options to be an object, got ${typeof options}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN_OPTIONS.has(key)) throw new InvalidOptionsError(key, `Unknown option \`${key}\``);
  }
  for (const name of ['fetch', 'onServerRequest'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'function') {
      throw new InvalidOptionsError(name, `Expected \`${name}\` to be a function, got ${typeof o[name]}`);
    }
  }
  for (const name of ['capabilities', 'requestInit'] as const) {
    if (o[name] !== undefined && (typeof o[name] !== 'object' || o[name] === null)) {
      throw new InvalidOptionsError(name, `Expected \`${name}\` to be an object, got ${o[name] === null ? 'null' : typeof o[name]}`);
    }
  }
  if (o.eventStream !== undefined && typeof o.eventStream !== 'boolean') {
    throw new InvalidOptionsError('eventStream', `Expected \`eventStream\` to be a boolean, got ${typeof o.eventStream}`);
  }
  const concurrency = o.closeConcurrency;
  if (concurrency !== undefined && !(typeof concurrency === 'number' && Number.isInteger(concurrency) && concurrency >= 1)) {
    const shown = typeof concurrency === 'number' ? String(concurrency) : typeof concurrency;
    throw new InvalidOptionsError('closeConcurrency', `Expected \`closeConcurrency\` to be an integer >= 1, got \`${shown}\``);
  }
  const clock = o.clock as Partial<Clock> | null | undefined;
  if (
    clock !== undefined &&
    (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function')
  ) {
    throw new InvalidOptionsError('clock', 'Expected `clock` to be an object with `now`, `setTimeout` and `clearTimeout` methods');
  }
  const info = o.clientInfo as Partial<Implementation> | undefined;
  if (info !== undefined && (typeof info !== 'object' || typeof info.name !== 'string' || typeof info.version !== 'string')) {
    throw new InvalidOptionsError('clientInfo', 'Expected `clientInfo` to be an object with string `name` and `version`');
  }
  return o;
}

/** The SDK-dependent half of the factory, loaded once per process by the first `create`. */
type Runtime = typeof RuntimeModule;
let runtime: Promise<Runtime> | undefined;

function loadRuntime(): Promise<Runtime> {
  runtime ??= import('./runtime.js').catch((error: unknown) => {
    runtime = undefined; // let a later create retry (e.g. after a transient file-system error)
    throw error;
  });
  return runtime;
}

/**
 * The default {@link SessionFactory}: one MCP SDK `Client` per upstream session, over
 * `StreamableHTTPClientTransport` (`transport: 'streamable-http'`) or `SSEClientTransport` (`'sse'`).
 *
 * - Loads the SDK on the first `create` (importing the package loads none of it).
 * - `transport: 'stdio'`: spawns one child process per session in its own process group, with a minimal
 *   environment plus `inheritEnv` and the request's `env`, and tears the whole group down within the
 *   registry's close bound (SPEC §9). An exit reports `events.closed` with a `process_exited` error.
 * - Sends the request's sanitized headers (over `requestInit.headers`) on every upstream HTTP request.
 *   Credentials in the URL (`https://user:pass@host/mcp`) become an `authorization: Basic` header, unless
 *   the headers already carry `authorization` (`fetch` refuses such URLs, and would echo them in its error).
 * - Announces the request's `clientCapabilities` upstream (see `capabilities`).
 * - Reports the client's `onclose` as `events.closed`. Streamable HTTP errors reported through `onerror`
 *   (a 404 for a forgotten session, `fetch failed`, a dead standalone GET stream) are not treated as fatal
 *   here: the failing call rejects, and the registry evicts on transport errors (`lease.release(error)`).
 *   On legacy SSE, a stream error after connect closes the session (the upstream dropped it with the stream).
 * - Forwards every server notification (list_changed included) to `events.notification`.
 * - Relays sampling, elicitation and roots requests to `onServerRequest` with the session key.
 * - At scale: request traffic uses an undici dispatcher of its own and Streamable HTTP event streams are held
 *   on plain `node:http` (unless `fetch` is given); the factory reads event streams and each call's
 *   event-stream response itself (one reader, an incremental SSE decoder) and hands the messages to the SDK in
 *   order; every request gets a fresh abort signal (no listener piles up on the transport's); one JSON-schema
 *   validator is built lazily per upstream instead of one per session.
 * - `create` honours `request.signal`: aborting it rejects with `signal.reason` and closes what was opened.
 * - `close(signal)` sends the HTTP DELETE that ends the upstream session (Streamable HTTP; at most
 *   `closeConcurrency` at once, each ending the session's event stream just before), then closes the client.
 *   After `signal` fires the DELETE may go on for 0.8 × the grace window, then in-flight HTTP is aborted, so a
 *   close never outlives the registry's bound. A DELETE that fails, is aborted or could not start in time
 *   rejects (the registry counts `closeErrors`); a 404 or 405 counts as success.
 *
 * Do not close a leased client yourself (the upstream session would not be terminated): release the lease or
 * evict the session.
 *
 * @param options - See {@link McpSessionFactoryOptions}.
 * @returns A factory for `new UpstreamSessionRegistry({ sessionFactory })`.
 * @throws {@link InvalidOptionsError} for unknown or mistyped options. `create` rejects with
 *   {@link InvalidRequestError} for a non-http(s) URL (before any network I/O), with `request.signal.reason`
 *   when aborted, and with the SDK's error when connecting or `initialize` fails.
 * @example
 * ```ts
 * const registry = new UpstreamSessionRegistry({
 *   sessionFactory: createMcpSessionFactory({
 *     clientInfo: { name: 'my-gateway', version: '1.2.3' },
 *     onServerRequest: (key, request, { signal }) => relayToDownstream(key.downstreamSessionId, request, signal),
 *   }),
 * });
 * ```
 */
export function createMcpSessionFactory(options?: McpSessionFactoryOptions): SessionFactory<Client> {
  const { clientInfo, capabilities, fetch, requestInit, onServerRequest, eventStream, closeConcurrency, clock: givenClock, ...rest } =
    validate(options);
  const clock = givenClock ?? systemClock;
  const stdio = { ...validateStdioFactoryOptions(rest), clock };
  const info: Implementation = { ...(clientInfo ?? DEFAULT_CLIENT_INFO) };
  const { signal: _ignored, ...baseInit } = requestInit ?? {};
  const closeQueue = new CloseQueue(closeConcurrency ?? DEFAULT_CLOSE_CONCURRENCY, clock);
  const baseFetch = fetch ?? ((input: string | URL, init?: RequestInit) => globalThis.fetch(input, init));
  let dispatchers: Promise<SessionDispatchers | undefined> | undefined;
  let validators: ValidatorCache<JsonSchemaValidator<unknown>> | undefined;
  let streamOpener: StreamOpener | undefined;

  return {
    async create(request: SessionCreateRequest, events: ConnectionEvents): Promise<UpstreamConnection<Client>> {
      if (request.transport === 'stdio') {
        request.signal.throwIfAborted();
        const sdk = await loadRuntime();
        validators ??= sdk.createValidatorCache();
        const key: SessionKey = Object.freeze({ downstreamSessionId: request.downstreamSessionId, upstreamId: request.upstreamId });
        const announced = announcedCapabilities(request.clientCapabilities, capabilities, onServerRequest !== undefined);
        return sdk.connectStdio({ key, request, events, clientInfo: info, capabilities: announced, onServerRequest, validator: validators, stdio });
      }
      const url = httpUrl(request.url);
      const basicAuth = takeUserinfo(url);
      request.signal.throwIfAborted();
      const sdk = await loadRuntime();
      dispatchers ??= fetch === undefined ? createSessionDispatchers() : Promise.resolve(undefined);
      const routes = await dispatchers;
      // With its own routes the factory holds event streams on plain node:http (~6 KB each); otherwise they
      // go through the host's fetch (or the host's global dispatcher), read without a web-streams pipeline.
      streamOpener ??= routes !== undefined ? nodeHttpStreamOpener(clock) : fetchStreamOpener(baseFetch);
      request.signal.throwIfAborted();
      validators ??= sdk.createValidatorCache();
      const key: SessionKey = Object.freeze({ downstreamSessionId: request.downstreamSessionId, upstreamId: request.upstreamId });
      const headers = mergeHeaders(baseInit.headers, request.headers, basicAuth);
      return sdk.connectHttp({
        key,
        url,
        transport: request.transport,
        signal: request.signal,
        events,
        clientInfo: info,
        capabilities: announcedCapabilities(request.clientCapabilities, capabilities, onServerRequest !== undefined),
        onServerRequest,
        validator: validators,
        // No requestInit at all when there is nothing to send: the SDK then skips merging it into every request.
        requestInit: Object.keys(baseInit).length > 0 || hasHeaders(headers) ? { ...baseInit, headers } : undefined,
        baseFetch,
        dispatchers: routes,
        eventStream: eventStream ?? true,
        streamOpener,
        closeQueue,
        clock,
      });
    },
  };
}
