import { type Client } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createSdkV2SessionFactory } from '../../../src/mcp/v2/index.js';
import { UpstreamSessionRegistry } from '../../../src/registry.js';
import { startLegacyUpstream, type LegacyUpstream } from './fixtures/legacy-upstream.js';
import { startModernUpstream, type ModernUpstream } from './fixtures/modern-upstream.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function text(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((block) => block.text ?? '').join('');
}

describe('a mixed fleet through one registry (SDK v2 factory)', () => {
  it('reaches modern-only, dual-era and legacy-only upstreams, shows each era, and opens one legacy session per downstream session', async () => {
    const modern: ModernUpstream = await startModernUpstream();
    const dual: ModernUpstream = await startModernUpstream({ dualEra: true });
    const legacy: LegacyUpstream = await startLegacyUpstream();
    cleanups.push(() => modern.close(), () => dual.close(), () => legacy.close());
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory() });
    cleanups.push(() => registry.closeAll());

    const upstreams = [
      { upstreamId: 'modern', url: modern.url },
      { upstreamId: 'dual', url: dual.url },
      { upstreamId: 'legacy', url: legacy.url },
    ];
    const results: Record<string, string[]> = {};
    for (const downstreamSessionId of ['tab-a', 'tab-b']) {
      for (const upstream of upstreams) {
        const result = await registry.withSession({ downstreamSessionId, ...upstream }, (client) => client.callTool({ name: 'count', arguments: {} }));
        (results[upstream.upstreamId] ??= []).push(text(result));
      }
    }

    const eras = Object.fromEntries(registry.snapshot().entries.map((entry) => [`${entry.key.downstreamSessionId}/${entry.key.upstreamId}`, entry.era]));
    expect(eras).toEqual({
      'tab-a/modern': 'modern',
      'tab-a/dual': 'modern',
      'tab-a/legacy': 'legacy',
      'tab-b/modern': 'modern',
      'tab-b/dual': 'modern',
      'tab-b/legacy': 'legacy',
    });
    expect(registry.snapshot().entries.find((entry) => entry.era === 'modern')?.protocolVersion).toBe('2026-07-28');
    expect(results.legacy).toEqual(['1', '1']); // one session each: no state shared between the tabs
    expect(legacy.traffic.count('initialize')).toBe(2);
    expect(modern.traffic.count('initialize')).toBe(0);
    expect(modern.traffic.count('server/discover')).toBe(1);
    expect(dual.traffic.count('server/discover')).toBe(1);

    await registry.closeAll();
    expect(legacy.traffic.countHttp('DELETE')).toBe(2);
    expect(legacy.openSessions()).toBe(0);
    expect(modern.traffic.countHttp('DELETE')).toBe(0);
  });
});
