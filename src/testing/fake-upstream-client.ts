import { type UpstreamClient, type UpstreamRequestOptions } from '../client.js';
import { systemClock, type Clock } from '../clock.js';
import { createConnectionClosedError, createMethodNotFoundError, createSessionNotFoundError } from './fake-errors.js';

/**
 * How a {@link FakeUpstreamClient} answers one kind of request:
 * - `'ok'`: a well-formed result;
 * - `'method-not-found'`: rejects with {@link createMethodNotFoundError} (-32601);
 * - `'timeout'`: never settles until the request's `signal` aborts (or the connection closes);
 * - `'broken'`: rejects with {@link createConnectionClosedError} (-32000), as a dead transport does;
 * - `'session-not-found'`: rejects with {@link createSessionNotFoundError} (HTTP 404);
 * - `{ delayMs }`: answers `'ok'` after `delayMs` on the client's clock;
 * - an `Error`: rejects with that error.
 */
export type FakeRequestBehavior =
  | 'ok'
  | 'method-not-found'
  | 'timeout'
  | 'broken'
  | 'session-not-found'
  | { delayMs: number }
  | Error;

/** The requests a {@link FakeUpstreamClient} answers. */
export type FakeClientMethod = 'ping' | 'listTools' | 'listPrompts' | 'listResources' | 'callTool';

/** Per-method behaviour of a {@link FakeUpstreamClient}; a missing method answers `'ok'`. */
export type FakeClientScript = { [M in FakeClientMethod]?: FakeRequestBehavior };

/** One request a {@link FakeUpstreamClient} received. */
export interface FakeRequestRecord {
  readonly method: FakeClientMethod;
  /** The params argument (`undefined` for `ping`). */
  readonly params: unknown;
  /** The request options exactly as passed (check for a fresh `signal` per request here). */
  readonly options: UpstreamRequestOptions | undefined;
}

/** A text content block of a tool result. */
export interface FakeTextContent {
  type: 'text';
  text: string;
}

/** What {@link FakeUpstreamClient.callTool} resolves with (a subset of the SDK's `CallToolResult`). */
export interface FakeCallToolResult {
  content: FakeTextContent[];
  isError?: boolean;
}

/** Parameters of {@link FakeUpstreamClient.callTool}, as in the SDK's `client.callTool(params)`. */
export interface FakeCallToolParams {
  name: string;
  arguments?: Record<string, unknown>;
}

/** Options of {@link FakeUpstreamClient}. */
export interface FakeUpstreamClientOptions {
  /** Initial per-method behaviour (copied). @default every method `'ok'` */
  script?: FakeClientScript;
  /** Time source for `{ delayMs }` behaviours. @default systemClock */
  clock?: Clock;
}

/** A tool as {@link FakeUpstreamClient.listTools} describes it. */
export interface FakeToolDescription {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: Readonly<Record<string, unknown>>;
}

const TOOLS: readonly FakeToolDescription[] = Object.freeze([
  Object.freeze({
    name: 'increment',
    description: 'Adds `by` (default 1) to this session’s counter and returns the new value.',
    inputSchema: Object.freeze({ type: 'object', properties: Object.freeze({ by: Object.freeze({ type: 'integer' }) }) }),
  }),
  Object.freeze({
    name: 'get',
    description: 'Returns this session’s counter.',
    inputSchema: Object.freeze({ type: 'object', properties: Object.freeze({}) }),
  }),
]);

/** A promise rejected with `reason`, whatever its type (an abort `reason` need not be an `Error`). */
function rejected(reason: unknown): Promise<never> {
  return new Promise<never>(() => {
    throw reason;
  });
}

function text(value: string, isError = false): FakeCallToolResult {
  return isError ? { content: [{ type: 'text', text: value }], isError: true } : { content: [{ type: 'text', text: value }] };
}

