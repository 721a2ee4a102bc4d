import { type Client } from '@modelcontextprotocol/client';
import { type InMemoryServerEventBus } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { type NotificationEvent, type UpstreamListChangedEvent } from '../../../src/events.js';
import { createSdkV2SessionFactory } from '../../../src/mcp/v2/index.js';
import { UpstreamSessionRegistry } from '../../../src/registry.js';
import { ManualClock } from '../../../src/testing/index.js';
import { until, useCleanup } from './fixtures/harness.js';
import { startModernUpstream } from './fixtures/modern-upstream.js';

const cleanup = useCleanup();

describe('modern notifications through one shared subscriptions/listen stream', () => {
  it('ten sessions to one upstream share one stream; a tools list_changed reaches all ten and upstream:list-changed fires once', async () => {
    const upstream = await startModernUpstream();
    cleanup(() => upstream.close());
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory(), notificationDebounceMs: 20 });
    cleanup(() => registry.closeAll());
    const notifications: NotificationEvent[] = [];
    const listChanged: UpstreamListChangedEvent[] = [];
    registry.on('notification', (event) => notifications.push(event));
    registry.on('upstream:list-changed', (event) => listChanged.push(event));

    const leases = [];
    for (let i = 0; i < 10; i += 1) leases.push(await registry.acquire({ downstreamSessionId: `tab-${i}`, upstreamId: 'modern', url: upstream.url }));
    for (const lease of leases) lease.release();
    // The shared stream is registered on the server's bus: from here on it receives what is published.
    await until(() => (upstream.handler.bus as InMemoryServerEventBus).listenerCount === 1);
    upstream.handler.notify.toolsChanged();

    await until(() => notifications.length === 10 && listChanged.length === 1);
    expect(new Set(notifications.map((event) => event.key.downstreamSessionId)).size).toBe(10);
    for (const event of notifications) {
      expect(event.notification.method).toBe('notifications/tools/list_changed');
      expect(JSON.stringify(event.notification)).not.toContain('subscriptionId');
    }
    expect(listChanged).toEqual([{ upstreamId: 'modern', kinds: ['tools'] }]);
    expect(upstream.traffic.count('subscriptions/listen')).toBe(1);
  });

  it('is closed with the key’s last connection and reopened for the next one', async () => {
    const upstream = await startModernUpstream();
    cleanup(() => upstream.close());
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory() });
    cleanup(() => registry.closeAll());
    await registry.withSession({ downstreamSessionId: 'tab-1', upstreamId: 'modern', url: upstream.url }, () => undefined);
    await until(() => upstream.traffic.count('subscriptions/listen') === 1);
    await registry.evictUpstream('modern');
    await registry.withSession({ downstreamSessionId: 'tab-2', upstreamId: 'modern', url: upstream.url }, () => undefined);
    await until(() => upstream.traffic.count('subscriptions/listen') === 2);
  });

  it('moves to another live connection’s headers when its opener closes', async () => {
    const upstream = await startModernUpstream();
    cleanup(() => upstream.close());
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory() });
    cleanup(() => registry.closeAll());
    const request = (tab: string) => ({ downstreamSessionId: tab, upstreamId: 'modern', url: upstream.url, principal: 'p', headers: { 'x-tab': tab } });
    await registry.withSession(request('tab-a'), () => undefined);
    await registry.withSession(request('tab-b'), () => undefined);
    await until(() => upstream.traffic.count('subscriptions/listen') === 1);
    await registry.evict({ downstreamSessionId: 'tab-a', upstreamId: 'modern' });
    await until(() => upstream.traffic.count('subscriptions/listen') === 2);
    const listens = upstream.traffic.seen.filter((request) => request.rpcMethods.includes('subscriptions/listen'));
    expect(listens.map((request) => request.headers['x-tab'])).toEqual(['tab-a', 'tab-b']);
  });

  it('is reopened, with backoff on the factory clock, after a redeploy ends it', async () => {
    const clock = new ManualClock(Date.now());
    const first = await startModernUpstream({ keepAlive: false });
    const registry = new UpstreamSessionRegistry<Client>({ sessionFactory: createSdkV2SessionFactory({ clock }), notificationDebounceMs: 0 });
    cleanup(() => registry.closeAll());
    const notifications: NotificationEvent[] = [];
    registry.on('notification', (event) => notifications.push(event));
    await registry.withSession({ downstreamSessionId: 'tab', upstreamId: 'modern', url: first.url }, () => undefined);
    await until(() => (first.handler.bus as InMemoryServerEventBus).listenerCount === 1);

    await first.close(); // the server ends its listen streams on shutdown
    const second = await startModernUpstream({ port: first.port });
    cleanup(() => second.close());
    expect(second.traffic.count('subscriptions/listen')).toBe(0);
    // Reopens run on the factory's clock only: advance it until the new server sees the stream.
    for (let round = 0; round < 50 && second.traffic.count('subscriptions/listen') === 0; round += 1) {
      await clock.advance(1_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await until(() => (second.handler.bus as InMemoryServerEventBus).listenerCount === 1);
    second.handler.notify.toolsChanged();
    await until(() => notifications.length === 1);
    expect(notifications[0]?.notification.method).toBe('notifications/tools/list_changed');
  });
});
