import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/errors.js';
import { createMcpSessionFactory } from '../../src/mcp/v1/factory.js';
import { createRequest, text, useUpstreams } from '../integration/fixtures/factory-helpers.js';
import { recordEvents } from '../integration/fixtures/wait.js';

const { upstream, track } = useUpstreams();

describe('the event stream option', () => {
  it('opens the standalone GET event stream by default', async () => {
    const server = await upstream();
    const connection = track(await createMcpSessionFactory().create(createRequest(server), recordEvents().events));
    await connection.client.callTool({ name: 'increment', arguments: {} });

    await server.waitFor(() => server.openStreams === 1, 'the event stream');
    expect(server.getCount).toBe(1);
  });

  it('eventStream: false opens no GET at all, and calls work as before', async () => {
    const server = await upstream();
    const connection = track(await createMcpSessionFactory({ eventStream: false }).create(createRequest(server), recordEvents().events));

    expect(text(await connection.client.callTool({ name: 'increment', arguments: {} }))).toBe('1');
    expect(text(await connection.client.callTool({ name: 'increment', arguments: {} }))).toBe('2');
    await connection.close(new AbortController().signal);

    expect(server.getCount).toBe(0);
    expect(server.openStreams).toBe(0);
    expect(server.deleteCount).toBe(1);
  });

  it('eventStream: false still delivers notifications sent during a call (on the call’s response stream)', async () => {
    const server = await upstream();
    const recorded = recordEvents();
    const connection = track(await createMcpSessionFactory({ eventStream: false }).create(createRequest(server), recorded.events));

    await connection.client.callTool({ name: 'log', arguments: {} });

    const notification = await recorded.notifications.find((n) => n.method === 'notifications/message', 'the log message');
    expect(notification.params).toMatchObject({ data: 'hello' });
    expect(server.getCount).toBe(0);
  });

  it('does not apply to legacy SSE, whose stream is the transport', async () => {
    const server = await upstream({ transport: 'sse' });
    const connection = track(await createMcpSessionFactory({ eventStream: false }).create(createRequest(server), recordEvents().events));

    expect(text(await connection.client.callTool({ name: 'increment', arguments: {} }))).toBe('1');
  });

  it('rejects a non-boolean eventStream and a bad closeConcurrency, naming the option', () => {
    expect(() => createMcpSessionFactory({ eventStream: 'no' as unknown as boolean })).toThrow(InvalidOptionsError);
    for (const bad of [0, 1.5, -1, Number.NaN, '8']) {
      expect(() => createMcpSessionFactory({ closeConcurrency: bad as number })).toThrow(/closeConcurrency/);
    }
    expect(() => createMcpSessionFactory({ closeConcurrency: 1 })).not.toThrow();
  });
});
