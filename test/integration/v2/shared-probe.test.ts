import { type Client } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { createSdkV2SessionFactory } from '../../../src/mcp/v2/index.js';
import { UpstreamSessionRegistry } from '../../../src/registry.js';
import { until, useCleanup } from './fixtures/harness.js';
import { startModernUpstream } from './fixtures/modern-upstream.js';

const cleanup = useCleanup();

describe('one era probe shared by concurrent creations of a key', () => {
  it('is not aborted when the creation that started it is given up: the others still get their session', async () => {
    const upstream = await startModernUpstream();
    cleanup(() => upstream.close());
    // Holds the answer to server/discover until the test lets it through.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let discoverSent = false;
    const fetch = async (input: string | URL, init?: RequestInit): Promise<Response> => {
      const isDiscover = typeof init?.body === 'string' && init.body.includes('"server/discover"');
      const response = await globalThis.fetch(input, init);
      if (isDiscover) {
        discoverSent = true;
        await gate;
      }
      return response;
    };
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory({ fetch, listen: false }) });
    cleanup(() => registry.closeAll());

    const first = registry.acquire({ downstreamSessionId: 'tab-1', upstreamId: 'modern', url: upstream.url });
    const firstOutcome = first.then(
      () => 'ok',
      () => 'given up',
    );
    await until(() => discoverSent);
    const second = registry.acquire({ downstreamSessionId: 'tab-2', upstreamId: 'modern', url: upstream.url });
    await registry.evict({ downstreamSessionId: 'tab-1', upstreamId: 'modern' });
    expect(await firstOutcome).toBe('given up');
    release();

    const lease = await second;
    expect(lease.info.era).toBe('modern');
    lease.release();
    expect(upstream.traffic.count('server/discover')).toBe(1);
  });
});
