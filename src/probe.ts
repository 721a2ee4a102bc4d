/**
 * The health-probe chain: a pure function over an {@link UpstreamClient} that tells whether a session still
 * answers (SPEC §4.3).
 *
 * @packageDocumentation
 */

import { isMethodNotFound, isProgrammingError, isTransportError } from './classify/index.js';
import { type UpstreamClient, type UpstreamRequestOptions } from './client.js';
import { systemClock, type Clock } from './clock.js';
import { InvalidOptionsError, ProbeTimeoutError } from './errors.js';
import { PROBE_STEPS, type ProbeMethod, type ProbeResult } from './types.js';

export type { ProbeMethod, ProbeResult } from './types.js';

/** Every method {@link runProbeChain} accepts as a step: the registry's chain steps and `'server/discover'`. */
const PROBE_CHAIN_METHODS: ReadonlySet<string> = new Set<string>([...PROBE_STEPS, 'server/discover']);

/** Longest probe timeout: the largest delay a timer can hold (about 24.8 days). */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** Options of {@link runProbeChain}. */
export interface ProbeChainOptions {
  /**
   * Steps, in order: `'ping'`, `'tools/list'`, `'prompts/list'`, `'resources/list'`, `'server/discover'`
   * (sent through the client's `discover()` when it has one, as the SDK v2 client does; method-not-found
   * otherwise) and `'skip'`.
   */
  probes: readonly ProbeMethod[];
  /** Timeout of each step, in milliseconds (an integer from 1). A step that times out makes the session unhealthy. */
  timeoutMs: number;
  /** Abandons the whole chain; it rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** Time source for step timeouts. @default systemClock */
  clock?: Clock | undefined;
}

/** A client that can send `server/discover` (the SDK v2 `Client` can). */
interface DiscoveringClient {
  discover(options?: UpstreamRequestOptions): Promise<unknown>;
}

function canDiscover(client: UpstreamClient): client is UpstreamClient & DiscoveringClient {
  return typeof (client as Partial<DiscoveringClient>).discover === 'function';
}

/** What a client without `discover()` answers to a `'server/discover'` step: method-not-found. */
function methodNotFound(): Error {
  return Object.assign(new Error('MCP error -32601: server/discover is not supported by this client'), {
    name: 'McpError',
    code: -32601,
  });
}

function send(client: UpstreamClient, method: Exclude<ProbeMethod, 'skip'>, options: UpstreamRequestOptions): Promise<unknown> {
  switch (method) {
    case 'ping':
      return client.ping(options);
    case 'tools/list':
      return client.listTools(undefined, options);
    case 'prompts/list':
      return client.listPrompts(undefined, options);
    case 'resources/list':
      return client.listResources(undefined, options);
    case 'server/discover':
      return canDiscover(client) ? client.discover(options) : Promise.reject(methodNotFound());
  }
}

type StepOutcome = { ok: true } | { ok: false; error: unknown; timedOut: boolean };

/** Runs one step with its own fresh AbortSignal (the SDK leaks a listener per request on a shared one). */
function step(
  client: UpstreamClient,
  method: Exclude<ProbeMethod, 'skip'>,
  timeoutMs: number,
  clock: Clock,
  outer: AbortSignal | undefined,
): Promise<StepOutcome> {
  return new Promise<StepOutcome>((resolve, reject) => {
    const controller = new AbortController();
    let settled = false;
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      clock.clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
      return true;
    };
    const onAbort = (): void => {
      if (!finish()) return;
      controller.abort(outer?.reason);
      reject(outer?.reason);
    };
    const timer = clock.setTimeout(() => {
      if (!finish()) return;
      const error = new ProbeTimeoutError(method, timeoutMs);
      controller.abort(error);
      resolve({ ok: false, error, timedOut: true });
    }, timeoutMs);
    outer?.addEventListener('abort', onAbort, { once: true });
    let pending: Promise<unknown>;
    try {
      pending = send(client, method, { signal: controller.signal, timeout: timeoutMs });
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      () => {
        if (finish()) resolve({ ok: true });
      },
      (error: unknown) => {
        if (finish()) resolve({ ok: false, error, timedOut: false });
      },
    );
  });
}

