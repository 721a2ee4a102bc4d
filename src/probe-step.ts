import { withDeadline } from './async.js';
import { isProgrammingError, isTransportError } from './classify/index.js';
import { type UpstreamClient } from './client.js';
import { type Clock } from './clock.js';
import { ProbeTimeoutError } from './errors.js';
import { type UpstreamConnection } from './factory.js';
import { runProbeChain } from './probe.js';
import { type ProbeResult, type ProbeStep } from './types.js';

/** Options of {@link runSessionProbe}. */
export interface SessionProbeOptions {
  readonly probes: readonly ProbeStep[];
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly clock: Clock;
}

function isProbeResult(value: unknown): value is ProbeResult {
  return typeof value === 'object' && value !== null && typeof (value as { healthy?: unknown }).healthy === 'boolean';
}

/**
 * Probes one live session: with the connection's own `probe` when it has one (bounded by
 * `probes.length × timeoutMs`, a rejection judged by the chain's rules), else with {@link runProbeChain} over
 * its client.
 *
 * @throws `signal.reason` when `signal` aborts; programming errors (a bug in the client or the probe).
 * @example
 * ```ts
 * const result = await runSessionProbe(connection, { probes: ['ping'], timeoutMs: 5_000, signal, clock });
 * ```
 */
export async function runSessionProbe<C>(connection: UpstreamConnection<C>, options: SessionProbeOptions): Promise<ProbeResult> {
  const { probes, timeoutMs, signal, clock } = options;
  if (typeof connection.probe !== 'function') {
    return runProbeChain(connection.client as unknown as UpstreamClient, { probes, timeoutMs, signal, clock });
  }
  const boundMs = Math.max(1, probes.length) * timeoutMs;
  const method = probes[0] ?? 'ping';
  const outcome = await withDeadline(clock, boundMs, () => connection.probe?.({ probes, timeoutMs, signal }));
  signal.throwIfAborted();
  if (outcome.status === 'timeout') return { healthy: false, method, error: new ProbeTimeoutError(method, boundMs) };
  if (outcome.status === 'error') {
    const { error } = outcome;
    if (!isTransportError(error) && isProgrammingError(error)) throw error;
    return { healthy: false, method, error };
  }
  if (!isProbeResult(outcome.value)) throw new TypeError('UpstreamConnection.probe resolved without a ProbeResult ({ healthy, method })');
  return outcome.value;
}
