import { afterEach, describe, expect, it } from 'vitest';
import { inPool, startChildUpstream, withRetries, type ChildUpstream } from '../../bench/lib/real-upstream.js';
import { createMcpSessionFactory, type SessionRequest } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { useUpstreams } from '../integration/fixtures/factory-helpers.js';
import { callTool, recordEvent, useRegistries } from '../integration/fixtures/registry-helpers.js';

const { upstream } = useUpstreams();
const registries = useRegistries();
const SESSIONS = 2_000;

const children: ChildUpstream[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.stop()));
});

describe('closing real sessions through the registry', () => {
  it('counts a DELETE aborted at the end of the grace window as a close error, not a success', async () => {
    const server = await upstream();
    const clock = new ManualClock();
    const registry = registries({ sessionFactory: createMcpSessionFactory(), clock, closeTimeoutMs: 1_000 });
    const request: SessionRequest = { downstreamSessionId: 'tab-1', upstreamId: 'counter', url: server.url };
    await callTool(registry, request, 'increment');
    const timeouts = recordEvent(registry, 'close:timeout');
    server.hangDeletes = true;

    const closing = registry.closeAll();
    await server.waitFor(() => server.deleteCount === 1, 'the DELETE');
    await clock.advance(1_000);
    await closing;

    expect(registry.snapshot().counters).toMatchObject({ closeErrors: 1, closeTimeouts: 0 });
    expect(timeouts.items).toEqual([]);
  });

  it(`closeAll over ${SESSIONS.toLocaleString('en-US')} real sessions (event streams open) leaves none on the upstream`, { timeout: 600_000 }, async () => {
    // The upstream runs in its own process (with its own event loop and file descriptors), as a real one does.
    const server = await startChildUpstream();
    children.push(server);
    const registry = registries({
      sessionFactory: createMcpSessionFactory(),
      maxSessions: SESSIONS,
      // Generous: what is under test is that every session is ended, not how fast on a shared machine.
      closeTimeoutMs: 120_000,
      createTimeoutMs: 120_000,
    });
    await inPool(SESSIONS, 64, async (i) => {
      // A creation may fail on a keep-alive race of a loaded machine ("other side closed"); what is under test
      // is the close, so such a creation is retried (at most twice).
      const lease = await withRetries(() => registry.acquire({ downstreamSessionId: `tab-${i}`, upstreamId: 'counter', url: server.url }), { count: 0 });
      lease.release();
    });
    expect(await server.sessions()).toBe(SESSIONS);

    await registry.closeAll();

    expect(await server.sessions()).toBe(0);
    expect(await server.streams()).toBe(0);
    expect(registry.snapshot().counters).toMatchObject({ closeErrors: 0, closeTimeouts: 0 });
  });
});

