import { type Client, type ClientCapabilities } from '@modelcontextprotocol/client';
import { type SessionKey } from '../../request.js';
import { type McpServerRequest, type McpServerRequestHandler, type McpServerRequestMethod } from '../server-request.js';

/** What the relay hands back to the SDK, which validates it against the method's result schema. */
type RelayResult = Record<string, unknown>;

/**
 * Registers v2 request handlers that relay `sampling/createMessage`, `elicitation/create` and `roots/list` to
 * `handler`, for each capability `capabilities` declares (v2 refuses a handler for an undeclared one).
 *
 * The same handlers serve both eras: a legacy upstream sends them as server→client requests; on a modern
 * connection v2 fulfils multi-round-trip `input_required` results through them, inside the call — so the
 * handler runs in the async context of the call that caused it either way.
 */
export function relayServerRequests(client: Client, key: SessionKey, capabilities: ClientCapabilities, handler: McpServerRequestHandler): void {
  const relay =
    (method: McpServerRequestMethod) =>
    async (request: { params?: unknown }, ctx: { mcpReq: { signal: AbortSignal } }): Promise<RelayResult> => {
      const forwarded: McpServerRequest = request.params === undefined ? { method } : { method, params: request.params };
      return (await handler(key, forwarded, { signal: ctx.mcpReq.signal })) as RelayResult;
    };
  if (capabilities.sampling !== undefined) client.setRequestHandler('sampling/createMessage', relay('sampling/createMessage') as never);
  if (capabilities.elicitation !== undefined) client.setRequestHandler('elicitation/create', relay('elicitation/create') as never);
  if (capabilities.roots !== undefined) client.setRequestHandler('roots/list', relay('roots/list') as never);
}
