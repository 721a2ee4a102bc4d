// "Through the gateway equals the upstream called directly": every forwarded feature of a third-party
// upstream (server-everything, its own Streamable HTTP mode on 127.0.0.1), compared side by side with a
// client of the same capabilities connected to the upstream directly.
import { type Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { relayedCapabilities } from '../../examples/gateway/downstream-server.js';
import { startGateway, type Gateway } from '../../examples/gateway/gateway.js';
import { startEverythingUpstream, type EverythingUpstream } from '../../examples/gateway/upstream-everything.js';
import { connectDownstream, Opened } from './fixtures.js';

let everything: EverythingUpstream;
let gateway: Gateway;
const opened = new Opened();

beforeAll(async () => {
  everything = await startEverythingUpstream();
  gateway = await startGateway({ upstream: { id: 'everything', url: everything.url } });
});
afterEach(() => opened.closeAll());
afterAll(async () => {
  await gateway?.close();
  await everything?.close();
});

/** A result, or the JSON-RPC error (code and message) the client got. */
async function outcome<T>(run: () => Promise<T>): Promise<T | { error: { code: unknown; message: string } }> {
  try {
    return await run();
  } catch (error) {
    return { error: { code: (error as { code?: unknown }).code, message: (error as Error).message } };
  }
}

/** One client straight to the upstream, one through the gateway, both declaring `capabilities`. */
async function pair(capabilities: ClientCapabilities): Promise<{ direct: Client; relayed: Client }> {
  const handlers = {
    capabilities,
    onSampling: () => ({ role: 'assistant' as const, model: 'test', content: { type: 'text' as const, text: 'sampled' } }),
    onElicit: () => ({ action: 'decline' as const }),
    onRoots: () => ({ roots: [] }),
  };
  const direct = await connectDownstream(everything.url, opened, handlers);
  const relayed = await connectDownstream(gateway.url, opened, handlers);
  return { direct: direct.client, relayed: relayed.client };
}

/** Runs `call` on both clients and expects the same outcome. */
async function expectSame<T>(clients: { direct: Client; relayed: Client }, call: (client: Client) => Promise<T>): Promise<T> {
  const direct = await outcome(() => call(clients.direct));
  const relayed = await outcome(() => call(clients.relayed));
  expect(relayed).toEqual(direct);
  return relayed as T;
}

const PROFILES: [string, ClientCapabilities][] = [
  ['no capabilities', {}],
  ['sampling only', { sampling: {} }],
  ['sampling, elicitation and roots', { sampling: {}, elicitation: {}, roots: {} }],
];

describe('initialize and tools, per downstream client capabilities', () => {
  it.each(PROFILES)('a client with %s sees the upstream’s capabilities, instructions and tools', async (_name, capabilities) => {
    const clients = await pair(capabilities);
    // The gateway announces what it relays of the upstream's capabilities (not tasks, not experimental).
    expect(clients.relayed.getServerCapabilities()).toEqual(relayedCapabilities(clients.direct.getServerCapabilities() ?? {}));
    expect(clients.relayed.getInstructions()).toBe(clients.direct.getInstructions());
    // server-everything offers the sampling, elicitation and roots tools only to clients that can take them.
    const { tools } = await expectSame(clients, (client) => client.listTools());
    expect(tools.some((tool) => tool.name === 'trigger-sampling-request')).toBe(capabilities.sampling !== undefined);
    expect(tools.some((tool) => tool.name === 'trigger-elicitation-request')).toBe(capabilities.elicitation !== undefined);
  });
});

describe('prompts, resources and completion', () => {
  it('lists and gets prompts as the upstream does, errors included', async () => {
    const clients = await pair({});
    const { prompts } = await expectSame(clients, (client) => client.listPrompts());
    expect(prompts.length).toBeGreaterThan(0);
    await expectSame(clients, (client) => client.getPrompt({ name: 'simple-prompt' }));
    await expectSame(clients, (client) => client.getPrompt({ name: 'args-prompt', arguments: { city: 'Paris', state: 'TX' } }));
    const missing = await expectSame(clients, (client) => client.getPrompt({ name: 'no-such-prompt' }));
    expect(missing).toMatchObject({ error: { code: -32602 } });
  });

  it('lists, reads and templates resources as the upstream does', async () => {
    const clients = await pair({});
    const { resources } = await expectSame(clients, (client) => client.listResources());
    expect(resources.length).toBeGreaterThan(0);
    for (const resource of resources.slice(0, 3)) await expectSame(clients, (client) => client.readResource({ uri: resource.uri }));
    const { resourceTemplates } = await expectSame(clients, (client) => client.listResourceTemplates());
    expect(resourceTemplates.length).toBeGreaterThan(0);
    await expectSame(clients, (client) => client.readResource({ uri: 'demo://no/such/resource' }));
  });

  it('completes prompt arguments as the upstream does', async () => {
    const clients = await pair({});
    const ref = { type: 'ref/prompt' as const, name: 'completable-prompt' };
    const first = await expectSame(clients, (client) => client.complete({ ref, argument: { name: 'department', value: 'S' } }));
    expect(first.completion.values).toEqual(['Sales', 'Support']);
    await expectSame(clients, (client) =>
      client.complete({ ref, argument: { name: 'name', value: '' }, context: { arguments: { department: 'Engineering' } } }),
    );
  });
});

describe('tools', () => {
  it('calls tools with the same results, unknown tools and bad arguments included', async () => {
    const clients = await pair({});
    await expectSame(clients, (client) => client.callTool({ name: 'echo', arguments: { message: 'hello' } }));
    await expectSame(clients, (client) => client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } }));
    await expectSame(clients, (client) => client.callTool({ name: 'get-tiny-image', arguments: {} }));
    await expectSame(clients, (client) => client.callTool({ name: 'get-structured-content', arguments: { location: 'New York' } }));
    await expectSame(clients, (client) => client.callTool({ name: 'get-sum', arguments: { a: 'two' } }));
    await expectSame(clients, (client) => client.callTool({ name: 'no-such-tool', arguments: {} }));
  });
});
