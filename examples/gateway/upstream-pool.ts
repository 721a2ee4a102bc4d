/**
 * The gateway's upstream side: one `UpstreamSessionRegistry` whose factory relays server→client requests to
 * the right downstream client, and `call`, which runs a relay step on the downstream session's own upstream
 * session and turns failures into the JSON-RPC error the downstream client gets.
 */
import { type Client } from '@modelcontextprotocol/sdk/client/index.js';
// In your gateway: import { … } from 'mcp-upstream-sessions';
import {
  createMcpSessionFactory,
  UpstreamSessionRegistry,
  type Clock,
  type McpServerRequestHandler,
  type RegistryOptions,
  type SessionRequest,
  type UpstreamClient,
} from '../../src/index.js';
import { toDownstreamError } from '../../src/relay.js';
import { relayClientV1, type RelayClient } from './relay-client.js';

export interface UpstreamPool<C extends UpstreamClient> {
  readonly registry: UpstreamSessionRegistry<C>;
  /**
   * Runs `fn` on the upstream session of `request`'s key. A transport error evicts that session (the next call
   * builds a fresh one); every failure rejects with the error to answer the downstream request with.
   */
  call<T>(request: SessionRequest, fn: (client: RelayClient) => Promise<T>): Promise<T>;
}

export interface UpstreamPoolOptions {
  readonly clock: Clock;
  readonly clientInfo: { name: string; version: string };
  readonly onServerRequest: McpServerRequestHandler;
  readonly registryOptions?: Omit<RegistryOptions<UpstreamClient>, 'sessionFactory' | 'clock'>;
}

/** An upstream pool over the SDK v1 factory (legacy-era upstreams). */
export function createUpstreamPoolV1(options: UpstreamPoolOptions): UpstreamPool<Client> {
  const registry = new UpstreamSessionRegistry<Client>({
    ...options.registryOptions,
    clock: options.clock,
    sessionFactory: createMcpSessionFactory({ clientInfo: options.clientInfo, onServerRequest: options.onServerRequest }),
  });
  return {
    registry,
    call: (request, fn) =>
      registry.withSession(request, (client) => fn(relayClientV1(client))).catch((error: unknown) => {
        throw toDownstreamError(error);
      }),
  };
}
