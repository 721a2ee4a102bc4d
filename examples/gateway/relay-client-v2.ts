/**
 * The {@link RelayClient} of an SDK v2 `Client` (`@modelcontextprotocol/client`), as made by the SDK v2
 * factory (`mcp-upstream-sessions/sdk-v2`) for legacy and modern (2026-07-28) upstreams alike. It uses the
 * typed methods, which know both eras (a modern upstream's input requests come back as multi-round-trip
 * results that the client resolves through the factory's `onServerRequest`). List calls bypass v2's
 * response cache: a relay passes the upstream's current answer on.
 */
import { type Client } from '@modelcontextprotocol/client';
import { type RelayClient } from './relay-client.js';

type Params<M extends keyof Client> = Client[M] extends (params: infer P, ...rest: never[]) => unknown ? P : never;

export function relayClientV2(client: Client): RelayClient {
  const fresh = { cacheMode: 'bypass' as const };
  return {
    identity: client,
    async forward(method, params, options) {
      const p = params ?? {};
      switch (method) {
        case 'tools/list':
          return client.listTools(p, { ...options, ...fresh });
        case 'tools/call':
          return client.callTool(p as Params<'callTool'>, options);
        case 'prompts/list':
          return client.listPrompts(p, { ...options, ...fresh });
        case 'prompts/get':
          return client.getPrompt(p as Params<'getPrompt'>, options);
        case 'resources/list':
          return client.listResources(p, { ...options, ...fresh });
        case 'resources/templates/list':
          return client.listResourceTemplates(p, { ...options, ...fresh });
        case 'resources/read':
          return client.readResource(p as Params<'readResource'>, { ...options, ...fresh });
        case 'resources/subscribe':
          return client.subscribeResource(p as Params<'subscribeResource'>, options);
        case 'resources/unsubscribe':
          return client.unsubscribeResource(p as Params<'unsubscribeResource'>, options);
        case 'completion/complete':
          return client.complete(p as Params<'complete'>, options);
        case 'logging/setLevel':
          return client.setLoggingLevel((p as { level: Params<'setLoggingLevel'> }).level, options);
      }
    },
    sendRootsListChanged: () => client.sendRootsListChanged(),
    serverCapabilities: () => client.getServerCapabilities(),
    instructions: () => client.getInstructions(),
  };
}