/**
 * An in-memory {@link UpstreamClient} with scriptable answers and a stateful counter, standing in for an
 * MCP SDK `Client` connected to a stateful upstream. Each instance is one upstream session: its counter is
 * its own, which is what makes cross-session leaks (ContextForge #4205) visible in tests.
 *
 * Requests honour `options.signal` (an aborted signal rejects with `signal.reason`). After
 * {@link FakeUpstreamClient.close} or {@link FakeUpstreamClient.drop}, pending and later requests reject
 * with {@link createConnectionClosedError}, as an SDK client whose transport closed does.
 * `options.timeout` is recorded but not enforced: timeouts are the caller's job, through the signal.
 *
 * @example
 * ```ts
 * const client = new FakeUpstreamClient({ script: { ping: 'method-not-found' } });
 * await client.callTool({ name: 'increment', arguments: { by: 2 } });   // { content: [{ type: 'text', text: '2' }] }
 * expect(client.count).toBe(2);
 * await expect(client.ping()).rejects.toMatchObject({ code: -32601 });
 * ```
 */
export class FakeUpstreamClient implements UpstreamClient {
  /** Per-method behaviour; change it at any time, it applies to the next request. */
  script: FakeClientScript;
  /** How many times each method was called (including calls that failed). */
  readonly calls: Record<FakeClientMethod, number> = {
    ping: 0,
    listTools: 0,
    listPrompts: 0,
    listResources: 0,
    callTool: 0,
  };
  /** Every request, in order, with its params and options. */
  readonly requests: FakeRequestRecord[] = [];

  #count = 0;
  #closed = false;
  #dropped = false;
  readonly #clock: Clock;
  /** Rejecters of requests that have not settled, so closing the connection can fail them. */
  readonly #inFlight = new Set<(error: unknown) => void>();

  /**
   * @param options - Initial script and clock; see {@link FakeUpstreamClientOptions}.
   */
  constructor(options: FakeUpstreamClientOptions = {}) {
    this.script = { ...options.script };
    this.#clock = options.clock ?? systemClock;
  }

  /** The counter that `increment` changes and `get` reads. */
  get count(): number {
    return this.#count;
  }

  /** True once the connection was closed ({@link FakeUpstreamClient.close}) or dropped ({@link FakeUpstreamClient.drop}). */
  get closed(): boolean {
    return this.#closed;
  }

  /** True once the transport was dropped ({@link FakeUpstreamClient.drop}), as opposed to closed on purpose. */
  get dropped(): boolean {
    return this.#dropped;
  }

  /** Requests that have not settled yet. */
  get pendingRequests(): number {
    return this.#inFlight.size;
  }

  /**
   * MCP `ping`. Resolves `{}` when the script says `'ok'`.
   * @throws See {@link FakeRequestBehavior}.
   */
  ping(options?: UpstreamRequestOptions): Promise<Record<string, never>> {
    return this.#request('ping', undefined, options, () => ({}));
  }

  /**
   * MCP `tools/list`. Resolves the counter's tools (`increment`, `get`) when the script says `'ok'`.
   * @throws See {@link FakeRequestBehavior}.
   */
  listTools(params?: { cursor?: string }, options?: UpstreamRequestOptions): Promise<{ tools: readonly FakeToolDescription[] }> {
    return this.#request('listTools', params, options, () => ({ tools: TOOLS }));
  }

  /**
   * MCP `prompts/list`. Resolves `{ prompts: [] }` when the script says `'ok'`.
   * @throws See {@link FakeRequestBehavior}.
   */
  listPrompts(params?: { cursor?: string }, options?: UpstreamRequestOptions): Promise<{ prompts: never[] }> {
    return this.#request('listPrompts', params, options, () => ({ prompts: [] }));
  }

  /**
   * MCP `resources/list`. Resolves `{ resources: [] }` when the script says `'ok'`.
   * @throws See {@link FakeRequestBehavior}.
   */
  listResources(params?: { cursor?: string }, options?: UpstreamRequestOptions): Promise<{ resources: never[] }> {
    return this.#request('listResources', params, options, () => ({ resources: [] }));
  }

