// README "Writing the gateway side": announce upstream what this downstream client can do.
import { type InitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { type SessionRequest, type UpstreamSessionRegistry } from '../../src/index.js'; // 'mcp-upstream-sessions'

declare const registry: UpstreamSessionRegistry;
declare const initialize: InitializeRequest; // the downstream client's initialize request
declare const downstreamSessionId: string; // the Mcp-Session-Id the gateway assigns it

// Keep what the client declared with its downstream session, and send it with every acquire for that session:
// the factory announces it upstream (intersected with what your onServerRequest relays), so an upstream never
// offers a client a tool that needs sampling it cannot do.
const request: SessionRequest = {
  downstreamSessionId,
  upstreamId: 'everything',
  url: 'http://127.0.0.1:3001/mcp',
  clientCapabilities: { ...initialize.params.capabilities },
};
export const upstreamTools = registry.withSession(request, (client) => client.listTools());