function show(value: unknown): string {
  if (typeof value === 'string') return `\`${JSON.stringify(value).slice(0, 64)}\` (string)`;
  if (typeof value === 'number') return `\`${String(value)}\` (number)`;
  return `\`${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}\``;
}

/** Checks the options before anything is sent; throws {@link InvalidOptionsError}. */
function validate(options: unknown): ProbeChainOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('options', `Expected probe chain options to be an object, got ${show(options)}`);
  }
  const { probes, timeoutMs, signal, clock } = options as Partial<Record<keyof ProbeChainOptions, unknown>>;
  if (!Array.isArray(probes)) {
    throw new InvalidOptionsError('probes', `Expected \`probes\` to be an array of probe methods, got ${show(probes)}`);
  }
  for (const method of probes as unknown[]) {
    if (typeof method !== 'string' || !PROBE_CHAIN_METHODS.has(method)) {
      throw new InvalidOptionsError(
        'probes',
        `Expected every \`probes\` entry to be one of ${[...PROBE_CHAIN_METHODS].map((m) => `'${m}'`).join(', ')}, got ${show(method)}`,
      );
    }
  }
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new InvalidOptionsError(
      'timeoutMs',
      `Expected \`timeoutMs\` to be an integer from 1 to ${MAX_TIMEOUT_MS}, got ${show(timeoutMs)}`,
    );
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidOptionsError('signal', `Expected \`signal\` to be an AbortSignal, got ${show(signal)}`);
  }
  if (
    clock !== undefined &&
    (typeof clock !== 'object' ||
      clock === null ||
      typeof (clock as Partial<Clock>).setTimeout !== 'function' ||
      typeof (clock as Partial<Clock>).clearTimeout !== 'function')
  ) {
    throw new InvalidOptionsError('clock', `Expected \`clock\` to be a Clock, got ${show(clock)}`);
  }
  return options as ProbeChainOptions;
}

/**
 * Checks that an upstream session still answers, trying `probes` in order.
 *
 * Per step: success → healthy. JSON-RPC method-not-found (-32601, or SDK v2's local
 * `METHOD_NOT_SUPPORTED_BY_PROTOCOL_VERSION`) → next step. Timeout → unhealthy, with a
 * {@link ProbeTimeoutError} (the MCP spec says a timeout SHOULD be treated as a connection failure). A
 * transport failure or any other MCP error → unhealthy at once. `'skip'` → healthy. Chain exhausted →
 * unhealthy. Programming errors (a `TypeError` that is not a network failure, `ReferenceError`, …) are
 * rethrown rather than reported as unhealthy, so a bug does not turn into endless reconnects.
 *
 * Each step gets a fresh `AbortSignal`. The options are checked before anything is sent.
 *
 * @param client - The session's client.
 * @param options - The steps, the per-step timeout, an optional signal and clock.
 * @returns The step that decided, and the error when unhealthy.
 * @throws {@link InvalidOptionsError} (rejects) for an unknown probe name, a `timeoutMs` that is not an
 *   integer from 1, or a bad `signal` / `clock` — before any request. `options.signal.reason` when
 *   `options.signal` aborts; programming errors from the client.
 * @example
 * ```ts
 * const result = await runProbeChain(client, { probes: ['ping', 'tools/list'], timeoutMs: 2_000 });
 * if (!result.healthy) console.warn(`upstream unhealthy at ${result.method}`);
 * ```
 */
export async function runProbeChain(client: UpstreamClient, options: ProbeChainOptions): Promise<ProbeResult> {
  const { probes, timeoutMs, signal } = validate(options);
  const clock = options.clock ?? systemClock;
  let last: { method: ProbeMethod; error: unknown } | undefined;
  for (const method of probes) {
    signal?.throwIfAborted();
    if (method === 'skip') return { healthy: true, method };
    const outcome = await step(client, method, timeoutMs, clock, signal);
    if (outcome.ok) return { healthy: true, method };
    const { error } = outcome;
    if (!outcome.timedOut && isMethodNotFound(error)) {
      last = { method, error };
      continue;
    }
    if (!outcome.timedOut && !isTransportError(error) && isProgrammingError(error)) throw error;
    return { healthy: false, method, error };
  }
  const method = last?.method ?? probes[probes.length - 1] ?? 'ping';
  return {
    healthy: false,
    method,
    error: last?.error ?? new Error('Health probe chain is empty'),
  };
}
