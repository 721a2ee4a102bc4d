import { type Client } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { isTransportError } from '../../../src/classify/index.js';
import { eraKey } from '../../../src/eras/key.js';
import { type EraStore, type EraVerdict } from '../../../src/eras/store.js';
import { InvalidOptionsError } from '../../../src/errors.js';
import { createSdkV2SessionFactory, InMemoryEraStore } from '../../../src/mcp/v2/index.js';
import { UpstreamSessionRegistry } from '../../../src/registry.js';
import { serveFetch } from './fixtures/http-server.js';
import { useCleanup } from './fixtures/harness.js';
import { startModernUpstream } from './fixtures/modern-upstream.js';

const cleanup = useCleanup();

/** Counts every store call. */
class CountingStore implements EraStore {
  calls = 0;
  readonly inner = new InMemoryEraStore();
  get(key: string): Promise<EraVerdict | undefined> {
    this.calls += 1;
    return this.inner.get(key);
  }
  set(key: string, verdict: EraVerdict, ttlMs: number): Promise<void> {
    this.calls += 1;
    return this.inner.set(key, verdict, ttlMs);
  }
  delete(key: string): Promise<void> {
    this.calls += 1;
    return this.inner.delete(key);
  }
}

describe('the era option', () => {
  it("'legacy' and 'modern' pin the era and never read or write the store", async () => {
    const upstream = await startModernUpstream({ dualEra: true });
    cleanup(() => upstream.close());
    for (const era of ['legacy', 'modern'] as const) {
      const eraStore = new CountingStore();
      const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory({ era, eraStore, listen: false }) });
      cleanup(() => registry.closeAll());
      const shown = await registry.withSession({ downstreamSessionId: 'tab', upstreamId: 'dual', url: upstream.url }, (_client, info) => info.era);
      expect(shown).toBe(era);
      expect(eraStore.calls).toBe(0);
    }
  });

  it('rejects unknown and mistyped options with InvalidOptionsError', () => {
    for (const options of [
      { eraa: 'auto' },
      { era: 'future' },
      { legacyVerdictTtlMs: 0 },
      { modernVerdictTtlMs: 1.5 },
      { eraStore: {} },
      { clock: { now: () => 0 } },
      { listen: 'yes' },
      { inheritEnv: ['NOT-A-NAME'] },
      { onServerRequest: 42 },
      { clientInfo: { name: 'x' } },
      { closeConcurrency: 0 },
    ]) {
      expect(() => createSdkV2SessionFactory(options as never), JSON.stringify(options)).toThrow(InvalidOptionsError);
    }
    expect(() => createSdkV2SessionFactory(null as never)).toThrow(InvalidOptionsError);
  });
});

describe('-32022 on a connection made from a cached verdict', () => {
  it('deletes the verdict, and the error is a transport error', async () => {
    const upstream = await startModernUpstream();
    cleanup(() => upstream.close());
    // A proxy in front of the upstream that, once switched, answers every call as a server that dropped 2026-07-28.
    let refuse = false;
    const proxy = await serveFetch(async (request) => {
      const body = await request.text();
      if (refuse && body.includes('"tools/call"')) {
        const id = (JSON.parse(body) as { id: number }).id;
        return Response.json({ jsonrpc: '2.0', id, error: { code: -32022, message: 'Unsupported protocol version', data: { supported: ['2099-01-01'] } } });
      }
      return fetch(upstream.url, { method: request.method, headers: request.headers, ...(body.length > 0 && { body }) });
    });
    cleanup(() => proxy.close());
    const eraStore = new InMemoryEraStore();
    const key = eraKey({ transport: 'streamable-http', url: proxy.url }, {});
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory({ eraStore, listen: false }) });
    cleanup(() => registry.closeAll());
    await registry.withSession({ downstreamSessionId: 'tab-1', upstreamId: 'svc', url: proxy.url }, () => undefined);
    expect((await eraStore.get(key))?.era).toBe('modern');

    refuse = true;
    let failure: unknown;
    await registry
      .withSession({ downstreamSessionId: 'tab-2', upstreamId: 'svc', url: proxy.url }, (client) => client.callTool({ name: 'count', arguments: {} }))
      .catch((error: unknown) => {
        failure = error;
      });
    expect(failure).toBeDefined();
    expect(isTransportError(failure)).toBe(true);
    expect(await eraStore.get(key)).toBeUndefined();
  });
});

describe('structured output', () => {
  it('is validated against the tool’s output schema with one validator per upstream, in every session', async () => {
    const upstream = await startModernUpstream();
    cleanup(() => upstream.close());
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory({ listen: false }) });
    cleanup(() => registry.closeAll());
    for (const tab of ['tab-a', 'tab-b']) {
      const result = await registry.withSession({ downstreamSessionId: tab, upstreamId: 'modern', url: upstream.url }, async (client) => {
        await client.listTools();
        return client.callTool({ name: 'stats', arguments: {} });
      });
      expect(result.structuredContent).toEqual({ calls: 0 });
    }
  });
});
