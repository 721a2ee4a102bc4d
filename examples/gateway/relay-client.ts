/**
 * The one thing the relay handlers need of an upstream client, whichever MCP SDK made it: forward a request
 * of a relayed method and return the upstream's result untouched, plus a few session-level calls. The SDK
 * v1 adapter forwards with a loose result schema, so nothing the upstream sent is stripped on the way (the
 * downstream client validates the result as it would from the upstream directly).
 */
import { type Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ResultSchema, type ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { type RelayedProgress } from '../../src/relay.js';

/** Requests the gateway relays from a downstream client to its upstream session, unchanged. */
export const RELAYED_METHODS = [
  'tools/list',
  'tools/call',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'completion/complete',
  'logging/setLevel',
] as const;
export type RelayedMethod = (typeof RELAYED_METHODS)[number];

/** Options of one relayed call. */
export interface RelayCallOptions {
  /** Aborted when the downstream client cancels (the SDK then sends `notifications/cancelled` upstream). */
  signal: AbortSignal;
  /** Set when the downstream client asked for progress (see `relayProgress`). */
  onprogress?: (progress: RelayedProgress) => void;
}

export interface RelayClient {
  /** The SDK client underneath: one per upstream session (an identity, e.g. for a `WeakMap`). */
  readonly identity: object;
  /** Sends `method` with `params` upstream and returns the upstream's result as it came. */
  forward(method: RelayedMethod, params: Record<string, unknown> | undefined, options: RelayCallOptions): Promise<Record<string, unknown>>;
  /** Tells the upstream the downstream client's roots changed. */
  sendRootsListChanged(): Promise<void>;
  /** What the upstream announced in `initialize` (or `server/discover`). */
  serverCapabilities(): ServerCapabilities | undefined;
  instructions(): string | undefined;
}

/** The {@link RelayClient} of an SDK v1 `Client`. */
export function relayClientV1(client: Client): RelayClient {
  return {
    identity: client,
    forward: (method, params, options) =>
      client.request(params === undefined ? { method } : { method, params }, ResultSchema, options),
    sendRootsListChanged: () => client.sendRootsListChanged(),
    serverCapabilities: () => client.getServerCapabilities(),
    instructions: () => client.getInstructions(),
  };
}
