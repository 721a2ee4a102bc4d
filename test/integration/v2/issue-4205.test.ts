import { type Client } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { createSdkV2SessionFactory } from '../../../src/mcp/v2/index.js';
import { UpstreamSessionRegistry } from '../../../src/registry.js';
import { text, useCleanup } from './fixtures/harness.js';
import { startLegacyUpstream } from './fixtures/legacy-upstream.js';

const cleanup = useCleanup();

describe('#4205 through the SDK v2 factory on a legacy upstream', () => {
  it('keeps two downstream sessions of one user apart: A reads 5, B reads 3', async () => {
    const upstream = await startLegacyUpstream();
    cleanup(() => upstream.close());
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory() });
    cleanup(() => registry.closeAll());
    const count = (downstreamSessionId: string) =>
      registry.withSession({ downstreamSessionId, upstreamId: 'counter', url: upstream.url, principal: 'same-user' }, (client) =>
        client.callTool({ name: 'count', arguments: {} }),
      );
    const seen: Record<string, string> = {};
    for (let i = 0; i < 5; i += 1) seen.A = text(await count('A'));
    for (let i = 0; i < 3; i += 1) seen.B = text(await count('B'));
    expect(seen).toEqual({ A: '5', B: '3' });
    expect(upstream.traffic.count('initialize')).toBe(2);
  });
});
