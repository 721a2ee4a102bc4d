import { type Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  type ClientCapabilities,
  type ClientResult,
} from '@modelcontextprotocol/sdk/types.js';
import { type SessionKey } from '../../request.js';
import { type McpServerRequest, type McpServerRequestHandler, type McpServerRequestMethod } from '../server-request.js';

/**
 * Registers SDK request handlers that relay server→client requests to `handler`, for each of sampling,
 * elicitation and roots that `capabilities` advertises (the SDK refuses a handler for a capability the client
 * does not declare; an undeclared one is answered with method-not-found by the SDK).
 */
export function relayServerRequests(
  client: Client,
  key: SessionKey,
  capabilities: ClientCapabilities,
  handler: McpServerRequestHandler,
): void {
  const relay =
    (method: McpServerRequestMethod) =>
    async (request: { params?: unknown }, extra: { signal: AbortSignal }): Promise<ClientResult> => {
      const forwarded: McpServerRequest = request.params === undefined ? { method } : { method, params: request.params };
      // The SDK validates sampling and elicitation results against their schemas before sending them.
      return (await handler(key, forwarded, { signal: extra.signal })) as ClientResult;
    };
  if (capabilities.sampling !== undefined) client.setRequestHandler(CreateMessageRequestSchema, relay('sampling/createMessage'));
  if (capabilities.elicitation !== undefined) client.setRequestHandler(ElicitRequestSchema, relay('elicitation/create'));
  if (capabilities.roots !== undefined) client.setRequestHandler(ListRootsRequestSchema, relay('roots/list'));
}
