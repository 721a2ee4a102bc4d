// The gateway's own HTTP behaviour: DNS-rebinding protection (Host and Origin), the idle TTL of downstream
// sessions that never send DELETE, and a downstream DELETE answered without waiting for upstream closes.
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../examples/gateway/gateway.js';
import { startCounterUpstream, type CounterUpstream } from '../../examples/gateway/upstream-counter.js';
import { ManualClock } from '../../src/testing/index.js';
import { connectDownstream, Opened } from './fixtures.js';

const opened = new Opened();
afterEach(() => opened.closeAll());

async function setup(options: { clock?: ManualClock; beforeDelete?: () => Promise<void>; downstreamIdleTtlMs?: number } = {}) {
  const counter: CounterUpstream = await startCounterUpstream(
    options.beforeDelete === undefined ? {} : { beforeDelete: options.beforeDelete },
  );
  opened.add(() => counter.close());
  const gateway: Gateway = await startGateway({
    upstream: { id: 'counter', url: counter.url },
    ...(options.clock !== undefined && { clock: options.clock }),
    ...(options.downstreamIdleTtlMs !== undefined && { downstreamIdleTtlMs: options.downstreamIdleTtlMs }),
  });
  opened.add(() => gateway.close());
  return { counter, gateway };
}

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

/** A raw HTTP request with exactly the Host and Origin given (fetch would not let us set Host). */
function raw(url: string, headers: Record<string, string>, path = '/mcp'): Promise<{ status: number; body: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(INITIALIZE);
  });
}

describe('Host and Origin validation (DNS rebinding)', () => {
  it('refuses a foreign Host or Origin with 403 before any session is made, and accepts its own', async () => {
    const { gateway, counter } = await setup();
    const port = new URL(gateway.url).port;

    const rebound = await raw(gateway.url, { host: `evil.example:${port}` });
    expect(rebound.status).toBe(403);
    expect(rebound.body).toContain('Invalid Host header');
    const foreignPage = await raw(gateway.url, { host: `127.0.0.1:${port}`, origin: 'http://evil.example' });
    expect(foreignPage.status).toBe(403);
    expect(foreignPage.body).toContain('Invalid Origin header');
    expect((await raw(gateway.url, { host: `evil.example:${port}` }, '/metrics')).status).toBe(403);
    expect(gateway.downstreamSessions).toBe(0);
    expect(counter.initializeCount).toBe(0);

    expect((await raw(gateway.url, { host: `localhost:${port}`, origin: `http://localhost:${port}` })).status).toBe(200);
    expect((await raw(gateway.url, { host: `127.0.0.1:${port}` })).status).toBe(200); // no Origin: not a browser
    expect(gateway.downstreamSessions).toBe(2);
  });
});

describe('downstream sessions that never send DELETE', () => {
  it('ends an idle downstream session after downstreamIdleTtlMs and evicts its upstream session', async () => {
    const clock = new ManualClock();
    const { gateway, counter } = await setup({ clock, downstreamIdleTtlMs: 60_000 });
    const { client } = await connectDownstream(gateway.url, opened, { getStream: false });
    await client.callTool({ name: 'increment', arguments: {} });
    expect([gateway.downstreamSessions, gateway.registry.size, counter.liveSessions]).toEqual([1, 1, 1]);

    const evicted = new Promise<string>((resolve) => gateway.registry.once('session:evicted', ({ reason }) => resolve(reason)));
    await clock.advance(59_999);
    expect(gateway.downstreamSessions).toBe(1);
    await clock.advance(1);
    expect(gateway.downstreamSessions).toBe(0);
    expect(await evicted).toBe('session');
    expect(gateway.registry.size).toBe(0);
    // The client comes back: its session is gone (404), as the MCP spec says, so it must initialize again.
    await expect(client.callTool({ name: 'get', arguments: {} })).rejects.toThrow(/404|Session not found/);
  });

  it('keeps a session whose client is listening on its GET stream, however long it is quiet', async () => {
    const clock = new ManualClock();
    const { gateway } = await setup({ clock, downstreamIdleTtlMs: 60_000 });
    const listening = await connectDownstream(gateway.url, opened);
    await listening.getStreamOpen;
    await clock.advance(10 * 60_000);
    expect(gateway.downstreamSessions).toBe(1);
    expect(await listening.client.callTool({ name: 'get', arguments: {} })).toEqual({ content: [{ type: 'text', text: '0' }] });
  });
});

describe('downstream DELETE', () => {
  it('is answered while the upstream session is still being closed in the background', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let arrived: () => void = () => undefined;
    const deleteArrived = new Promise<void>((resolve) => (arrived = resolve));
    const { gateway, counter } = await setup({
      beforeDelete: () => {
        arrived();
        return held; // the upstream takes its time to close the session
      },
    });
    const { client, transport } = await connectDownstream(gateway.url, opened, { getStream: false });
    await client.callTool({ name: 'increment', arguments: {} });

    await transport.terminateSession(); // answered…
    expect(gateway.downstreamSessions).toBe(0);
    await deleteArrived; // …while the upstream DELETE is in flight
    expect(counter.liveSessions).toBe(1);
    release();
  });
});
