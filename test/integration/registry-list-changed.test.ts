import { describe, expect, it } from 'vitest';
import { type FixtureTransport } from './fixtures/counter-server.js';
import { createMcpSessionFactory } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { useUpstreams } from './fixtures/factory-helpers.js';
import { callTool, recordEvent, useRegistries } from './fixtures/registry-helpers.js';

const { upstream } = useUpstreams();
const registryFor = useRegistries();

describe.each<FixtureTransport>(['streamable-http', 'sse'])('an upstream that changes its tool list, over %s', (transport) => {
  it('emits a notification per session with its key, and one debounced upstream:list-changed', async () => {
    const server = await upstream({ transport });
    const clock = new ManualClock();
    const registry = registryFor({ sessionFactory: createMcpSessionFactory(), clock, notificationDebounceMs: 1_000 });
    const notifications = recordEvent(registry, 'notification');
    const listChanged = recordEvent(registry, 'upstream:list-changed');
    for (const tab of ['tab-A', 'tab-B']) {
      await callTool(registry, { downstreamSessionId: tab, upstreamId: 'counter', url: server.url, transport }, 'get');
    }
    await server.waitFor(() => server.openStreams === 2, 'both server→client streams');

    server.addTool('added-later');

    const received = await notifications.count(2, 'a list_changed notification from each session');
    expect(received.map((n) => n.key.downstreamSessionId).sort()).toEqual(['tab-A', 'tab-B']);
    expect(received.every((n) => n.key.upstreamId === 'counter' && n.notification.method === 'notifications/tools/list_changed')).toBe(true);
    expect(listChanged.items).toEqual([]);

    await clock.advance(1_000);

    expect(listChanged.items).toEqual([{ upstreamId: 'counter', kinds: ['tools'] }]);
  });
});
