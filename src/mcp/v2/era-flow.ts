import { ProtocolError, SdkError, SdkErrorCode, SdkHttpError, type Client, type ConnectOptions, type DiscoverResult } from '@modelcontextprotocol/client';
import { EraProbeAbandonedError, type EraResolver } from '../../eras/resolver.js';
import { type EraVerdict } from '../../eras/store.js';
import { raceSignal } from '../abort.js';

/** How one creation connects its client. */
export type EraPlan =
  | { readonly kind: 'legacy' }
  | { readonly kind: 'pinned-modern' }
  | { readonly kind: 'prior'; readonly verdict: EraVerdict }
  | { readonly kind: 'probe' };

/** The revision `era: 'modern'` pins. */
export const MODERN_REVISION = '2026-07-28';

/** The client's `versionNegotiation` for a plan (`undefined`: the SDK's default, the plain legacy handshake). */
export function negotiationFor(plan: EraPlan): { mode: 'auto' } | { mode: { pin: string } } | undefined {
  if (plan.kind === 'probe') return { mode: 'auto' };
  if (plan.kind === 'pinned-modern') return { mode: { pin: MODERN_REVISION } };
  return undefined;
}

/** The `connect()` options for a plan: the cached verdict as the SDK's `prior`. */
export function connectOptionsFor(plan: EraPlan): ConnectOptions | undefined {
  if (plan.kind !== 'prior') return undefined;
  return plan.verdict.era === 'modern'
    ? { prior: { kind: 'modern', discover: plan.verdict.discover as DiscoverResult } }
    : { prior: { kind: 'legacy' } };
}

/** Whether a plan connects with zero round trips (a cached modern verdict). */
export function isZeroRoundTrip(plan: EraPlan): boolean {
  return plan.kind === 'prior' && plan.verdict.era === 'modern';
}

/**
 * Connects one creation for a plan. `onAttempt` receives the SDK's own `client.connect` promise as soon as it
 * starts: it goes on (bounded) when the creation is given up, so a shared probe can still finish.
 */
export type EraConnector<T> = (plan: EraPlan, onAttempt: (attempt: Promise<void>, client: Client) => void) => Promise<T>;

/** JSON-RPC errors a server answers a revision it does not speak with: unsupported version, header mismatch. */
const REFUSED_VERSION_CODES: ReadonlySet<number> = new Set([-32022, -32020]);

/**
 * Whether a connect failed because the cached verdict no longer matches the server: the SDK refused a modern
 * verdict locally (`ERA_NEGOTIATION_FAILED`), or the server refused the revision the verdict made us speak
 * (-32022 / -32020, in-band or in an HTTP error body) — a legacy verdict for a server that went modern-only.
 */
function verdictRefused(error: unknown): boolean {
  if (SdkError.isInstance(error) && error.code === SdkErrorCode.EraNegotiationFailed) return true;
  if (ProtocolError.isInstance(error)) return REFUSED_VERSION_CODES.has(error.code);
  if (SdkHttpError.isInstance(error)) {
    const text = (error.data as { text?: unknown }).text;
    if (typeof text !== 'string') return false;
    try {
      const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
      return typeof code === 'number' && REFUSED_VERSION_CODES.has(code);
    } catch {
      return false;
    }
  }
  return false;
}

/** What a finished probe connection says about the server. */
function learnt(client: Client): { era: 'legacy' } | { era: 'modern'; discover: Record<string, unknown> } {
  const discover = client.getDiscoverResult();
  return client.getProtocolEra() === 'modern' && discover !== undefined ? { era: 'modern', discover: discover } : { era: 'legacy' };
}

/** Probes the era on this creation's own connect; concurrent creations of the key wait for its verdict. */
async function probeAndConnect<T>(resolver: EraResolver, key: string, signal: AbortSignal, connect: EraConnector<T>): Promise<T> {
  const shared = resolver.begin(key);
  let attached = false;
  try {
    return await connect({ kind: 'probe' }, (attempt, client) => {
      attached = true;
      attempt.then(
        async () => shared.resolve(await resolver.record(key, learnt(client))),
        (error: unknown) => shared.reject(signal.aborted ? new EraProbeAbandonedError() : error),
      );
    });
  } catch (error) {
    if (!attached) shared.reject(signal.aborted ? new EraProbeAbandonedError() : error);
    throw error;
  }
}

/**
 * `era: 'auto'` (SPEC §8): wait for a probe of the key already in flight in this process, else use the cached
 * verdict, else probe. A cached verdict that no longer matches the server — a modern one the SDK refuses
 * locally (`ERA_NEGOTIATION_FAILED`), or one whose revision the server refuses (-32022 / -32020, e.g. a legacy
 * verdict for a server that went modern-only) — is deleted and the creation probes once more. A shared probe
 * whose prober gave up sends its waiters round again.
 *
 * @throws `signal.reason` when the creation is given up; the connect's error otherwise.
 */
export async function connectAuto<T>(resolver: EraResolver, key: string, signal: AbortSignal, connect: EraConnector<T>): Promise<T> {
  let healed = false;
  for (let round = 0; round < 8; round += 1) {
    signal.throwIfAborted();
    const inflight = resolver.inflight(key);
    if (inflight !== undefined) {
      let verdict: EraVerdict;
      try {
        verdict = await raceSignal(inflight.verdict, signal);
      } catch (error) {
        if (error instanceof EraProbeAbandonedError) continue;
        throw error;
      }
      return connect({ kind: 'prior', verdict }, () => undefined);
    }
    const cached = await raceSignal(resolver.lookup(key), signal);
    if (cached === undefined) {
      // Another creation may have started probing while the store answered: join it rather than probe twice.
      if (resolver.inflight(key) !== undefined) continue;
      return probeAndConnect(resolver, key, signal, connect);
    }
    try {
      return await connect({ kind: 'prior', verdict: cached }, () => undefined);
    } catch (error) {
      if (healed || signal.aborted || !verdictRefused(error)) throw error;
      // The cached verdict no longer matches the server: forget it and probe once.
      healed = true;
      await resolver.forget(key);
    }
  }
  return probeAndConnect(resolver, key, signal, connect);
}
