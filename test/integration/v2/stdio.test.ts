import { type Client } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { createSdkV2SessionFactory } from '../../../src/mcp/v2/index.js';
import { UpstreamSessionRegistry } from '../../../src/registry.js';
import { counterRequest, reap, recordedPids, survivors, tempDir } from '../../stdio/helpers.js';
import { text, useCleanup } from './fixtures/harness.js';

const cleanup = useCleanup();

describe('stdio upstreams through the SDK v2 factory', () => {
  it('gives each downstream session its own process (A reads 5, B reads 3), spawns nothing extra for the era, and reaps every process', async () => {
    const dir = tempDir();
    cleanup(() => dir.cleanup());
    const pidFile = dir.file('pids');
    cleanup(() => reap(recordedPids(pidFile).servers));
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory() });
    cleanup(() => registry.closeAll());

    const seen: Record<string, string> = {};
    const eras: Record<string, string | undefined> = {};
    for (const [tab, calls] of [
      ['A', 5],
      ['B', 3],
    ] as const) {
      for (let i = 0; i < calls; i += 1) {
        seen[tab] = await registry.withSession(counterRequest(tab, pidFile), async (client, info) => {
          eras[tab] = info.era;
          return text(await client.callTool({ name: 'increment', arguments: {} }));
        });
      }
    }
    expect(seen).toEqual({ A: '5', B: '3' });
    expect(eras).toEqual({ A: 'legacy', B: 'legacy' });
    const { servers } = recordedPids(pidFile);
    expect(servers).toHaveLength(2);
    await registry.closeAll();
    expect(await survivors(servers)).toEqual([]);
  });
});
