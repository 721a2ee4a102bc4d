/**
 * The gateway's upstream side over the SDK v2 factory, for upstreams of both protocol eras (2026-07-28
 * included): `startGateway({ upstream, createUpstreamPool: createUpstreamPoolV2 })`.
 */
import { type Client } from '@modelcontextprotocol/client';
// In your gateway: import { createSdkV2SessionFactory } from 'mcp-upstream-sessions/sdk-v2';
import { UpstreamSessionRegistry } from '../../src/index.js';
import { createSdkV2SessionFactory } from '../../src/mcp/v2/index.js';
import { toDownstreamError } from '../../src/relay.js';
import { relayClientV2 } from './relay-client-v2.js';
import { type UpstreamPool, type UpstreamPoolOptions } from './upstream-pool.js';

export function createUpstreamPoolV2(options: UpstreamPoolOptions): UpstreamPool<Client> {
  const registry = new UpstreamSessionRegistry<Client>({
    ...options.registryOptions,
    clock: options.clock,
    sessionFactory: createSdkV2SessionFactory({ clientInfo: options.clientInfo, onServerRequest: options.onServerRequest }),
  });
  return {
    registry,
    call: (request, fn) =>
      registry.withSession(request, (client) => fn(relayClientV2(client))).catch((error: unknown) => {
        throw toDownstreamError(error);
      }),
  };
}
