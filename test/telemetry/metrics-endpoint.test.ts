import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetricsEndpoint, type MetricsEndpoint } from '../../examples/gateway/metrics.js';
import { UpstreamSessionRegistry } from '../../src/index.js';
import { FakeSessionFactory, ManualClock, type FakeUpstreamClient } from '../../src/testing/index.js';

// The example gateway's `/metrics`: the registry's metrics in the Prometheus text format, served on a loopback
// server the test owns (issue #14: "the demo gateway exposes /metrics").

let server: Server | undefined;
let endpoint: MetricsEndpoint | undefined;
afterEach(async () => {
  await endpoint?.close();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
  endpoint = undefined;
});

describe('example gateway /metrics', () => {
  it('serves the pool metrics as Prometheus text, without downstream session ids or URL paths', async () => {
    const clock = new ManualClock();
    const registry = new UpstreamSessionRegistry<FakeUpstreamClient>({ sessionFactory: new FakeSessionFactory({ clock }), clock });
    endpoint = createMetricsEndpoint(registry, { 'service.instance.id': 'gw-1' });
    const metrics = endpoint;
    server = createServer((req, res) => void metrics.handle(req, res));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;

    const request = { downstreamSessionId: 'down-secret-id', upstreamId: 'counter', url: 'http://127.0.0.1:3001/mcp/private-path?k=v' };
    for (let i = 0; i < 3; i++) (await registry.acquire(request)).release();
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    const text = await response.text();

    expect(response.status).toBe(200);
    expect(text).toMatch(/^mcp_upstream_sessions\{.*state="ready".*\} 1$/m);
    expect(text).toMatch(/^mcp_upstream_session_creates_total\{.*outcome="ok".*\} 1$/m);
    expect(text).toMatch(/^mcp_upstream_session_reuses_total\{.*\} 2$/m);
    expect(text).toContain('service_instance_id="gw-1"');
    expect(text).toContain('server_address="127.0.0.1",server_port="3001"');
    expect(text).not.toContain('down-secret-id');
    expect(text).not.toContain('private-path');
    await registry.closeAll();
  });
});
