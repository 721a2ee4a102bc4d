import { SdkError, SdkErrorCode, type Client } from '@modelcontextprotocol/client';
import { type UpstreamClient, type UpstreamRequestOptions } from '../../client.js';
import { type Clock } from '../../clock.js';
import { type ConnectionProbeOptions } from '../../factory.js';
import { ProbeTimeoutError } from '../../errors.js';
import { runProbeChain } from '../../probe.js';
import { type ProbeMethod, type ProbeResult } from '../../types.js';
import { onAbort } from '../abort.js';

/** JSON-RPC method-not-found: what the probe chain skips to the next step on. */
const METHOD_NOT_FOUND = -32601;

/**
 * v2 refuses some methods locally on an era that lacks them (`METHOD_NOT_SUPPORTED_BY_PROTOCOL_VERSION`):
 * for the probe chain that is method-not-found (the original error stays the `cause`).
 */
function asMethodNotFound(error: unknown): unknown {
  if (SdkError.isInstance(error) && error.code === SdkErrorCode.MethodNotSupportedByProtocolVersion) {
    return Object.assign(new Error(error.message, { cause: error }), { code: METHOD_NOT_FOUND });
  }
  return error;
}

function raw(client: Client, method: 'ping' | 'tools/list' | 'prompts/list' | 'resources/list', options?: UpstreamRequestOptions): Promise<unknown> {
  return client.request({ method }, options).catch((error: unknown) => {
    throw asMethodNotFound(error);
  });
}

/**
 * The probe chain's view of a legacy-era v2 client: every step a raw `client.request(...)`, so a list probe
 * always reaches the wire (v2's `listTools()` may answer from its response cache, walks every page, and
 * returns an empty list without a request when the server advertised no tools).
 */
function rawRequests(client: Client): UpstreamClient {
  return {
    ping: (options) => raw(client, 'ping', options),
    listTools: (_params, options) => raw(client, 'tools/list', options),
    listPrompts: (_params, options) => raw(client, 'prompts/list', options),
    listResources: (_params, options) => raw(client, 'resources/list', options),
  };
}

type ChainStep = Exclude<ProbeMethod, 'server/discover'>;

function isChainStep(method: ProbeMethod): method is ChainStep {
  return method !== 'server/discover';
}

/**
 * Legacy era: the registry's chain (`server/discover`, not a 2025 method, left out), each step a raw request.
 *
 * @throws `options.signal.reason` when the registry gives up on the probe; programming errors.
 */
export function probeLegacy(client: Client, options: ConnectionProbeOptions, clock: Clock): Promise<ProbeResult> {
  const steps = options.probes.filter(isChainStep);
  return runProbeChain(rawRequests(client), {
    probes: steps.length > 0 ? steps : ['ping'],
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    clock,
  });
}

/**
 * Modern era: one `server/discover` on the wire (there is no `ping`). Healthy when it answers within
 * `timeoutMs` (by the factory's clock); a timeout, a transport failure or any error is unhealthy.
 *
 * @throws `options.signal.reason` when the registry gives up on the probe.
 */
export async function probeModern(client: Client, options: ConnectionProbeOptions, clock: Clock): Promise<ProbeResult> {
  const method = 'server/discover';
  options.signal.throwIfAborted();
  const controller = new AbortController();
  const stop = onAbort(options.signal, () => controller.abort(options.signal.reason));
  let timedOut: ProbeTimeoutError | undefined;
  const timer = clock.setTimeout(() => {
    timedOut = new ProbeTimeoutError(method, options.timeoutMs);
    controller.abort(timedOut);
  }, options.timeoutMs);
  try {
    await client.discover({ signal: controller.signal, timeout: options.timeoutMs });
    return { healthy: true, method };
  } catch (error) {
    if (options.signal.aborted) throw options.signal.reason;
    return { healthy: false, method, error: timedOut ?? error };
  } finally {
    clock.clearTimeout(timer);
    stop();
  }
}
