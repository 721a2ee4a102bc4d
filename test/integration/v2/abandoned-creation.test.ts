import { type Client } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { SessionEvictedError } from '../../../src/errors.js';
import { createSdkV2SessionFactory } from '../../../src/mcp/v2/index.js';
import { UpstreamSessionRegistry } from '../../../src/registry.js';
import { until, useCleanup } from './fixtures/harness.js';
import { startLegacyUpstream } from './fixtures/legacy-upstream.js';

const cleanup = useCleanup();

describe('a legacy creation given up mid-handshake', () => {
  it('leaks nothing: the session its initialize opened is terminated once the answer lands', async () => {
    const upstream = await startLegacyUpstream();
    cleanup(() => upstream.close());
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let initializeSent = false;
    const fetch = async (input: string | URL, init?: RequestInit): Promise<Response> => {
      const isInitialize = typeof init?.body === 'string' && init.body.includes('"initialize"');
      const response = await globalThis.fetch(input, init);
      if (isInitialize) {
        initializeSent = true;
        await gate;
      }
      return response;
    };
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory({ fetch, era: 'legacy' }) });
    cleanup(() => registry.closeAll());

    const acquire = registry.acquire({ downstreamSessionId: 'tab', upstreamId: 'legacy', url: upstream.url });
    const outcome = acquire.then(
      () => undefined,
      (error: unknown) => error,
    );
    await until(() => initializeSent && upstream.openSessions() === 1);
    await registry.evict({ downstreamSessionId: 'tab', upstreamId: 'legacy' });
    expect(await outcome).toBeInstanceOf(SessionEvictedError);
    release();

    await until(() => upstream.openSessions() === 0);
    expect(upstream.traffic.countHttp('DELETE')).toBe(1);
    expect(registry.size).toBe(0);
  });
});
