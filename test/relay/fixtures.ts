// Downstream SDK clients for the relay tests: connected to the example gateway or straight to an upstream,
// with chosen capabilities and, optionally, without a GET event stream. Every client is tracked and closed.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  type ClientCapabilities,
  type CreateMessageResult,
  type ElicitResult,
  type ListRootsResult,
} from '@modelcontextprotocol/sdk/types.js';

export interface DownstreamOptions {
  /** Capabilities the client declares. @default {} */
  capabilities?: ClientCapabilities;
  /** `false`: the client never opens a GET stream (its GETs are answered 405 before they leave). @default true */
  getStream?: boolean;
  /** Answers for server→client requests; each is registered only if its capability is declared. */
  onSampling?: () => CreateMessageResult;
  onElicit?: () => ElicitResult;
  onRoots?: () => ListRootsResult;
}

export interface Downstream {
  readonly client: Client;
  readonly transport: StreamableHTTPClientTransport;
  /** GET requests that reached the network. */
  readonly gets: () => number;
  /** Resolves when the GET event stream is open (never, with `getStream: false`). */
  readonly getStreamOpen: Promise<void>;
  /** Server→client requests this client answered, by method. */
  readonly answered: string[];
}

/** Tracks what a test opened; `closeAll()` in `afterEach`. */
export class Opened {
  readonly #closers: (() => Promise<unknown>)[] = [];

  add(close: () => Promise<unknown>): void {
    this.#closers.push(close);
  }

  async closeAll(): Promise<void> {
    const closers = this.#closers.splice(0).reverse();
    for (const close of closers) await close().catch(() => undefined);
  }
}

/** Connects an SDK v1 client to `url` (the gateway or an upstream). */
export async function connectDownstream(url: string, opened: Opened, options: DownstreamOptions = {}): Promise<Downstream> {
  const { capabilities = {}, getStream = true } = options;
  let gets = 0;
  let markOpen: () => void = () => undefined;
  const getStreamOpen = new Promise<void>((resolve) => (markOpen = resolve));
  const fetchImpl: FetchLike = async (input, init) => {
    if (init?.method !== 'GET') return fetch(input, init);
    if (!getStream) return new Response(null, { status: 405 }); // "no GET stream offered": the SDK stops trying
    gets += 1;
    const response = await fetch(input, init);
    if (response.ok) markOpen();
    return response;
  };
  const client = new Client({ name: 'downstream', version: '1.0.0' }, { capabilities });
  const answered: string[] = [];
  if (capabilities.sampling !== undefined && options.onSampling !== undefined) {
    const answer = options.onSampling;
    client.setRequestHandler(CreateMessageRequestSchema, () => (answered.push('sampling/createMessage'), answer()));
  }
  if (capabilities.elicitation !== undefined && options.onElicit !== undefined) {
    const answer = options.onElicit;
    client.setRequestHandler(ElicitRequestSchema, () => (answered.push('elicitation/create'), answer()));
  }
  if (capabilities.roots !== undefined && options.onRoots !== undefined) {
    const answer = options.onRoots;
    client.setRequestHandler(ListRootsRequestSchema, () => (answered.push('roots/list'), answer()));
  }
  const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: fetchImpl });
  await client.connect(transport);
  opened.add(async () => {
    await transport.terminateSession().catch(() => undefined);
    await client.close();
  });
  return { client, transport, gets: () => gets, getStreamOpen, answered };
}

/** Resolves with the first value `next` is called with for which `accept` holds. */
export function waitFor<T>(subscribe: (next: (value: T) => void) => void, accept: (value: T) => boolean = () => true): Promise<T> {
  return new Promise<T>((resolve) => subscribe((value) => accept(value) && resolve(value)));
}
