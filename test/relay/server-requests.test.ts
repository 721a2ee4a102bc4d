// Sampling, elicitation and roots requests from the upstream reach the one downstream client whose session
// caused them — two clients at once, and for sampling and elicitation clients that never open a GET stream
// (the request must come back on the downstream request's own response stream: relatedRequestId, SPEC §11).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../examples/gateway/gateway.js';
import { startEverythingUpstream, type EverythingUpstream } from '../../examples/gateway/upstream-everything.js';
import { connectDownstream, Opened, type DownstreamOptions } from './fixtures.js';

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

/** A downstream client named `name` whose answers say who answered. */
function answering(name: string, getStream: boolean, capabilities: DownstreamOptions['capabilities'] = { sampling: {}, elicitation: {}, roots: {} }): DownstreamOptions {
  return {
    capabilities,
    getStream,
    onSampling: () => ({ role: 'assistant', model: `model-of-${name}`, content: { type: 'text', text: `sampled by ${name}` } }),
    onElicit: () => ({ action: 'accept', content: { name: `user-${name}` } }),
    onRoots: () => ({ roots: [{ uri: `file:///workspace-${name}`, name: `root-${name}` }] }),
  };
}

const text = (result: unknown): string =>
  ((result as { content?: { text?: string }[] }).content ?? []).map((part) => part.text ?? '').join('\n');

describe('server→client requests go to the downstream client that caused them', () => {
  it('relays sampling to each of two concurrent clients that never open a GET stream', async () => {
    const a = await connectDownstream(gateway.url, opened, answering('A', false, { sampling: {} }));
    const b = await connectDownstream(gateway.url, opened, answering('B', false, { sampling: {} }));
    const call = (client: typeof a) =>
      client.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hello', maxTokens: 5 } });
    const [fromA, fromB] = await Promise.all([call(a), call(b)]);
    expect(text(fromA)).toContain('sampled by A');
    expect(text(fromA)).not.toContain('sampled by B');
    expect(text(fromB)).toContain('sampled by B');
    expect(text(fromB)).not.toContain('sampled by A');
    expect(a.answered).toEqual(['sampling/createMessage']);
    expect(b.answered).toEqual(['sampling/createMessage']);
    expect([a.gets(), b.gets()]).toEqual([0, 0]); // nothing ever reached the gateway over GET
  });

  it('relays elicitation to each of two concurrent clients that never open a GET stream', async () => {
    const a = await connectDownstream(gateway.url, opened, answering('A', false));
    const b = await connectDownstream(gateway.url, opened, answering('B', false));
    const call = (client: typeof a) => client.client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
    const [fromA, fromB] = await Promise.all([call(a), call(b)]);
    expect(text(fromA)).toContain('user-A');
    expect(text(fromA)).not.toContain('user-B');
    expect(text(fromB)).toContain('user-B');
    expect(text(fromB)).not.toContain('user-A');
  });

  it('relays roots requests (sent on the upstream’s event stream) to the right client', async () => {
    const a = await connectDownstream(gateway.url, opened, answering('A', true));
    const b = await connectDownstream(gateway.url, opened, answering('B', true));
    await Promise.all([a.getStreamOpen, b.getStreamOpen]);
    const call = (client: typeof a) => client.client.callTool({ name: 'get-roots-list', arguments: {} });
    const [fromA, fromB] = await Promise.all([call(a), call(b)]);
    expect(text(fromA)).toContain('file:///workspace-A');
    expect(text(fromA)).not.toContain('workspace-B');
    expect(text(fromB)).toContain('file:///workspace-B');
    expect(text(fromB)).not.toContain('workspace-A');
  });

  it('gives a client the same sampling result through the gateway as from the upstream directly', async () => {
    const options = answering('A', false);
    const direct = await connectDownstream(everything.url, opened, options);
    const relayed = await connectDownstream(gateway.url, opened, options);
    const call = (client: typeof direct) =>
      client.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'same', maxTokens: 7 } });
    expect(await call(relayed)).toEqual(await call(direct));
  });
});
