// A stdio upstream through the gateway: server-everything in its stdio mode, one child process per
// downstream session, relayed like an HTTP upstream (tools as the HTTP mode lists them for the same
// capabilities; sampling to the right client).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../examples/gateway/gateway.js';
import { everythingStdio, startEverythingUpstream, type EverythingUpstream } from '../../examples/gateway/upstream-everything.js';
import { connectDownstream, Opened } from './fixtures.js';

let overHttp: EverythingUpstream;
let gateway: Gateway;
const opened = new Opened();

beforeAll(async () => {
  overHttp = await startEverythingUpstream();
  gateway = await startGateway({ upstream: { id: 'everything-stdio', ...everythingStdio() } });
});
afterEach(() => opened.closeAll());
afterAll(async () => {
  await gateway?.close();
  await overHttp?.close();
});

const sampling = (name: string) => ({
  capabilities: { sampling: {} },
  getStream: false,
  onSampling: () => ({ role: 'assistant' as const, model: 'test', content: { type: 'text' as const, text: `sampled by ${name}` } }),
});

describe('a stdio upstream', () => {
  it('gives each downstream session its own process and relays sampling to the client that caused it', async () => {
    const a = await connectDownstream(gateway.url, opened, sampling('A'));
    const b = await connectDownstream(gateway.url, opened, sampling('B'));
    const reference = await connectDownstream(overHttp.url, opened, sampling('A'));
    expect((await a.client.listTools()).tools.map((tool) => tool.name)).toEqual(
      (await reference.client.listTools()).tools.map((tool) => tool.name),
    );

    const call = (client: typeof a) => client.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hi', maxTokens: 3 } });
    const [fromA, fromB] = await Promise.all([call(a), call(b)]);
    expect(JSON.stringify(fromA)).toContain('sampled by A');
    expect(JSON.stringify(fromB)).toContain('sampled by B');
    const entries = gateway.registry.snapshot().entries;
    expect(entries.map((entry) => entry.transport)).toEqual(['stdio', 'stdio']);
    expect(new Set(entries.map((entry) => entry.key.downstreamSessionId)).size).toBe(2);
  });
});
