// README "Writing the gateway side": relay sampling / elicitation / roots on the downstream request's own stream.
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ErrorCode, McpError, ResultSchema, type RequestId, type ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { createMcpSessionFactory, UpstreamSessionRegistry } from '../../src/index.js'; // 'mcp-upstream-sessions'

declare const downstreamServers: Map<string, Server>; // by downstream Mcp-Session-Id

/** The downstream request a piece of upstream work belongs to. */
const downstreamRequest = new AsyncLocalStorage<{ sessionId: string; requestId: RequestId }>();

const registry = new UpstreamSessionRegistry({
  sessionFactory: createMcpSessionFactory({
    // Runs in the async context of the upstream call that caused the request (SPEC §11).
    onServerRequest: (key, request, { signal }) => {
      const server = downstreamServers.get(key.downstreamSessionId);
      if (server === undefined) throw new McpError(ErrorCode.InvalidRequest, 'The downstream session has ended');
      const current = downstreamRequest.getStore();
      // Only ever this session's request: relatedRequestId puts it on that request's response stream,
      // the one stream a client without a GET stream reads.
      const related = current?.sessionId === key.downstreamSessionId ? { relatedRequestId: current.requestId } : {};
      return server.request(request as ServerRequest, ResultSchema, { signal, ...related });
    },
  }),
});

// Around every downstream request handler:
export function relayed<T>(extra: { sessionId?: string | undefined; requestId: RequestId }, work: () => Promise<T>): Promise<T> {
  if (extra.sessionId === undefined) return work();
  return downstreamRequest.run({ sessionId: extra.sessionId, requestId: extra.requestId }, work);
}

export { registry };
