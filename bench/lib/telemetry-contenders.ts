/**
 * The loops the telemetry benchmark races on one registry: a warm hit path and a create/evict churn.
 */
import { type UpstreamClient } from '../../src/client.js';
import { UpstreamSessionRegistry } from '../../src/registry.js';
import { type SessionRequest } from '../../src/request.js';
import { MinimalFactory } from './minimal-factory.js';

/** One registry and its two loops. */
export interface Contenders {
  readonly registry: UpstreamSessionRegistry<UpstreamClient>;
  /** Creates warm session `i` (for `i` in `[0, keys)`). */
  warm(i: number): Promise<void>;
  /** `ops` × (acquire + release) on warm keys, round-robin. */
  hit(ops: number): Promise<void>;
  /** `ops` × (acquire a fresh session + release + evict it): one creation, eviction and close each. */
  churn(ops: number): Promise<void>;
}

function requests(prefix: string, count: number): SessionRequest[] {
  return Array.from({ length: count }, (_, i) => ({ downstreamSessionId: `${prefix}-${i}`, upstreamId: 'bench', url: 'http://127.0.0.1:1/mcp' }));
}

/**
 * Builds a registry for `keys` warm sessions (created by `warm`) and the loops over it.
 *
 * @param prefix - Downstream session id prefix.
 * @param keys - Warm sessions for the hit path.
 * @param churnKeys - Keys the churn loop cycles through.
 */
export async function warmContenders(prefix: string, keys: number, churnKeys: number): Promise<Contenders> {
  const registry = new UpstreamSessionRegistry<UpstreamClient>({ sessionFactory: new MinimalFactory(), maxSessions: keys + churnKeys });
  const warm = requests(prefix, keys);
  const churnRequests = requests(`${prefix}-churn`, churnKeys);
  let cursor = 0;
  let churnCursor = 0;
  return {
    registry,
    async warm(i) {
      (await registry.acquire(warm[i]!)).release();
    },
    async hit(ops) {
      for (let i = 0; i < ops; i++) {
        const lease = await registry.acquire(warm[cursor]!);
        lease.release();
        cursor = cursor + 1 === keys ? 0 : cursor + 1;
      }
    },
    async churn(ops) {
      for (let i = 0; i < ops; i++) {
        const request = churnRequests[churnCursor]!;
        (await registry.acquire(request)).release();
        await registry.evict(request);
        churnCursor = churnCursor + 1 === churnKeys ? 0 : churnCursor + 1;
      }
    },
  };
}
