// Through the SDK v2 factory the same gateway relays a modern-era (2026-07-28) upstream: no sessions
// upstream, yet every downstream session keeps its own upstream connection, and an input request the
// upstream returns mid-call (MRTR `input_required`) is asked of the downstream client that made the call —
// two clients at once, neither with a GET stream.
import { Client as V2Client, StreamableHTTPClientTransport as V2Transport } from '@modelcontextprotocol/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../examples/gateway/gateway.js';
import { createUpstreamPoolV2 } from '../../examples/gateway/upstream-pool-v2.js';
import { startModernUpstream, type ModernUpstream } from '../../examples/gateway/upstream-modern.js';
import { connectDownstream, Opened } from './fixtures.js';

let modern: ModernUpstream;
let gateway: Gateway<V2Client>;
let direct: V2Client;
const opened = new Opened();

beforeAll(async () => {
  modern = await startModernUpstream();
  gateway = await startGateway({ upstream: { id: 'weather', url: modern.url }, createUpstreamPool: createUpstreamPoolV2 });
  direct = new V2Client({ name: 'direct', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await direct.connect(new V2Transport(new URL(modern.url)));
});
afterEach(() => opened.closeAll());
afterAll(async () => {
  await direct?.close();
  await gateway?.close();
  await modern?.close();
});

describe('a modern upstream through the SDK v2 factory', () => {
  it('relays tools, prompts and resources as the upstream answers them directly', async () => {
    const { client } = await connectDownstream(gateway.url, opened, { getStream: false });
    expect((await client.listTools()).tools.map((tool) => tool.name).sort()).toEqual(
      (await direct.listTools()).tools.map((tool) => tool.name).sort(),
    );
    const forecast = { name: 'forecast', arguments: { city: 'Lima' } };
    expect((await client.callTool(forecast)).content).toEqual((await direct.callTool(forecast)).content);
    const prompt = { name: 'packing-list', arguments: { city: 'Oslo' } };
    expect((await client.getPrompt(prompt)).messages).toEqual((await direct.getPrompt(prompt)).messages);
    expect((await client.readResource({ uri: 'weather://cities' })).contents).toEqual(
      (await direct.readResource({ uri: 'weather://cities' })).contents,
    );
    expect(gateway.registry.snapshot().entries.map((entry) => entry.era)).toEqual(['modern']);
  });

  it('asks each of two concurrent clients for its own input (MRTR) and never sends an upstream DELETE', async () => {
    const asking = (date: string) => ({
      capabilities: { elicitation: {} },
      getStream: false,
      onElicit: () => ({ action: 'accept' as const, content: { date } }),
    });
    const a = await connectDownstream(gateway.url, opened, asking('monday'));
    const b = await connectDownstream(gateway.url, opened, asking('friday'));
    const [fromA, fromB] = await Promise.all([
      a.client.callTool({ name: 'book-trip', arguments: { city: 'Paris' } }),
      b.client.callTool({ name: 'book-trip', arguments: { city: 'Paris' } }),
    ]);
    expect(fromA.content).toEqual([{ type: 'text', text: 'Booked Paris on monday' }]);
    expect(fromB.content).toEqual([{ type: 'text', text: 'Booked Paris on friday' }]);
    expect([a.answered, b.answered]).toEqual([['elicitation/create'], ['elicitation/create']]);

    await a.transport.terminateSession();
    await b.transport.terminateSession();
    expect(modern.seen).not.toContain('DELETE');
  });
});
