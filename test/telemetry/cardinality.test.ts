import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamSessionRegistry, type SessionRequest } from '../../src/index.js';
import { FakeSessionFactory, ManualClock, createConnectionRefusedError, type FakeUpstreamClient } from '../../src/testing/index.js';
import { findSecrets } from '../support/capture.js';
import { setupTelemetry, type Telemetry } from './harness.js';

// SPEC §10 / issue #14 Test 4: attributes never include downstream session ids or URLs with paths beyond host
// and port, so the number of series does not grow with downstream sessions.

const URL_WITH_SECRETS = 'https://usr-SECRET:pw-SECRET@api.example.com:8443/mcp/tenant-PATH?api_key=tok-SECRET';
const SECRETS = ['usr-SECRET', 'pw-SECRET', 'tok-SECRET', 'tenant-PATH', 'hdr-SECRET-1', 'env-SECRET-2', 'arg-SECRET-3'];

let telemetry: Telemetry | undefined;
afterEach(async () => {
  await telemetry?.shutdown();
  telemetry = undefined;
});

/** Drives `downstreams` downstream sessions through creates, reuses, probes, a failure and evictions. */
async function drive(downstreams: number): Promise<{ attributes: Record<string, unknown>[]; ids: string[]; series: number }> {
  const clock = new ManualClock();
  const factory = new FakeSessionFactory({ clock });
  const registry = new UpstreamSessionRegistry<FakeUpstreamClient>({ sessionFactory: factory, clock, idleValidationMs: 1_000 });
  telemetry = setupTelemetry(registry);
  const ids = Array.from({ length: downstreams }, (_, i) => `downstream-session-${i}`);
  const http = (id: string): SessionRequest => ({
    downstreamSessionId: id,
    upstreamId: 'github',
    url: URL_WITH_SECRETS,
    headers: { authorization: 'Bearer hdr-SECRET-1' },
  });
  const stdio = (id: string): SessionRequest => ({
    downstreamSessionId: id,
    upstreamId: 'memory',
    transport: 'stdio',
    command: '/opt/servers/memory',
    args: ['--key', 'arg-SECRET-3'],
    env: { TOKEN: 'env-SECRET-2' },
  });
  for (const id of ids) {
    (await registry.acquire(http(id))).release();
    (await registry.acquire(http(id))).release();
    (await registry.acquire(stdio(id))).release();
  }
  factory.nextCreate('fail', createConnectionRefusedError('github'));
  await expect(registry.acquire(http('downstream-failing'))).rejects.toThrow();
  await clock.advance(1_500);
  for (const id of ids) (await registry.acquire(http(id))).release();
  await registry.evictSession(ids[0]!);
  const metrics = await telemetry.collect();
  await registry.closeAll();
  const attributes: Record<string, unknown>[] = [];
  let series = 0;
  for (const metric of metrics.values()) {
    for (const point of metric.dataPoints) {
      attributes.push(point.attributes);
      series += 1;
    }
  }
  for (const span of telemetry.finished()) attributes.push(span.attributes);
  return { attributes, ids: [...ids, 'downstream-failing'], series };
}

describe('telemetry cardinality', () => {
  it('attributes never contain a downstream session id, a URL path, a query or a secret', async () => {
    const { attributes, ids } = await drive(5);
    expect(attributes.length).toBeGreaterThan(10);
    expect(findSecrets([...ids, ...SECRETS, '/opt/servers'], attributes)).toEqual([]);
    for (const set of attributes) {
      for (const value of Object.values(set)) {
        if (typeof value === 'string') expect(value).not.toMatch(/[/?@]/);
      }
      if (set['server.address'] !== undefined) expect(set).toMatchObject({ 'server.address': 'api.example.com', 'server.port': 8443 });
      if (set['mcp_upstream.upstream.id'] === 'memory') {
        expect(set['network.transport']).toBe('pipe');
        expect(set['server.address']).toBeUndefined();
      }
    }
  });

  it('the number of series does not grow with the number of downstream sessions', async () => {
    const few = await drive(2);
    await telemetry?.shutdown();
    telemetry = undefined;
    const many = await drive(20);
    expect(many.series).toBe(few.series);
  });
});
