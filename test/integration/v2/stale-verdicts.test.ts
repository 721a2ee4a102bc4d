import { type Client } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { eraKey } from '../../../src/eras/key.js';
import { createSdkV2SessionFactory, InMemoryEraStore } from '../../../src/mcp/v2/index.js';
import { UpstreamSessionRegistry } from '../../../src/registry.js';
import { ManualClock } from '../../../src/testing/index.js';
import { text, useCleanup } from './fixtures/harness.js';
import { startLegacyUpstream } from './fixtures/legacy-upstream.js';
import { startModernUpstream } from './fixtures/modern-upstream.js';

const cleanup = useCleanup();
const LEGACY_TTL_MS = 60_000;

describe('stale era verdicts heal', () => {
  it('finds a legacy upstream replaced by a modern one on the same URL once legacyVerdictTtlMs has passed', async () => {
    const clock = new ManualClock();
    const legacy = await startLegacyUpstream(undefined, { keepAlive: false });
    const url = legacy.url;
    const registry = new UpstreamSessionRegistry<Client>({
      sessionFactory: createSdkV2SessionFactory({ clock, legacyVerdictTtlMs: LEGACY_TTL_MS, listen: false }),
    });
    cleanup(() => registry.closeAll());
    const lease = await registry.acquire({ downstreamSessionId: 'tab-1', upstreamId: 'svc', url });
    expect(lease.info.era).toBe('legacy');
    lease.release();
    await registry.evictUpstream('svc');
    await legacy.close();

    const modern = await startModernUpstream({ port: legacy.port });
    cleanup(() => modern.close());
    await clock.advance(LEGACY_TTL_MS);
    const result = await registry.withSession({ downstreamSessionId: 'tab-2', upstreamId: 'svc', url }, async (client, info) => {
      expect(info.era).toBe('modern');
      return client.callTool({ name: 'count', arguments: {} });
    });
    expect(text(result)).toBe('modern:1');
    expect(modern.traffic.count('server/discover')).toBe(1);
    expect(modern.traffic.count('initialize')).toBe(0);
  });

  it('re-probes once, and succeeds, when a cached modern verdict no longer matches the server', async () => {
    const upstream = await startModernUpstream();
    cleanup(() => upstream.close());
    const clock = new ManualClock(Date.now());
    const eraStore = new InMemoryEraStore({ clock });
    const key = eraKey({ transport: 'streamable-http', url: upstream.url }, {});
    // What an older deployment of the server advertised: a revision this client does not speak.
    await eraStore.set(key, { era: 'modern', discover: { supportedVersions: ['2099-01-01'], capabilities: { tools: {} } }, checkedAt: clock.now() }, 3_600_000);
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory({ clock, eraStore, listen: false }) });
    cleanup(() => registry.closeAll());

    const result = await registry.withSession({ downstreamSessionId: 'tab', upstreamId: 'svc', url: upstream.url }, (client) => client.callTool({ name: 'count', arguments: {} }));
    expect(text(result)).toBe('modern:1');
    expect(upstream.traffic.count('server/discover')).toBe(1);
    const healed = await eraStore.get(key);
    expect(healed?.era === 'modern' && healed.discover.supportedVersions).toEqual(['2026-07-28']);
  });

  it('deletes a modern verdict when the server on that URL turned legacy, so the next creation re-probes', async () => {
    const modern = await startModernUpstream({ keepAlive: false });
    const url = modern.url;
    const eraStore = new InMemoryEraStore();
    const key = eraKey({ transport: 'streamable-http', url }, {});
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory({ eraStore, listen: false }) });
    cleanup(() => registry.closeAll());
    await registry.withSession({ downstreamSessionId: 'tab-1', upstreamId: 'svc', url }, () => undefined);
    expect((await eraStore.get(key))?.era).toBe('modern');
    await modern.close();
    const legacy = await startLegacyUpstream(modern.port);
    cleanup(() => legacy.close());

    // Made from the cached verdict with zero round trips; the legacy server refuses the session-less call.
    await expect(
      registry.withSession({ downstreamSessionId: 'tab-2', upstreamId: 'svc', url }, (client) => client.callTool({ name: 'count', arguments: {} })),
    ).rejects.toThrow();
    expect(await eraStore.get(key)).toBeUndefined();

    const result = await registry.withSession({ downstreamSessionId: 'tab-3', upstreamId: 'svc', url }, async (client, info) => {
      expect(info.era).toBe('legacy');
      return client.callTool({ name: 'count', arguments: {} });
    });
    expect(text(result)).toBe('1');
    expect(legacy.traffic.count('server/discover')).toBe(1);
  });

  it('heals a legacy verdict at once when the server on that URL went modern-only (-32022 on initialize)', async () => {
    const legacy = await startLegacyUpstream(undefined, { keepAlive: false });
    const url = legacy.url;
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory({ listen: false }) });
    cleanup(() => registry.closeAll());
    await registry.withSession({ downstreamSessionId: 'tab-1', upstreamId: 'svc', url }, () => undefined);
    await registry.evictUpstream('svc');
    await legacy.close();
    const modern = await startModernUpstream({ port: legacy.port });
    cleanup(() => modern.close());

    const result = await registry.withSession({ downstreamSessionId: 'tab-2', upstreamId: 'svc', url }, async (client, info) => {
      expect(info.era).toBe('modern');
      return client.callTool({ name: 'count', arguments: {} });
    });
    expect(text(result)).toBe('modern:1');
    expect(modern.traffic.count('initialize')).toBe(1);
    expect(modern.traffic.count('server/discover')).toBe(1);
  });
});
