// README "Writing the gateway side": progress and cancellation. Type-checked with `tsc -p examples/tsconfig.json`.
import { type Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { type SessionRequest, type UpstreamSessionRegistry } from '../../src/index.js'; // 'mcp-upstream-sessions'
import { relayProgress, toDownstreamError } from '../../src/relay.js'; // 'mcp-upstream-sessions'

declare const server: Server; // the downstream session's SDK server
declare const registry: UpstreamSessionRegistry;
declare function upstreamFor(downstreamSessionId: string | undefined): SessionRequest;

server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
  try {
    return await registry.withSession(upstreamFor(extra.sessionId), (client) =>
      client.callTool(request.params, undefined, {
        signal: extra.signal, // downstream cancel → the SDK aborts the call and sends notifications/cancelled upstream
        ...relayProgress(extra), // upstream progress → notifications/progress with the downstream's own token
      }),
    );
  } catch (error) {
    throw toDownstreamError(error); // the upstream's JSON-RPC error as it was; nothing else leaks
  }
});