  /**
   * MCP `tools/call` against a per-session counter, with the SDK's `callTool(params, resultSchema?, options?)`
   * shape. `increment` adds `arguments.by` (an integer, default 1) and returns the new count as text; `get`
   * returns the count. An unknown tool or a bad `by` resolves an `isError` result, as an MCP server does.
   *
   * @param params - Tool name and arguments.
   * @param _resultSchema - Ignored; accepted so SDK-style calls typecheck.
   * @param options - Request options; `signal` is honoured.
   * @throws See {@link FakeRequestBehavior} (`script.callTool`).
   * @example
   * ```ts
   * const result = await client.callTool({ name: 'increment', arguments: { by: 5 } });
   * result.content[0]?.text;   // '5'
   * ```
   */
  callTool(params: FakeCallToolParams, _resultSchema?: unknown, options?: UpstreamRequestOptions): Promise<FakeCallToolResult> {
    return this.#request('callTool', params, options, () => {
      if (params.name === 'get') return text(String(this.#count));
      if (params.name === 'increment') {
        const by = params.arguments?.by ?? 1;
        if (typeof by !== 'number' || !Number.isInteger(by)) return text('Invalid arguments: `by` must be an integer', true);
        this.#count += by;
        return text(String(this.#count));
      }
      return text(`Tool ${params.name} not found`, true);
    });
  }

  /**
   * Closes the connection on purpose (the fake session factory calls this when the registry closes the
   * connection). Pending requests reject with a ConnectionClosed-shaped error. Idempotent.
   */
  close(): Promise<void> {
    this.#shutDown(false);
    return Promise.resolve();
  }

  /**
   * Simulates the transport dying under the client: marks it closed and dropped and fails pending requests
   * with a ConnectionClosed-shaped error. Idempotent. (`FakeConnection.dropTransport()` calls this and also
   * tells the registry.)
   */
  drop(): void {
    this.#shutDown(true);
  }

  #shutDown(dropped: boolean): void {
    if (dropped) this.#dropped = true;
    if (this.#closed) return;
    this.#closed = true;
    const rejecters = [...this.#inFlight];
    this.#inFlight.clear();
    for (const reject of rejecters) reject(createConnectionClosedError());
  }

  #request<T>(method: FakeClientMethod, params: unknown, options: UpstreamRequestOptions | undefined, answer: () => T): Promise<T> {
    this.calls[method] += 1;
    this.requests.push(Object.freeze({ method, params, options }));
    const signal = options?.signal;
    if (this.#closed) return Promise.reject(createConnectionClosedError());
    if (signal?.aborted === true) return rejected(signal.reason);
    const behavior = this.script[method] ?? 'ok';
    if (behavior instanceof Error) return Promise.reject(behavior);
    switch (behavior) {
      case 'ok':
        return Promise.resolve().then(answer);
      case 'method-not-found':
        return Promise.reject(createMethodNotFoundError());
      case 'broken':
        return Promise.reject(createConnectionClosedError());
      case 'session-not-found':
        return Promise.reject(createSessionNotFoundError());
      case 'timeout':
        return this.#pending(signal, undefined, answer);
      default:
        return this.#pending(signal, behavior.delayMs, answer);
    }
  }

  /** A request that settles when `delayMs` passes (if given), its signal aborts, or the connection closes. */
  #pending<T>(signal: AbortSignal | undefined, delayMs: number | undefined, answer: () => T): Promise<T> {
    return new Promise<T>((resolve) => {
      let timer: unknown;
      const cleanup = (): void => {
        this.#inFlight.delete(fail);
        signal?.removeEventListener('abort', onAbort);
        if (timer !== undefined) this.#clock.clearTimeout(timer);
      };
      const fail = (error: unknown): void => {
        cleanup();
        resolve(rejected(error));
      };
      const onAbort = (): void => {
        fail(signal?.reason);
      };
      this.#inFlight.add(fail);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (delayMs !== undefined) {
        timer = this.#clock.setTimeout(() => {
          timer = undefined;
          cleanup();
          try {
            resolve(answer());
          } catch (error) {
            resolve(rejected(error));
          }
        }, delayMs);
      }
    });
  }
}
