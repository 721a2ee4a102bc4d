import { expect, expectTypeOf, it } from 'vitest';
import { UpstreamSessionRegistry } from '../src/index.js';
import { FakeSessionFactory, ManualClock, type FakeUpstreamClient } from '../src/testing/index.js';

// ContextForge #4205: an identity-keyed pool gave two chat tabs of one user the same upstream session, so a
// stateful upstream (here a counter) leaked state between them. Sessions bound 1:1 to
// (downstreamSessionId, upstreamId) keep them apart while each tab reuses its own.
it('two downstream sessions of one user never share a stateful upstream session (#4205)', async () => {
  const factory = new FakeSessionFactory();
  const registry = new UpstreamSessionRegistry({ sessionFactory: factory, clock: new ManualClock() });
  expectTypeOf(registry).toEqualTypeOf<UpstreamSessionRegistry<FakeUpstreamClient>>();
  const tab = (downstreamSessionId: string) =>
    ({ downstreamSessionId, upstreamId: 'counter', url: 'http://counter.test/mcp', headers: { authorization: 'Bearer alice' } });
  const call = (id: string, name: 'increment' | 'get') =>
    registry.withSession(tab(id), async (client) => (await client.callTool({ name })).content[0]?.text);

  for (const id of ['A', 'B', 'A', 'B', 'A', 'B', 'A', 'A']) await call(id, 'increment');

  expect(await call('A', 'get')).toBe('5');
  expect(await call('B', 'get')).toBe('3');
  expect(factory.createCalls).toBe(2);
  await registry.closeAll();
  expect(factory.open).toBe(0);
});
