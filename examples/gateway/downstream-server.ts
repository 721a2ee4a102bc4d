/**
 * The downstream-facing MCP server of one downstream session: every request a downstream client can send to
 * an MCP server is relayed to that session's own upstream session and the upstream's answer comes back as it
 * was. It announces what the upstream announced (for the features it relays), so a downstream client sees
 * the upstream's features, and only those.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  RootsListChangedNotificationSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type Implementation,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
// In your gateway: import { relayProgress } from 'mcp-upstream-sessions';
import { relayProgress } from '../../src/relay.js';
import { type RelayClient, type RelayedMethod } from './relay-client.js';
import { downstreamRequest } from './request-context.js';

/** Runs `fn` with the downstream session's upstream client; rejects with the error to send downstream. */
export type UpstreamCall = <T>(fn: (client: RelayClient) => Promise<T>) => Promise<T>;

export interface DownstreamServerOptions {
  /** The downstream session's `Mcp-Session-Id`. */
  readonly sessionId: string;
  readonly serverInfo: Implementation;
  /** What the upstream announced; the downstream server announces the relayed part of it. */
  readonly upstreamCapabilities: ServerCapabilities;
  readonly instructions?: string | undefined;
  readonly call: UpstreamCall;
  /** Ids of this session's downstream requests in flight (kept up to date here; read by the relay). */
  readonly inFlight: Set<string | number>;
  /** Upstream session state the client set up (kept up to date here), replayed on a rebuilt upstream session. */
  readonly state: UpstreamSessionState;
}

/**
 * What a downstream client set up on its upstream session: lost when the upstream session is rebuilt (after a
 * transport error, an idle probe that failed, an upstream restart), so the gateway sets it up again.
 */
export interface UpstreamSessionState {
  logLevel?: string;
  readonly subscriptions: Set<string>;
}

/** Replays `state` on a fresh upstream session. */
export async function replayState(client: RelayClient, state: UpstreamSessionState, signal: AbortSignal): Promise<void> {
  if (state.logLevel !== undefined) await client.forward('logging/setLevel', { level: state.logLevel }, { signal });
  for (const uri of state.subscriptions) await client.forward('resources/subscribe', { uri }, { signal });
}

/** Records what a successful relayed request set up. */
function remember(state: UpstreamSessionState, method: RelayedMethod, params: Record<string, unknown> | undefined): void {
  const value = method === 'logging/setLevel' ? params?.level : params?.uri;
  if (typeof value !== 'string') return;
  if (method === 'logging/setLevel') state.logLevel = value;
  else if (method === 'resources/subscribe') state.subscriptions.add(value);
  else if (method === 'resources/unsubscribe') state.subscriptions.delete(value);
}

/** Each relayed request: its SDK schema and the server capability it needs. */
const HANDLERS: readonly { method: RelayedMethod; schema: typeof ListToolsRequestSchema; capability: keyof ServerCapabilities }[] = [
  { method: 'tools/list', schema: ListToolsRequestSchema, capability: 'tools' },
  { method: 'tools/call', schema: CallToolRequestSchema, capability: 'tools' },
  { method: 'prompts/list', schema: ListPromptsRequestSchema, capability: 'prompts' },
  { method: 'prompts/get', schema: GetPromptRequestSchema, capability: 'prompts' },
  { method: 'resources/list', schema: ListResourcesRequestSchema, capability: 'resources' },
  { method: 'resources/templates/list', schema: ListResourceTemplatesRequestSchema, capability: 'resources' },
  { method: 'resources/read', schema: ReadResourceRequestSchema, capability: 'resources' },
  { method: 'resources/subscribe', schema: SubscribeRequestSchema, capability: 'resources' },
  { method: 'resources/unsubscribe', schema: UnsubscribeRequestSchema, capability: 'resources' },
  { method: 'completion/complete', schema: CompleteRequestSchema, capability: 'completions' },
  { method: 'logging/setLevel', schema: SetLevelRequestSchema, capability: 'logging' },
] as unknown as readonly { method: RelayedMethod; schema: typeof ListToolsRequestSchema; capability: keyof ServerCapabilities }[];

/** The server capabilities the gateway relays; others (tasks, experimental) are not announced. */
const RELAYED_CAPABILITIES = ['tools', 'prompts', 'resources', 'completions', 'logging'] as const;

export function relayedCapabilities(upstream: ServerCapabilities): ServerCapabilities {
  const capabilities: ServerCapabilities = {};
  for (const name of RELAYED_CAPABILITIES) if (upstream[name] !== undefined) capabilities[name] = upstream[name];
  return capabilities;
}

export function createDownstreamServer(options: DownstreamServerOptions): Server {
  const { sessionId, serverInfo, upstreamCapabilities, instructions, call, inFlight, state } = options;
  const capabilities = relayedCapabilities(upstreamCapabilities);
  const server = new Server(serverInfo, { capabilities, ...(instructions !== undefined && { instructions }) });

  for (const { method, schema, capability } of HANDLERS) {
    if (capabilities[capability] === undefined) continue;
    server.setRequestHandler(schema, async (request, extra) => {
      inFlight.add(extra.requestId);
      const params = request.params as Record<string, unknown> | undefined;
      try {
        // The async context that lets a server→client request from the upstream find this request (§11).
        const result = await downstreamRequest.run({ sessionId, requestId: extra.requestId }, () =>
          call((client) =>
            client.forward(method, params, {
              signal: extra.signal, // a downstream cancel aborts the upstream call (and cancels it upstream)
              ...relayProgress(extra), // upstream progress, re-sent with the downstream's progress token
            }),
          ),
        );
        remember(state, method, params);
        return result;
      } finally {
        inFlight.delete(extra.requestId);
      }
    });
  }

  // The downstream client's roots changed: tell its upstream session (it may ask for them again).
  server.setNotificationHandler(RootsListChangedNotificationSchema, () => {
    call((client) => client.sendRootsListChanged()).catch(() => undefined);
  });
  return server;
}
