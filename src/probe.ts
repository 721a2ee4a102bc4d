import { isMethodNotFound, isProgrammingError, isTransportError } from './classify/index.js';
import { type UpstreamClient, type UpstreamRequestOptions } from './client.js';
import { systemClock, type Clock } from './clock.js';

/** One step of the health-probe chain. `'skip'` counts as healthy and ends the chain. */
export type ProbeMethod = 'ping' | 'tools/list' | 'prompts/list' | 'resources/list' | 'skip';

/** Every valid {@link ProbeMethod}. */
export const PROBE_METHODS: readonly ProbeMethod[] = Object.freeze([
  'ping',
  'tools/list',
  'prompts/list',
  'resources/list',
  'skip',
] as const);

/** Options of {@link runProbeChain}. */
export interface ProbeChainOptions {
  /** Steps, in order. */
  probes: readonly ProbeMethod[];
  /** Timeout of each step, in milliseconds. A step that times out makes the session unhealthy. */
  timeoutMs: number;
  /** Abandons the whole chain; it rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Time source for step timeouts. @default systemClock */
  clock?: Clock;
}

/** Outcome of {@link runProbeChain}: the step that decided it, and the error when unhealthy. */
export type ProbeResult =
  | { healthy: true; method: ProbeMethod }
  | { healthy: false; method: ProbeMethod; error: unknown };

/** Raised internally when a probe step exceeds `timeoutMs`; reported as the `error` of an unhealthy result. */
export class ProbeTimeoutError extends Error {
  override readonly name = 'ProbeTimeoutError';
  constructor(
    readonly method: ProbeMethod,
    readonly timeoutMs: number,
  ) {
    super(`Health probe ${method} timed out after ${timeoutMs} ms`);
  }
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

/**
 * Checks that an upstream session still answers, trying `probes` in order.
 *
 * Per step: success → healthy. JSON-RPC method-not-found (-32601) → next step. Timeout → unhealthy (the MCP
 * spec says a timeout SHOULD be treated as a connection failure). A transport failure or any other MCP error
 * → unhealthy at once. `'skip'` → healthy. Chain exhausted → unhealthy. Programming errors (a `TypeError`
 * that is not a network failure, `ReferenceError`, …) are rethrown rather than reported as unhealthy, so a
 * bug does not turn into endless reconnects.
 *
 * Each step gets a fresh `AbortSignal`.
 *
 * @throws `options.signal.reason` when `options.signal` aborts; programming errors from the client.
 * @example
 * ```ts
 * const result = await runProbeChain(client, { probes: ['ping', 'tools/list'], timeoutMs: 2_000 });
 * if (!result.healthy) console.warn(`upstream unhealthy at ${result.method}`);
 * ```
 */
export async function runProbeChain(client: UpstreamClient, options: ProbeChainOptions): Promise<ProbeResult> {
  const { probes, timeoutMs, signal } = options;
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
